// Pointwise activations and the softmax family. Piecewise ops gate the upstream gradient with a Where on the
// forward input (or output); smooth ones multiply by the closed-form derivative, reusing the forward output.
import { attrFloat, attrInt, attrString } from '../../src/ir/model.js';
import type { GradContext, GradRule } from './rule.js';

/** g where `mask`, 0 elsewhere. */
const gate = (ctx: GradContext, mask: string, g: string): string => ctx.emit.op('Where', [mask, g, ctx.scalar(0, ctx.inputs[0])]);

export const relu: GradRule = {
  op: 'Relu',
  backward: (ctx) => [gate(ctx, ctx.emit.op('Greater', [ctx.inputs[0], ctx.scalar(0, ctx.inputs[0])]), ctx.grads[0]!)],
};

export const leakyRelu: GradRule = {
  op: 'LeakyRelu',
  backward: (ctx) => {
    const [x] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const alpha = attrFloat(ctx.node, 'alpha', 0.01);
    return [e.op('Where', [e.op('Greater', [x, ctx.scalar(0, x)]), g, e.op('Mul', [g, ctx.scalar(alpha, x)])])];
  },
};

/**
 * Clip(x, min, max). x gets the gradient strictly inside (min, max); a tensor `max` gets the gradient summed where
 * x >= max (PACT's trainable clipping level), a tensor `min` where x <= min.
 */
export const clip: GradRule = {
  op: 'Clip',
  backward: (ctx) => {
    const [x, min, max] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    // Bounds are inputs (opset >= 11; differentiate refuses opsets below 13); either may be absent.
    const above = max ? e.op('GreaterOrEqual', [x, max]) : undefined;
    const below = min ? e.op('LessOrEqual', [x, min]) : undefined;
    const outside = above && below ? e.op('Or', [above, below]) : (above ?? below);
    const zero = ctx.scalar(0, x);
    return [
      ctx.needsGrad(0) ? (outside ? e.op('Where', [outside, zero, g]) : g) : undefined,
      ctx.needsGrad(1) && below ? ctx.reduceToShape(e.op('Where', [below, g, zero]), min) : undefined,
      ctx.needsGrad(2) && above ? ctx.reduceToShape(e.op('Where', [above, g, zero]), max) : undefined,
    ];
  },
};

export const sigmoid: GradRule = {
  op: 'Sigmoid',
  backward: (ctx) => {
    const [y] = ctx.outputs, e = ctx.emit;
    return [e.op('Mul', [ctx.grads[0]!, e.op('Mul', [y, e.op('Sub', [ctx.scalar(1, y), y])])])];
  },
};

export const hardSigmoid: GradRule = {
  op: 'HardSigmoid',
  backward: (ctx) => {
    const [y] = ctx.outputs, e = ctx.emit;
    const alpha = attrFloat(ctx.node, 'alpha', 0.2);
    // Slope alpha where the output is not saturated at 0 or 1.
    const inside = e.op('And', [e.op('Greater', [y, ctx.scalar(0, y)]), e.op('Less', [y, ctx.scalar(1, y)])]);
    return [gate(ctx, inside, e.op('Mul', [ctx.grads[0]!, ctx.scalar(alpha, y)]))];
  },
};

export const hardSwish: GradRule = {
  op: 'HardSwish',
  backward: (ctx) => {
    // y = x·clip(x/6 + 1/2, 0, 1): slope 0 below -3, 1 above 3, x/3 + 1/2 between.
    const [x] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const middle = e.op('Mul', [g, e.op('Add', [e.op('Div', [x, ctx.scalar(3, x)]), ctx.scalar(0.5, x)])]);
    const upper = e.op('Where', [e.op('Greater', [x, ctx.scalar(3, x)]), g, middle]);
    return [e.op('Where', [e.op('Less', [x, ctx.scalar(-3, x)]), ctx.scalar(0, x), upper])];
  },
};

export const tanh: GradRule = {
  op: 'Tanh',
  backward: (ctx) => {
    const [y] = ctx.outputs, e = ctx.emit;
    return [e.op('Mul', [ctx.grads[0]!, e.op('Sub', [ctx.scalar(1, y), e.op('Mul', [y, y])])])];
  },
};

export const erf: GradRule = {
  op: 'Erf',
  backward: (ctx) => {
    // d erf(x)/dx = 2/√π · exp(-x²)
    const [x] = ctx.inputs, e = ctx.emit;
    const bell = e.op('Exp', [e.op('Neg', [e.op('Mul', [x, x])])]);
    return [e.op('Mul', [ctx.grads[0]!, e.op('Mul', [bell, ctx.scalar(2 / Math.sqrt(Math.PI), x)])])];
  },
};

export const gelu: GradRule = {
  op: 'Gelu',
  backward: (ctx) => {
    const [x] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const c = (v: number): string => ctx.scalar(v, x);
    const x2 = e.op('Mul', [x, x]);
    if (attrString(ctx.node, 'approximate', 'none') === 'tanh') {
      // y = x/2·(1 + tanh u), u = √(2/π)(x + 0.044715x³); y' = (1 + t)/2 + x/2·(1 - t²)·√(2/π)(1 + 3·0.044715x²)
      const k = Math.sqrt(2 / Math.PI);
      const u = e.op('Mul', [c(k), e.op('Mul', [x, e.op('Add', [c(1), e.op('Mul', [c(0.044715), x2])])])]);
      const t = e.op('Tanh', [u]);
      const du = e.op('Mul', [c(k), e.op('Add', [c(1), e.op('Mul', [c(3 * 0.044715), x2])])]);
      const left = e.op('Mul', [c(0.5), e.op('Add', [c(1), t])]);
      const right = e.op('Mul', [e.op('Mul', [c(0.5), x]), e.op('Mul', [e.op('Sub', [c(1), e.op('Mul', [t, t])]), du])]);
      return [e.op('Mul', [g, e.op('Add', [left, right])])];
    }
    // y = x·Φ(x); y' = Φ(x) + x·φ(x), Φ(x) = (1 + erf(x/√2))/2, φ(x) = exp(-x²/2)/√(2π)
    const cdf = e.op('Mul', [c(0.5), e.op('Add', [c(1), e.op('Erf', [e.op('Mul', [x, c(Math.SQRT1_2)])])])]);
    const pdf = e.op('Mul', [c(1 / Math.sqrt(2 * Math.PI)), e.op('Exp', [e.op('Mul', [x2, c(-0.5)])])]);
    return [e.op('Mul', [g, e.op('Add', [cdf, e.op('Mul', [x, pdf])])])];
  },
};

/** Softmax and LogSoftmax normalize along one axis (opset >= 13 semantics, which differentiate requires). */
const axisOf = (ctx: GradContext): number => attrInt(ctx.node, 'axis', -1);

export const softmax: GradRule = {
  op: 'Softmax',
  backward: (ctx) => {
    // dx = y ⊙ (g - Σ_axis g ⊙ y)
    const [y] = ctx.outputs, g = ctx.grads[0]!, e = ctx.emit;
    const dot = ctx.reduceSum(e.op('Mul', [g, y]), [axisOf(ctx)], true);
    return [e.op('Mul', [y, e.op('Sub', [g, dot])])];
  },
};

export const logSoftmax: GradRule = {
  op: 'LogSoftmax',
  backward: (ctx) => {
    // dx = g - softmax ⊙ Σ_axis g
    const [y] = ctx.outputs, g = ctx.grads[0]!, e = ctx.emit;
    const total = ctx.reduceSum(g, [axisOf(ctx)], true);
    return [e.op('Sub', [g, e.op('Mul', [e.op('Exp', [y]), total])])];
  },
};

export const activationRules: readonly GradRule[] = [relu, leakyRelu, clip, sigmoid, hardSigmoid, hardSwish, tanh, erf, gelu, softmax, logSoftmax];
