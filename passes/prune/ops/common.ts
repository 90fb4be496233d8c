// Helpers the transfer functions share.
import type { Node } from '../../../src/ir/model.js';
import { attrInts } from '../../../src/ir/model.js';
import type { TransferContext } from '../analysis.js';
import { type AxisLayout, lengthOf, type ValueLayout } from '../layout.js';
import { sameLayout } from '../analysis.js';

export const rankOf = (ctx: TransferContext, v: string): number | undefined => ctx.dims(v)?.length;

export const normalize = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Integers of a constant input, or of an attribute for opsets that kept them there. */
export function intsOf(ctx: TransferContext, node: Node, input: number, attribute?: string): number[] | undefined {
  const name = node.inputs[input];
  if (name) return ctx.constant(name)?.toNumbers();
  return attribute ? attrInts(node, attribute) : undefined;
}

/** The layouts a node reads, by input. */
export const inputLayouts = (ctx: TransferContext): (ValueLayout | undefined)[] => ctx.node.inputs.map((x) => (x ? ctx.layout(x) : undefined));

/** Every output gets the first input's layout (ops that keep every axis: activations, Cast, pools over space). */
export function passThrough(ctx: TransferContext, outputs = 1): void {
  const l = ctx.layout(ctx.node.inputs[0]);
  if (!l) return;
  for (const o of ctx.node.outputs.slice(0, outputs)) ctx.setLayout(o, l);
  for (const o of ctx.node.outputs.slice(outputs)) {
    if (o && ctx.readers(o).length > 0) ctx.poison(`uses its output '${o}' derived from the channels`);
  }
}

/** Poisons the layouts of axes the op reduces, mixes or moves across; passes the rest through. */
export function keepAxesExcept(ctx: TransferContext, touched: (axis: number) => boolean, why: string): Map<number, AxisLayout> | undefined {
  const l = ctx.layout(ctx.node.inputs[0]);
  if (!l) return undefined;
  const bad = [...l].filter(([a]) => touched(a)).map(([, layout]) => layout);
  if (bad.length) ctx.poison(why, bad);
  return new Map(l);
}

/** Where a dynamic shape entry comes from: Gather(Shape(v), i) under Unsqueeze/Cast/Reshape/Squeeze wrappers. */
function dimSource(ctx: TransferContext, name: string): { value: string; axis: number } | undefined {
  let n = ctx.producer(name);
  while (n && ['Unsqueeze', 'Squeeze', 'Cast', 'Reshape', 'Identity'].includes(n.opType)) n = ctx.producer(n.inputs[0]);
  if (n?.opType !== 'Gather') return undefined;
  const shape = ctx.producer(n.inputs[0]);
  const idx = ctx.constant(n.inputs[1])?.toNumbers();
  if (shape?.opType !== 'Shape' || !idx || idx.length !== 1 || shape.attributes.length > 0) return undefined;
  const rank = rankOf(ctx, shape.inputs[0]);
  return rank === undefined ? undefined : { value: shape.inputs[0], axis: normalize(idx[0], rank) };
}

/**
 * Entry `position` of the 1-D integer shape read at `input` must follow `layout` when it is pruned: a constant
 * entry equal to the channel count is recorded as an edit; `accept(v)` says which other constant entries are
 * already right (-1, 0 copies, 1 broadcasts); a dynamic entry read from the shape of a value with the same layout
 * follows by itself. False (after poisoning) when the entry cannot be made to follow.
 */
export function followShapeEntry(ctx: TransferContext, input: number, position: number, layout: AxisLayout,
  accept: (entry: number) => boolean): boolean {
  const shape = ctx.node.inputs[input];
  const length = lengthOf(layout);
  const entryOk = (at: Node, inputIndex: number, entries: number[], p: number): boolean => {
    if (entries[p] === length) { ctx.edit(at, inputIndex, p, layout); return true; }
    return accept(entries[p]);
  };
  const direct = ctx.initializer(shape)?.toNumbers();
  if (direct) {
    if (entryOk(ctx.node, input, direct, position)) return true;
    ctx.poison(`has a shape entry ${direct[position]} that cannot follow ${length} channels`, [layout]);
    return false;
  }
  const concat = ctx.producer(shape);
  if (concat?.opType === 'Concat' && ctx.readers(shape).length === 1) {
    let offset = 0;
    for (let k = 0; k < concat.inputs.length; k++) {
      const piece = concat.inputs[k];
      const n = ctx.dims(piece)?.[0];
      if (typeof n !== 'number') break;
      if (position < offset + n) {
        const values = ctx.initializer(piece)?.toNumbers();
        if (values && entryOk(concat, k, values, position - offset)) return true;
        const src = n === 1 ? dimSource(ctx, piece) : undefined;
        const srcLayout = src && ctx.layout(src.value)?.get(src.axis);
        if (srcLayout && sameLayout(ctx.spaces, srcLayout, layout)) return true;
        break;
      }
      offset += n;
    }
  }
  ctx.poison('takes a shape the analysis cannot follow', [layout]);
  return false;
}
