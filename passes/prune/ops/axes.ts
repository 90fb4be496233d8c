// Ops that move, join, cut or index axes: Transpose, Concat, Split, Slice, Gather, Expand, Tile.
import { attrInt, attrInts } from '../../../src/ir/model.js';
import type { Transfer } from '../analysis.js';
import { type AxisLayout, lengthOf, remapAxes, type Segment } from '../layout.js';
import { followShapeEntry, intsOf, normalize, passThrough, rankOf } from './common.js';

const transpose: Transfer = (ctx) => {
  const lx = ctx.layout(ctx.node.inputs[0])!;
  const rank = rankOf(ctx, ctx.node.inputs[0]);
  if (rank === undefined) { ctx.poison('transposes a value of unknown rank'); return; }
  const perm = attrInts(ctx.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  ctx.setLayout(ctx.node.outputs[0], remapAxes(lx, (axis) => perm.indexOf(axis)));
};

/** Concat along the channel axis lays segments end to end; along another axis the inputs' channels must agree. */
const concat: Transfer = (ctx) => {
  const inputs = ctx.node.inputs.filter(Boolean);
  const rank = rankOf(ctx, inputs[0]);
  if (rank === undefined) { ctx.poison('concatenates values of unknown rank'); return; }
  const axis = normalize(attrInt(ctx.node, 'axis', 0), rank);
  const out = new Map<number, AxisLayout>();
  for (let a = 0; a < rank; a++) {
    const layouts = inputs.map((x) => ctx.layout(x)?.get(a));
    const present = layouts.filter((l): l is AxisLayout => l !== undefined);
    if (present.length === 0) continue;
    if (a === axis) {
      const segments: Segment[] = [];
      inputs.forEach((x, k) => {
        const d = ctx.dims(x)?.[a];
        if (layouts[k]) segments.push(...layouts[k]!);
        else if (typeof d === 'number') segments.push({ length: d });
        else ctx.poison(`concatenates '${x}' of unknown size`, present);
      });
      out.set(a, segments);
    } else {
      if (present.length < inputs.length) ctx.poison('concatenates channels with values that lack them', present);
      out.set(a, ctx.unify(present));
    }
  }
  ctx.setLayout(ctx.node.outputs[0], out);
};

/** Split along the channel axis must cut between segments; the split sizes then follow the segments. */
const split: Transfer = (ctx) => {
  const [x, sizesName] = ctx.node.inputs;
  const lx = ctx.layout(x)!;
  const rank = rankOf(ctx, x);
  if (rank === undefined) { ctx.poison('splits a value of unknown rank'); return; }
  const axis = normalize(attrInt(ctx.node, 'axis', 0), rank);
  const along = lx.get(axis);
  const rest = new Map([...lx].filter(([a]) => a !== axis));
  if (!along) { for (const o of ctx.node.outputs) ctx.setLayout(o, rest); return; }
  const sizes = sizesName ? ctx.initializer(sizesName)?.toNumbers() : undefined;
  if (!sizes) { ctx.poison('splits the channels by sizes that are not a constant input', [along]); return; }
  let seg = 0;
  for (let k = 0; k < sizes.length; k++) {
    const taken: Segment[] = [];
    let n = 0;
    while (n < sizes[k] && seg < along.length) { taken.push(along[seg]); n += along[seg++].length; }
    if (n !== sizes[k]) { ctx.poison('splits inside a channel segment', [along]); return; }
    if (taken.some((s) => s.space !== undefined)) ctx.edit(ctx.node, 1, k, taken);
    ctx.setLayout(ctx.node.outputs[k], new Map([...rest, [axis, taken]]));
  }
};

/** Slicing must leave channel axes whole. */
const slice: Transfer = (ctx) => {
  const [x] = ctx.node.inputs;
  const lx = ctx.layout(x)!;
  const rank = rankOf(ctx, x);
  const starts = intsOf(ctx, ctx.node, 1, 'starts'), ends = intsOf(ctx, ctx.node, 2, 'ends');
  const axes = intsOf(ctx, ctx.node, 3, 'axes') ?? starts?.map((_, i) => i);
  const steps = intsOf(ctx, ctx.node, 4) ?? starts?.map(() => 1);
  if (rank === undefined || !starts || !ends || !axes || !steps) { ctx.poison('slices by bounds that are not constants'); return; }
  axes.forEach((a, i) => {
    const layout = lx.get(normalize(a, rank));
    if (layout && !(starts[i] === 0 && ends[i] >= lengthOf(layout) && steps[i] === 1)) ctx.poison('cuts into the channels', [layout]);
  });
  passThrough(ctx);
};

const gather: Transfer = (ctx) => {
  const [data, indices] = ctx.node.inputs;
  const ld = ctx.layout(data);
  if (ctx.layout(indices)) ctx.poison('indexes by channel values');
  const [rank, q] = [rankOf(ctx, data), rankOf(ctx, indices)];
  if (!ld) return;
  if (rank === undefined || q === undefined) { ctx.poison('gathers with unknown ranks'); return; }
  const axis = normalize(attrInt(ctx.node, 'axis', 0), rank);
  if (ld.has(axis)) { ctx.poison('picks individual channels', [ld.get(axis)!]); return; }
  ctx.setLayout(ctx.node.outputs[0], remapAxes(ld, (a) => (a < axis ? a : a + q - 1)));
};

/** Expand and Tile keep channel axes when their entry there is 1 (or, for Expand, the channel count: edited). */
const expandLike = (accept: (entry: number) => boolean, editable: boolean): Transfer => (ctx) => {
  const [x] = ctx.node.inputs;
  const lx = ctx.layout(x)!;
  const [rank, outRank] = [rankOf(ctx, x), rankOf(ctx, ctx.node.outputs[0])];
  const shapeLength = ctx.dims(ctx.node.inputs[1])?.[0];
  if (rank === undefined || outRank === undefined || typeof shapeLength !== 'number') { ctx.poison('broadcasts to a shape of unknown rank'); return; }
  for (const [axis, layout] of lx) {
    const position = axis + (outRank - rank) - (outRank - shapeLength);
    if (editable) followShapeEntry(ctx, 1, position, layout, accept);
    else if (!accept(ctx.initializer(ctx.node.inputs[1])?.toNumbers()[position] ?? NaN)) ctx.poison('repeats the channels', [layout]);
  }
  ctx.setLayout(ctx.node.outputs[0], remapAxes(lx, (a) => a + (outRank - rank)));
};

export const AXES: Record<string, Transfer> = {
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  Expand: expandLike((e) => e === 1, true),
  Tile: expandLike((e) => e === 1, false),
};

