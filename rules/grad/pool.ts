// Pooling. MaxPool routes each output's gradient to the element it picked, through MaxPool's Indices output
// (re-run with Indices when the node did not ask for them) and a scatter-add. AveragePool spreads g/count over its
// window with a depthwise transposed convolution of ones; GlobalAveragePool broadcasts g/count.
import type { AttributeValue } from '../../src/ir/model.js';
import { attrInt, attrInts } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { range, type GradContext, type GradRule } from './rule.js';
import { convGeometry, outputPadding } from './conv.js';

/** The node's attributes, some overridden, ready for a new node. */
const attributesOf = (ctx: GradContext, overrides: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
  ...Object.fromEntries(ctx.node.attributes.map((a) => [a.name, { type: a.type, value: a.value } as AttributeValue])),
  ...overrides,
});

const flat = (ctx: GradContext, x: string): string => ctx.emit.op('Reshape', [x, ctx.ints([-1])]);

export const maxPool: GradRule = {
  op: 'MaxPool',
  backward: (ctx) => {
    if (attrInt(ctx.node, 'storage_order', 0) !== 0) ctx.fail('column-major Indices (storage_order=1) are not supported');
    const [x] = ctx.inputs, e = ctx.emit;
    // Disjoint windows pick each element at most once: a plain scatter, no opset-16 accumulation.
    const kernel = attrInts(ctx.node, 'kernel_shape') ?? ctx.fail('no kernel_shape');
    const strides = attrInts(ctx.node, 'strides') ?? kernel.map(() => 1);
    const dilations = attrInts(ctx.node, 'dilations') ?? kernel.map(() => 1);
    const overlapping = kernel.some((k, i) => strides[i] < (k - 1) * dilations[i] + 1);
    if (overlapping) ctx.requireOpset(16, 'ScatterElements with reduction=add (overlapping windows)');
    // Indices are flat positions in x (batch and channel included), exactly what ScatterElements on flat x needs.
    const indices = ctx.outputs[1] || e.node('MaxPool', [x], attributesOf(ctx), { outputs: 2 })[1];
    const scattered = e.op('ScatterElements', [flat(ctx, ctx.zerosLike(x)), flat(ctx, indices), flat(ctx, ctx.grads[0]!)],
      overlapping ? { axis: 0, reduction: 'add' } : { axis: 0 });
    return [e.op('Reshape', [scattered, ctx.shapeOf(x)])];
  },
};

export const averagePool: GradRule = {
  op: 'AveragePool',
  backward: (ctx) => {
    if (attrInt(ctx.node, 'ceil_mode', 0)) ctx.fail('ceil_mode=1 is not supported (partial windows)');
    const [x] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const kernel = attrInts(ctx.node, 'kernel_shape') ?? ctx.fail('no kernel_shape');
    const geo = convGeometry(ctx, kernel);
    const channels = typeof ctx.dims(x)?.[1] === 'number' ? (ctx.dims(x)![1] as number) : ctx.fail('the channel count is not static');
    const window = kernel.reduce((a, b) => a * b, 1);
    // Elements each output averaged: the whole window, or only its non-pad part (an average of ones, padded as 0).
    const count = attrInt(ctx.node, 'count_include_pad', 0)
      ? ctx.scalar(window, x)
      : e.op('Mul', [e.op('AveragePool', [onesLike(ctx, x)], attributesOf(ctx, { count_include_pad: { type: 'int', value: 1 } })), ctx.scalar(window, x)]);
    const ones = e.constant('grad_ones', Tensor.filled(ctx.dtype(x), [channels, 1, ...kernel], 1));
    return [e.op('ConvTranspose', [e.op('Div', [g, count]), ones], {
      group: channels, kernel_shape: [...kernel], strides: geo.strides, dilations: geo.dilations, pads: geo.pads, output_padding: outputPadding(geo),
    })];
  },
};

function onesLike(ctx: GradContext, x: string): string {
  return ctx.emit.op('ConstantOfShape', [ctx.shapeOf(x)], { value: Tensor.filled(ctx.dtype(x), [1], 1) });
}

export const globalAveragePool: GradRule = {
  op: 'GlobalAveragePool',
  backward: (ctx) => {
    const [x] = ctx.inputs, e = ctx.emit;
    // The spatial axes; with an unknown rank, countPer goes by Size at run time and never reads them.
    const count = ctx.countPer(x, ctx.outputs[0], range(ctx.dims(x)?.length ?? 2, 2));
    return [e.op('Div', [e.op('Expand', [ctx.grads[0]!, ctx.shapeOf(x)]), count])];
  },
};

export const poolRules: readonly GradRule[] = [maxPool, averagePool, globalAveragePool];

