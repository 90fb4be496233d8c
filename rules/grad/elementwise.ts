// Arithmetic with numpy broadcasting: each input's gradient is computed at the output's shape and summed back to
// the input's shape (ctx.reduceToShape). Identity-like ops pass the gradient through.
import { DataType } from '../../src/ir/dtype.js';
import { attrInt } from '../../src/ir/model.js';
import type { GradContext, GradRule } from './rule.js';

const passThrough = (op: string): GradRule => ({ op, backward: (ctx) => [ctx.grads[0]] });

/** Gradient of input i when it is needed, else undefined (so unused branches emit nothing). */
const when = (ctx: GradContext, i: number, make: () => string): string | undefined => (ctx.needsGrad(i) ? make() : undefined);

export const add: GradRule = {
  op: 'Add',
  backward: (ctx) => {
    const [a, b] = ctx.inputs, g = ctx.grads[0]!;
    return [when(ctx, 0, () => ctx.reduceToShape(g, a)), when(ctx, 1, () => ctx.reduceToShape(g, b))];
  },
};

export const sub: GradRule = {
  op: 'Sub',
  backward: (ctx) => {
    const [a, b] = ctx.inputs, g = ctx.grads[0]!;
    return [when(ctx, 0, () => ctx.reduceToShape(g, a)), when(ctx, 1, () => ctx.reduceToShape(ctx.emit.op('Neg', [g]), b))];
  },
};

export const mul: GradRule = {
  op: 'Mul',
  backward: (ctx) => {
    const [a, b] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    return [
      when(ctx, 0, () => ctx.reduceToShape(e.op('Mul', [g, b]), a)),
      when(ctx, 1, () => ctx.reduceToShape(e.op('Mul', [g, a]), b)),
    ];
  },
};

export const div: GradRule = {
  op: 'Div',
  backward: (ctx) => {
    const [a, b] = ctx.inputs, [y] = ctx.outputs, g = ctx.grads[0]!, e = ctx.emit;
    // d(a/b)/db = -a/b² = -y/b
    return [
      when(ctx, 0, () => ctx.reduceToShape(e.op('Div', [g, b]), a)),
      when(ctx, 1, () => ctx.reduceToShape(e.op('Neg', [e.op('Div', [e.op('Mul', [g, y]), b])]), b)),
    ];
  },
};

export const pow: GradRule = {
  op: 'Pow',
  backward: (ctx) => {
    const [a, b] = ctx.inputs, [y] = ctx.outputs, g = ctx.grads[0]!, e = ctx.emit;
    // The exponent may have another element type (Pow(x, 2) with an int exponent): compute in a's type.
    const bAsA = (): string => (ctx.dtype(b) === ctx.dtype(a) ? b : e.op('Cast', [b], { to: ctx.dtype(a) }));
    return [
      when(ctx, 0, () => {
        const exponent = bAsA();
        const slope = e.op('Mul', [exponent, e.op('Pow', [a, e.op('Sub', [exponent, ctx.scalar(1, a)])])]);
        return ctx.reduceToShape(e.op('Mul', [g, slope]), a);
      }),
      // d(a^b)/db = a^b ln a (defined for a > 0)
      when(ctx, 1, () => ctx.reduceToShape(e.op('Mul', [g, e.op('Mul', [y, e.op('Log', [a])])]), b)),
    ];
  },
};

export const sqrt: GradRule = {
  op: 'Sqrt',
  backward: (ctx) => [ctx.emit.op('Div', [ctx.emit.op('Mul', [ctx.grads[0]!, ctx.scalar(0.5, ctx.outputs[0])]), ctx.outputs[0]])],
};

export const neg: GradRule = { op: 'Neg', backward: (ctx) => [ctx.emit.op('Neg', [ctx.grads[0]!])] };

export const exp: GradRule = { op: 'Exp', backward: (ctx) => [ctx.emit.op('Mul', [ctx.grads[0]!, ctx.outputs[0]])] };

export const log: GradRule = { op: 'Log', backward: (ctx) => [ctx.emit.op('Div', [ctx.grads[0]!, ctx.inputs[0]])] };

export const reciprocal: GradRule = {
  op: 'Reciprocal',
  // d(1/x)/dx = -1/x² = -y²
  backward: (ctx) => [ctx.emit.op('Neg', [ctx.emit.op('Mul', [ctx.grads[0]!, ctx.emit.op('Mul', [ctx.outputs[0], ctx.outputs[0]])])])],
};

export const sum: GradRule = {
  op: 'Sum',
  backward: (ctx) => ctx.inputs.map((x, i) => when(ctx, i, () => ctx.reduceToShape(ctx.grads[0]!, x))),
};

export const where: GradRule = {
  op: 'Where',
  backward: (ctx) => {
    const [cond, x, y] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const zero = (): string => ctx.scalar(0, ctx.outputs[0]);
    return [
      undefined,
      when(ctx, 1, () => ctx.reduceToShape(e.op('Where', [cond, g, zero()]), x)),
      when(ctx, 2, () => ctx.reduceToShape(e.op('Where', [cond, zero(), g]), y)),
    ];
  },
};

export const cast: GradRule = {
  op: 'Cast',
  // Float-to-float casts pass the gradient back in the input's type; integer inputs carry none.
  backward: (ctx) => {
    const from = ctx.dtype(ctx.inputs[0]);
    if (from !== DataType.FLOAT && from !== DataType.DOUBLE && from !== DataType.FLOAT16 && from !== DataType.BFLOAT16) return [undefined];
    return [from === attrInt(ctx.node, 'to') ? ctx.grads[0] : ctx.emit.op('Cast', [ctx.grads[0]!], { to: from })];
  },
};

export const identity = passThrough('Identity');

/** Inference-mode Dropout is the identity (training mode would need the mask output). */
export const dropout: GradRule = {
  op: 'Dropout',
  backward: (ctx) => {
    const training = ctx.inputs[2] ? ctx.constant(ctx.inputs[2]) : undefined;
    if (ctx.inputs[2] && (!training || training.toNumbers()[0] !== 0)) ctx.fail('only inference-mode Dropout (training_mode absent or constant false) is supported');
    return [ctx.grads[0]];
  },
};

export const elementwiseRules: readonly GradRule[] = [add, sub, mul, div, pow, sqrt, neg, exp, log, reciprocal, sum, where, cast, identity, dropout];
