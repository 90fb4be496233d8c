// Where a value's prunable channels lie. An axis layout lists the segments along one axis in order: a whole channel
// space, or a fixed run of channels that stays (a Concat input nobody may prune). Most axes hold one segment; Concat
// and Split make several.

export interface Segment {
  /** The space these channels belong to; undefined for channels that stay. */
  readonly space?: number;
  readonly length: number;
}

export type AxisLayout = readonly Segment[];

/** Axis index (0-based, of the value's rank) → its layout; axes not in the map carry no prunable channels. */
export type ValueLayout = ReadonlyMap<number, AxisLayout>;

export const lengthOf = (layout: AxisLayout): number => layout.reduce((n, s) => n + s.length, 0);

export const spacesOf = (layout: AxisLayout): number[] => layout.flatMap((s) => (s.space === undefined ? [] : [s.space]));

/** The same layout with every segment `factor` times longer (a depthwise conv with channel multiplier). */
export const scaled = (layout: AxisLayout, factor: number): AxisLayout => layout.map((s) => ({ ...s, length: s.length * factor }));

/** A value layout with axes renumbered by `map` (old axis → new axis, undefined to drop). */
export function remapAxes(layout: ValueLayout, map: (axis: number) => number | undefined): Map<number, AxisLayout> {
  const out = new Map<number, AxisLayout>();
  for (const [axis, l] of layout) {
    const to = map(axis);
    if (to !== undefined) out.set(to, l);
  }
  return out;
}
