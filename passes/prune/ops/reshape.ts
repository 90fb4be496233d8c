// Ops that regroup axes (Reshape, Flatten, Squeeze, Unsqueeze). Input and output dims are matched into groups of
// equal product; channels on the leading axis of a group land on the leading axis of its image. Splitting a
// channel axis [h·d] → [h, d] asks the space for units that tile h (whole heads); merging [h, d] → [h·d] carries
// the heads back. A Reshape's target shape must follow: its constant entry is edited, or a dynamic entry is read
// from the shape of a value with the same channels.
import type { Dim } from '../../../src/ir/types.js';
import type { Transfer } from '../analysis.js';
import { sameLayout } from '../analysis.js';
import type { AxisLayout } from '../layout.js';
import { followShapeEntry } from './common.js';

interface AxisGroup {
  readonly ins: readonly number[];
  readonly outs: readonly number[];
}

/** Groups of input and output axes with equal products, ignoring size-1 axes; undefined when dims do not allow it. */
export function matchAxes(inDims: readonly Dim[], outDims: readonly Dim[]): AxisGroup[] | undefined {
  const a = inDims.flatMap((d, i) => (d === 1 ? [] : [i]));
  const b = outDims.flatMap((d, i) => (d === 1 ? [] : [i]));
  const groups: AxisGroup[] = [];
  let p = 0, q = 0;
  while (p < a.length && q < b.length) {
    const [x, y] = [inDims[a[p]], outDims[b[q]]];
    if (x === y && x !== undefined) { groups.push({ ins: [a[p++]], outs: [b[q++]] }); continue; }
    if (typeof x !== 'number' || typeof y !== 'number') return undefined;
    const ins = [a[p++]], outs = [b[q++]];
    let [pi, po] = [x, y];
    while (pi !== po) {
      const [list, from, at] = pi < po ? [ins, inDims, a] : [outs, outDims, b];
      const k = pi < po ? p++ : q++;
      const d = from[at[k]];
      if (k >= at.length || typeof d !== 'number') return undefined;
      list.push(at[k]);
      if (pi < po) pi *= d; else po *= d;
    }
    groups.push({ ins, outs });
  }
  return p === a.length && q === b.length ? groups : undefined;
}

const regroup = (checkTarget: boolean): Transfer => (ctx) => {
  const [x] = ctx.node.inputs;
  const y = ctx.node.outputs[0];
  const lx = ctx.layout(x)!;
  const [inDims, outDims] = [ctx.dims(x), ctx.dims(y)];
  const groups = inDims && outDims ? matchAxes(inDims, outDims) : undefined;
  if (!groups) { ctx.poison('regroups axes whose sizes are not known'); return; }
  const out = new Map<number, AxisLayout>();
  for (const g of groups) {
    const carried = g.ins.filter((i) => lx.has(i));
    if (carried.length === 0) continue;
    const layout = lx.get(carried[0])!;
    if (carried.length > 1 || carried[0] !== g.ins[0]) { ctx.poison('mixes channels with an outer axis', carried.map((i) => lx.get(i)!)); continue; }
    if (g.ins.length === 1 && g.outs.length === 1) { out.set(g.outs[0], layout); continue; }
    if (layout.length !== 1 || layout[0].space === undefined) { ctx.poison('splits or merges a concatenated channel axis', [layout]); continue; }
    const length = outDims![g.outs[0]] as number;
    ctx.spaces.constrain(layout[0].space, length);
    out.set(g.outs[0], [{ space: layout[0].space, length }]);
  }
  if (checkTarget) {
    for (const [axis, layout] of out) {
      // A 0 entry copies the input dim at the same position: right when that axis carries the same channels.
      const copies = (entry: number) => entry === -1 || (entry === 0 && lx.has(axis) && sameLayout(ctx.spaces, lx.get(axis)!, layout));
      followShapeEntry(ctx, 1, axis, layout, copies);
    }
  }
  ctx.setLayout(y, out);
};

export const RESHAPE: Record<string, Transfer> = {
  Reshape: regroup(true),
  Flatten: regroup(false),
  Squeeze: regroup(false),
  Unsqueeze: regroup(false),
};
