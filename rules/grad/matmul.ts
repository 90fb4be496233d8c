// Matrix products. MatMul: dA = g·Bᵀ, dB = Aᵀ·g over the last two axes, summed back over broadcast batch axes;
// 1-D operands are lifted to matrices first (as MatMul itself does) and the result reshaped back. Gemm: the same
// with alpha, beta and the transposes folded into the backward Gemms' own flags.
import { attrFloat, attrInt } from '../../src/ir/model.js';
import type { Dim } from '../../src/ir/types.js';
import { range, type GradContext, type GradRule } from './rule.js';

/** Swaps the last two axes. */
const transposeLast = (ctx: GradContext, x: string, rank: number): string =>
  ctx.emit.op('Transpose', [x], { perm: [...range(rank - 2), rank - 1, rank - 2] });

export const matMul: GradRule = {
  op: 'MatMul',
  backward: (ctx) => {
    const [a, b] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const ra = ctx.rank(a), rb = ctx.rank(b);
    const aDims = ctx.dims(a)!, bDims = ctx.dims(b)!, outDims = ctx.dims(ctx.outputs[0]) ?? ctx.fail('output rank unknown');
    // Lift 1-D operands: A [K] → [1, K], B [K] → [K, 1]; the output gains the matching unit axis.
    const a2 = ra === 1 ? ctx.unsqueeze(a, [0]) : a;
    const b2 = rb === 1 ? ctx.unsqueeze(b, [1]) : b;
    let g2 = g;
    let out2: Dim[] = [...outDims];
    if (ra === 1) { g2 = ctx.unsqueeze(g2, [out2.length - (rb === 1 ? 0 : 1)]); out2.splice(out2.length - (rb === 1 ? 0 : 1), 0, 1); }
    if (rb === 1) { g2 = ctx.unsqueeze(g2, [out2.length]); out2 = [...out2, 1]; }
    const a2Dims = ra === 1 ? [1, ...aDims] : [...aDims];
    const b2Dims = rb === 1 ? [...bDims, 1] : [...bDims];
    const batch = out2.slice(0, -2);
    /** A product at the output's batch shape, summed back to a ≥2-D operand. */
    const back = (grad: string, input: string, dims: readonly Dim[]): string => ctx.reduceToShape(grad, input, [...batch, ...dims.slice(-2)]);
    const da = (): string => {
      const prod = e.op('MatMul', [g2, transposeLast(ctx, b2, Math.max(rb, 2))]);
      if (ra !== 1) return back(prod, a, a2Dims);
      // Sum the batch away against the lifted [1, K], then drop the unit axis.
      const summed = ctx.reduceSum(prod, range(batch.length), false);
      return e.op('Reshape', [summed, ctx.shapeOf(a)]);
    };
    const db = (): string => {
      const prod = e.op('MatMul', [transposeLast(ctx, a2, Math.max(ra, 2)), g2]);
      if (rb !== 1) return back(prod, b, b2Dims);
      const summed = ctx.reduceSum(prod, range(batch.length), false);
      return e.op('Reshape', [summed, ctx.shapeOf(b)]);
    };
    return [ctx.needsGrad(0) ? da() : undefined, ctx.needsGrad(1) ? db() : undefined];
  },
};

export const gemm: GradRule = {
  op: 'Gemm',
  backward: (ctx) => {
    // Y = alpha·op(A)·op(B) + beta·C
    const [a, b, c] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const alpha = attrFloat(ctx.node, 'alpha', 1), beta = attrFloat(ctx.node, 'beta', 1);
    const transA = attrInt(ctx.node, 'transA', 0), transB = attrInt(ctx.node, 'transB', 0);
    const gemm = (x: string, y: string, tA: number, tB: number): string => e.op('Gemm', [x, y], { alpha: { type: 'float', value: alpha }, transA: tA, transB: tB });
    // dA = alpha·g·op(B)ᵀ, transposed back when A was; likewise dB.
    const da = (): string => (transA ? gemm(b, g, transB, 1) : gemm(g, b, 0, 1 - transB));
    const db = (): string => (transB ? gemm(g, a, 1, transA) : gemm(a, g, 1 - transA, 0));
    const dc = (): string => ctx.reduceToShape(beta === 1 ? g : e.op('Mul', [g, ctx.scalar(beta, c)]), c);
    return [ctx.needsGrad(0) ? da() : undefined, ctx.needsGrad(1) ? db() : undefined, ctx.needsGrad(2) ? dc() : undefined];
  },
};

export const matmulRules: readonly GradRule[] = [matMul, gemm];
