// Reductions: the gradient is broadcast back over the reduced axes (re-inserted first when keepdims=0); ReduceMean
// divides by how many elements each output averaged.
import { attrInt, attrInts } from '../../src/ir/model.js';
import { normAxis, range, type GradContext, type GradRule } from './rule.js';

/** The reduced axes (normalized), from the attribute (older opsets) or the axes input; all axes when none. */
function reducedAxes(ctx: GradContext): number[] | 'none' {
  const rank = ctx.rank(ctx.inputs[0]);
  let axes = attrInts(ctx.node, 'axes');
  if (!axes && ctx.inputs[1]) axes = ctx.constant(ctx.inputs[1])?.toNumbers() ?? ctx.fail('axes are not a constant');
  if (!axes || axes.length === 0) return attrInt(ctx.node, 'noop_with_empty_axes', 0) ? 'none' : range(rank);
  return axes.map((a) => normAxis(a, rank));
}

/** The upstream gradient broadcast to the input's shape. */
function broadcastBack(ctx: GradContext, axes: readonly number[]): string {
  const g = ctx.grads[0]!;
  const kept = attrInt(ctx.node, 'keepdims', 1) ? g : ctx.unsqueeze(g, [...axes].sort((a, b) => a - b));
  return ctx.emit.op('Expand', [kept, ctx.shapeOf(ctx.inputs[0])]);
}

export const reduceSum: GradRule = {
  op: 'ReduceSum',
  backward: (ctx) => {
    const axes = reducedAxes(ctx);
    return [axes === 'none' ? ctx.grads[0] : broadcastBack(ctx, axes)];
  },
};

export const reduceMean: GradRule = {
  op: 'ReduceMean',
  backward: (ctx) => {
    const axes = reducedAxes(ctx);
    if (axes === 'none') return [ctx.grads[0]];
    return [ctx.emit.op('Div', [broadcastBack(ctx, axes), ctx.countPer(ctx.inputs[0], ctx.outputs[0], axes)])];
  },
};

export const reduceRules: readonly GradRule[] = [reduceSum, reduceMean];
