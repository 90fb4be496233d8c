// Weight-bearing ops: they read channels through a weight axis (the input channels, sliced when an upstream space
// shrinks) and open a new space for their output channels (the other weight axis, plus bias). A depthwise conv
// opens nothing: its output channels are its input channels (times a multiplier).
import { attrInt } from '../../../src/ir/model.js';
import type { Transfer, TransferContext } from '../analysis.js';
import { type AxisLayout, scaled } from '../layout.js';
import { broadcastJoin } from './elementwise.js';
import { rankOf } from './common.js';

/** Slices a bias-like initializer along its last axis when it holds one entry per output channel. */
function sliceBias(ctx: TransferContext, name: string | undefined, out: AxisLayout, channels: number): void {
  if (!name) return;
  const t = ctx.initializer(name);
  if (t && t.dims.length > 0 && t.dims[t.dims.length - 1] === channels) ctx.slice(name, t.dims.length - 1, out);
  else if (!t && ctx.dims(name)?.at(-1) === channels) ctx.poison(`has a bias '${name}' that is not an initializer`, [out]);
}

const matMul: Transfer = (ctx) => {
  const [a, b] = ctx.node.inputs;
  const w = ctx.initializer(b);
  const la = ctx.layout(a);
  if (!w) {
    if (ctx.constant(b) || ctx.constant(a)) { ctx.poison('has a constant operand that is not an initializer (run cleanup first)'); return; }
    activationMatMul(ctx);
    return;
  }
  const r = rankOf(ctx, a);
  if (w.dims.length !== 2 || r === undefined || r < 2) { ctx.poison('has a weight or input shape the analysis does not handle'); return; }
  const out = new Map(la ?? []);
  const contracted = out.get(r - 1);
  if (contracted) ctx.slice(b, 0, contracted);
  const opened = ctx.source(w.dims[1]);
  ctx.slice(b, 1, opened);
  out.set(r - 1, opened);
  ctx.setLayout(ctx.node.outputs[0], out);
};

/** Batched MatMul of two activations (attention): batch axes meet as under broadcasting, a contracted axis must
 *  carry the same channels on both sides. */
function activationMatMul(ctx: TransferContext): void {
  const [a, b] = ctx.node.inputs;
  const [ra, rb] = [rankOf(ctx, a), rankOf(ctx, b)];
  if (ra === undefined || rb === undefined || ra < 2 || rb < 2) { ctx.poison('multiplies operands of unknown or vector rank'); return; }
  const [la, lb] = [ctx.layout(a), ctx.layout(b)];
  const [ka, kb] = [la?.get(ra - 1), lb?.get(rb - 2)];
  if (ka && kb) ctx.unify([ka, kb]);
  else if (ka || kb) ctx.poison('contracts the channels against another activation', [(ka ?? kb)!]);
  const rank = Math.max(ra, rb);
  const batchOf = (name: string, l: typeof la, r: number) =>
    ({ name, layout: new Map([...(l ?? [])].filter(([axis]) => axis < r - 2)), dims: ctx.dims(name)?.slice(0, -2) });
  const out = broadcastJoin(ctx, [batchOf(a, la, ra), batchOf(b, lb, rb)]);
  const m = la?.get(ra - 2);
  if (m) out.set(rank - 2, m);
  const n = lb?.get(rb - 1);
  if (n) out.set(rank - 1, n);
  ctx.setLayout(ctx.node.outputs[0], out);
}

const gemm: Transfer = (ctx) => {
  const [a, b, c] = ctx.node.inputs;
  const w = ctx.initializer(b);
  const la = ctx.layout(a);
  if (!w || w.dims.length !== 2) { if (la) ctx.poison('has a weight that is not a 2-D initializer'); return; }
  const transA = attrInt(ctx.node, 'transA', 0) === 1, transB = attrInt(ctx.node, 'transB', 0) === 1;
  const out = new Map<number, AxisLayout>();
  const contracted = la?.get(transA ? 0 : 1), rows = la?.get(transA ? 1 : 0);
  if (contracted) ctx.slice(b, transB ? 1 : 0, contracted);
  if (rows) out.set(0, rows);
  const channels = w.dims[transB ? 0 : 1];
  const opened = ctx.source(channels);
  ctx.slice(b, transB ? 0 : 1, opened);
  sliceBias(ctx, c, opened, channels);
  out.set(1, opened);
  ctx.setLayout(ctx.node.outputs[0], out);
};

const conv: Transfer = (ctx) => {
  const [x, wName, bias] = ctx.node.inputs;
  const w = ctx.initializer(wName);
  const lx = ctx.layout(x);
  const others = [...(lx ?? [])].filter(([axis]) => axis !== 1).map(([, l]) => l);
  if (others.length) ctx.poison('reads channels on a batch or spatial axis', others);
  if (!w) { if (lx) ctx.poison('has a weight that is not an initializer'); return; }
  const group = attrInt(ctx.node, 'group', 1);
  const inChannels = lx?.get(1);
  const transposed = ctx.node.opType === 'ConvTranspose';
  if (group === 1) {
    if (inChannels) ctx.slice(wName, transposed ? 0 : 1, inChannels);
    const channels = w.dims[transposed ? 1 : 0];
    const opened = ctx.source(channels);
    ctx.slice(wName, transposed ? 1 : 0, opened);
    sliceBias(ctx, bias, opened, channels);
    ctx.setLayout(ctx.node.outputs[0], new Map([[1, opened]]));
    return;
  }
  const depthwise = !transposed && w.dims[1] === 1 && ctx.dims(x)?.[1] === group;
  if (!depthwise) { if (inChannels) ctx.poison(`is a grouped conv (group ${group}) the analysis does not prune through`, [inChannels]); return; }
  if (!inChannels) return;
  const out = scaled(inChannels, w.dims[0] / group);
  ctx.editAttribute('group', inChannels);
  ctx.slice(wName, 0, out);
  sliceBias(ctx, bias, out, w.dims[0]);
  ctx.setLayout(ctx.node.outputs[0], new Map([[1, out]]));
};

export const LINEAR: Record<string, Transfer> = { MatMul: matMul, Gemm: gemm, Conv: conv, ConvTranspose: conv };
