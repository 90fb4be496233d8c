// Normalizations. LayerNormalization recomputes mean and 1/σ over the normalized axes and applies the usual
// backward dx = rstd·(ĝ - mean(ĝ) - x̂·mean(ĝ·x̂)) with ĝ = g·scale. Inference BatchNormalization is an affine map
// per channel with frozen statistics (gradients for x, scale, bias, and the statistics themselves).
import { attrFloat, attrInt } from '../../src/ir/model.js';
import { normAxis, range, type GradContext, type GradRule } from './rule.js';

/** Mean over `axes` with kept dims (ReduceSum then a divide: one form for every opset). */
function meanOver(ctx: GradContext, x: string, axes: readonly number[], like: string): string {
  const summed = ctx.reduceSum(x, axes, true);
  return ctx.emit.op('Div', [summed, ctx.countPer(like, summed, axes)]);
}

export const layerNormalization: GradRule = {
  op: 'LayerNormalization',
  backward: (ctx) => {
    if (ctx.grads.slice(1).some((g) => g !== undefined)) ctx.fail('gradients through the Mean/InvStdDev outputs are not supported');
    const [x, scale, bias] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const rank = ctx.rank(x);
    const axes = range(rank, normAxis(attrInt(ctx.node, 'axis', -1), rank));
    const eps = attrFloat(ctx.node, 'epsilon', 1e-5);
    const centered = e.op('Sub', [x, meanOver(ctx, x, axes, x)]);
    const variance = meanOver(ctx, e.op('Mul', [centered, centered]), axes, x);
    const rstd = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [variance, ctx.scalar(eps, x)])])]);
    const xhat = e.op('Mul', [centered, rstd]);
    const dx = (): string => {
      const gh = e.op('Mul', [g, scale]);
      const inner = e.op('Sub', [e.op('Sub', [gh, meanOver(ctx, gh, axes, x)]), e.op('Mul', [xhat, meanOver(ctx, e.op('Mul', [gh, xhat]), axes, x)])]);
      return e.op('Mul', [rstd, inner]);
    };
    return [
      ctx.needsGrad(0) ? dx() : undefined,
      ctx.needsGrad(1) ? ctx.reduceToShape(e.op('Mul', [g, xhat]), scale) : undefined,
      ctx.needsGrad(2) ? ctx.reduceToShape(g, bias) : undefined,
    ];
  },
};

export const batchNormalization: GradRule = {
  op: 'BatchNormalization',
  backward: (ctx) => {
    if (attrInt(ctx.node, 'training_mode', 0)) ctx.fail('training-mode BatchNormalization is not supported (inference mode only)');
    const [x, scale, , mean, variance] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const rank = ctx.rank(x);
    const eps = attrFloat(ctx.node, 'epsilon', 1e-5);
    // Per-channel [C] parameters broadcast against [N, C, ...] as [C, 1, ...].
    const perChannel = (p: string): string => ctx.unsqueeze(p, range(rank - 1, 1));
    const notChannel = [0, ...range(rank, 2)];
    const rstd = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [variance, ctx.scalar(eps, x)])])]);
    const centered = (): string => e.op('Sub', [x, perChannel(mean)]);
    const gScaled = (): string => e.op('Mul', [g, perChannel(e.op('Mul', [scale, rstd]))]);
    return [
      ctx.needsGrad(0) ? gScaled() : undefined,
      ctx.needsGrad(1) ? ctx.reduceSum(e.op('Mul', [g, e.op('Mul', [centered(), perChannel(rstd)])]), notChannel, false) : undefined,
      ctx.needsGrad(2) ? ctx.reduceSum(g, notChannel, false) : undefined,
      // y = scale·(x - mean)·rstd + bias: dmean = -Σ g·scale·rstd, dvar = -½ Σ g·scale·(x - mean)·rstd³
      ctx.needsGrad(3) ? e.op('Neg', [ctx.reduceSum(gScaled(), notChannel, false)]) : undefined,
      ctx.needsGrad(4) ? e.op('Mul', [ctx.reduceSum(e.op('Mul', [gScaled(), centered()]), notChannel, false),
        e.op('Mul', [ctx.scalar(-0.5, x), e.op('Mul', [rstd, rstd])])]) : undefined,
    ];
  },
};

export const normRules: readonly GradRule[] = [layerNormalization, batchNormalization];
