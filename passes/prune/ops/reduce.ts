// Ops that work along some axes and leave the others alone: normalizations, softmax, reductions, pools, resize,
// pad. Channels may sit on the axes left alone; on a worked axis they would mix, so those spaces are poisoned.
import { attrInt } from '../../../src/ir/model.js';
import type { Transfer } from '../analysis.js';
import { remapAxes } from '../layout.js';
import { intsOf, keepAxesExcept, normalize, passThrough, rankOf } from './common.js';

/** BatchNormalization and InstanceNormalization: per-channel parameters on axis 1 are sliced with it. */
const perChannelNorm: Transfer = (ctx) => {
  const l = ctx.layout(ctx.node.inputs[0])!;
  const channels = l.get(1);
  if (channels) {
    ctx.node.inputs.slice(1).forEach((p, k) => {
      const t = ctx.initializer(p);
      if (!t || t.dims.length !== 1) ctx.poison(`has a parameter '${p}' that is not a 1-D initializer`, [channels]);
      // BatchNormalization's inputs 3 and 4 are the running mean and variance.
      else ctx.slice(p, 0, channels, { statistic: ctx.node.opType === 'BatchNormalization' && k >= 2 });
    });
  }
  passThrough(ctx);
};

const rankOfInput = (ctx: Parameters<Transfer>[0]): number => rankOf(ctx, ctx.node.inputs[0]) ?? -1;

/** LayerNormalization normalizes axes [axis, rank): channels there would mix. */
const layerNorm: Transfer = (ctx) => {
  const rank = rankOfInput(ctx);
  const axis = normalize(attrInt(ctx.node, 'axis', -1), rank);
  const out = keepAxesExcept(ctx, (a) => rank < 0 || a >= axis, 'normalizes over the channels');
  if (out) ctx.setLayout(ctx.node.outputs[0], out);
};

/** Softmax family: one axis from opset 13; before, everything from `axis` on (coerced to 2-D). */
const softmax: Transfer = (ctx) => {
  const rank = rankOfInput(ctx);
  const legacy = ctx.opset < 13;
  const axis = normalize(attrInt(ctx.node, 'axis', legacy ? 1 : -1), rank);
  const out = keepAxesExcept(ctx, (a) => rank < 0 || (legacy ? a >= axis : a === axis), 'normalizes over the channels');
  if (out) ctx.setLayout(ctx.node.outputs[0], out);
};

/** Reductions over constant axes (attribute or input); keepdims=0 renumbers what stays. */
const reduce: Transfer = (ctx) => {
  const rank = rankOfInput(ctx);
  const single = ctx.node.opType === 'ArgMax' || ctx.node.opType === 'ArgMin';
  const listed = single ? [attrInt(ctx.node, 'axis', 0)] : intsOf(ctx, ctx.node, 1, 'axes');
  const noop = attrInt(ctx.node, 'noop_with_empty_axes', 0) === 1;
  const axes = listed && listed.length ? listed.map((a) => normalize(a, rank)) : noop ? [] : Array.from({ length: Math.max(rank, 0) }, (_, i) => i);
  const out = keepAxesExcept(ctx, (a) => rank < 0 || axes.includes(a), 'reduces over the channels');
  if (!out) return;
  const keep = attrInt(ctx.node, 'keepdims', 1) === 1;
  ctx.setLayout(ctx.node.outputs[0], keep ? out : remapAxes(out, (a) => a - axes.filter((r) => r < a).length));
};

/** Pools work on spatial axes 2.. of NCHW. */
const pool: Transfer = (ctx) => {
  const out = keepAxesExcept(ctx, (a) => a >= 2, 'pools over the channels');
  if (out) passThrough(ctx);
};

/** Resize/Upsample must scale channel axes by 1 (a `sizes` entry would need editing: not followed). */
const resize: Transfer = (ctx) => {
  const n = ctx.node;
  const scales = n.opType === 'Upsample' ? intsOf(ctx, n, 1, 'scales') ?? ctx.constant(n.inputs[1])?.toNumbers() : n.inputs[2] ? ctx.constant(n.inputs[2])?.toNumbers() : undefined;
  const sizes = n.opType === 'Resize' && n.inputs[3] ? n.inputs[3] : undefined;
  const out = keepAxesExcept(ctx, (a) => sizes !== undefined || scales === undefined || scales[a] !== 1, 'resizes along the channels or by sizes the analysis does not edit');
  if (out) passThrough(ctx);
};

/** Pad must add nothing on channel axes. */
const pad: Transfer = (ctx) => {
  const rank = rankOfInput(ctx);
  const pads = intsOf(ctx, ctx.node, 1, 'pads');
  const axesGiven = ctx.node.inputs[3] !== undefined && ctx.node.inputs[3] !== '';
  const out = keepAxesExcept(ctx, (a) => rank < 0 || axesGiven || !pads || pads[a] !== 0 || pads[a + rank] !== 0, 'pads the channels');
  if (out) passThrough(ctx);
};

export const REDUCE: Record<string, Transfer> = {
  BatchNormalization: perChannelNorm,
  InstanceNormalization: perChannelNorm,
  LayerNormalization: layerNorm,
  Softmax: softmax, LogSoftmax: softmax, Hardmax: softmax,
  ...Object.fromEntries(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
    'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare', 'ArgMax', 'ArgMin'].map((op) => [op, reduce])),
  ...Object.fromEntries(['MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool'].map((op) => [op, pool])),
  Resize: resize, Upsample: resize,
  Pad: pad,
};
