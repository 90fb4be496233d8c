// Data movement. Ops that keep every element once (Reshape and friends, Transpose) move the gradient back; Expand
// sums it back; Concat/Split split/concatenate it; Slice scatters it into zeros through the flat indices of the
// elements it picked (any starts, ends, axes and steps, negative ones included).
import { attrInt, attrInts } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { normAxis, range, type GradContext, type GradRule } from './rule.js';

/** Gradient reshaped back to the input's shape: for ops that only relabel the layout. */
const reshapeBack = (op: string): GradRule => ({
  op, backward: (ctx) => [ctx.emit.op('Reshape', [ctx.grads[0]!, ctx.shapeOf(ctx.inputs[0])])],
});

export const transpose: GradRule = {
  op: 'Transpose',
  backward: (ctx) => {
    const rank = ctx.rank(ctx.inputs[0]);
    const perm = attrInts(ctx.node, 'perm') ?? range(rank).reverse();
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => { inverse[p] = i; });
    return [ctx.emit.op('Transpose', [ctx.grads[0]!], { perm: inverse })];
  },
};

export const expand: GradRule = {
  op: 'Expand',
  backward: (ctx) => [ctx.reduceToShape(ctx.grads[0]!, ctx.inputs[0])],
};

/** Size of `x` along `axis`: a constant when static, else sliced from Shape(x) at run time. */
function sizeAlong(ctx: GradContext, x: string, axis: number): string {
  const d = ctx.dims(x)?.[axis];
  if (typeof d === 'number') return ctx.ints([d]);
  return ctx.emit.op('Slice', [ctx.shapeOf(x), ctx.ints([axis]), ctx.ints([axis + 1])]);
}

export const concat: GradRule = {
  op: 'Concat',
  backward: (ctx) => {
    const xs = ctx.inputs, e = ctx.emit;
    const axis = normAxis(attrInt(ctx.node, 'axis') ?? ctx.fail('Concat without axis'), ctx.rank(ctx.outputs[0]));
    const sizes = xs.map((x) => sizeAlong(ctx, x, axis));
    const split = sizes.length === 1 ? sizes[0] : e.op('Concat', sizes, { axis: 0 });
    const parts = e.node('Split', [ctx.grads[0]!, split], { axis }, { outputs: xs.length });
    return xs.map((_, i) => (ctx.needsGrad(i) ? parts[i] : undefined));
  },
};

export const split: GradRule = {
  op: 'Split',
  backward: (ctx) => {
    const axis = normAxis(attrInt(ctx.node, 'axis', 0), ctx.rank(ctx.inputs[0]));
    // Outputs the loss does not read contribute zeros.
    const parts = ctx.outputs.map((y, i) => ctx.grads[i] ?? ctx.zerosLike(y));
    return [parts.length === 1 ? parts[0] : ctx.emit.op('Concat', parts, { axis })];
  },
};

/** Range(0, Size(x)): the flat position of every element of x. */
export function flatPositions(ctx: GradContext, x: string): string {
  const e = ctx.emit;
  const int64 = (v: number): string => e.constant('grad_i64', Tensor.scalar(DataType.INT64, v));
  return e.op('Range', [int64(0), e.op('Size', [x]), int64(1)]);
}

export const slice: GradRule = {
  op: 'Slice',
  backward: (ctx) => {
    const x = ctx.inputs[0], e = ctx.emit;
    // Flat positions 0..numel-1 laid out like x, sliced exactly like x: the positions of the picked elements.
    const positions = e.op('Reshape', [flatPositions(ctx, x), ctx.shapeOf(x)]);
    const picked = e.op('Slice', [positions, ...ctx.inputs.slice(1)]);
    const flat = e.op('ScatterElements', [
      e.op('Reshape', [ctx.zerosLike(x), ctx.ints([-1])]), e.op('Reshape', [picked, ctx.ints([-1])]), e.op('Reshape', [ctx.grads[0]!, ctx.ints([-1])]),
    ], { axis: 0 });
    return [e.op('Reshape', [flat, ctx.shapeOf(x)])];
  },
};

/** Whether `indices` is a constant with no row picked twice (negative indices counted from `size`). */
function distinctConstant(ctx: GradContext, indices: string, size: unknown): boolean {
  const values = ctx.constant(indices)?.toNumbers();
  if (!values || typeof size !== 'number') return false;
  const rows = values.map((i) => (i < 0 ? i + size : i));
  return new Set(rows).size === rows.length;
}

/**
 * Gather(data, indices, axis): the gradient rows are scatter-added into zeros (an embedding row picked twice gets
 * both). ScatterND indexes the leading axis, so the gathered axis is moved to the front and back.
 */
export const gather: GradRule = {
  op: 'Gather',
  backward: (ctx) => {
    if (!ctx.needsGrad(0)) return [undefined, undefined];
    const [data, indices] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const r = ctx.rank(data), q = ctx.rank(indices);
    const a = normAxis(attrInt(ctx.node, 'axis', 0), r);
    // Constant indices that pick each row at most once (RoPE's scalar Gathers) need no accumulation, so no opset 16.
    const accumulate = !distinctConstant(ctx, indices, ctx.dims(data)?.[a]);
    if (accumulate) ctx.requireOpset(16, 'ScatterND with reduction=add');
    // Indices may be negative (counted from the end) and int32.
    const idx = e.op('Cast', [indices], { to: DataType.INT64 });
    const dim = e.op('Gather', [ctx.shapeOf(data), e.constant('grad_i64', Tensor.scalar(DataType.INT64, a))]);
    const positive = e.op('Where', [e.op('Less', [idx, e.constant('grad_i64', Tensor.scalar(DataType.INT64, 0))]), e.op('Add', [idx, dim]), idx]);
    const front = [a, ...range(a), ...range(r, a + 1)];
    const zeros = a === 0 ? ctx.zerosLike(data) : e.op('Transpose', [ctx.zerosLike(data)], { perm: front });
    const updates = a === 0 ? g : e.op('Transpose', [g], { perm: [...range(a + q, a), ...range(a), ...range(r + q - 1, a + q)] });
    const scattered = e.op('ScatterND', [zeros, ctx.unsqueeze(positive, [q]), updates], accumulate ? { reduction: 'add' } : {});
    if (a === 0) return [scattered, undefined];
    const back = new Array<number>(r);
    front.forEach((p, i) => { back[p] = i; });
    return [e.op('Transpose', [scattered], { perm: back }), undefined];
  },
};

/**
 * GatherElements(data, indices, axis): the output is indexed like `indices`, so ScatterElements puts each gradient
 * entry back where it came from; an element picked twice needs reduction=add (opset 16).
 */
export const gatherElements: GradRule = {
  op: 'GatherElements',
  backward: (ctx) => {
    if (!ctx.needsGrad(0)) return [undefined, undefined];
    const [data, indices] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const axis = normAxis(attrInt(ctx.node, 'axis', 0), ctx.rank(data));
    // Along the axis, indices of one output row may repeat unless there is only one per row (a label lookup).
    const accumulate = ctx.dims(indices)?.[axis] !== 1;
    if (accumulate) ctx.requireOpset(16, 'ScatterElements with reduction=add');
    const scattered = e.op('ScatterElements', [ctx.zerosLike(data), indices, g], accumulate ? { axis, reduction: 'add' } : { axis });
    return [scattered, undefined];
  },
};

export const shapeOpRules: readonly GradRule[] = [
  reshapeBack('Reshape'), reshapeBack('Flatten'), reshapeBack('Squeeze'), reshapeBack('Unsqueeze'), transpose, expand, concat, split, slice, gather,
  gatherElements,
];
