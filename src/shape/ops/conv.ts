// Convolutions: Conv and its integer/QLinear/deformable forms, ConvTranspose, CausalConvWithState, Col2Im.
import { attrInt, attrInts, attrString } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type OpRule, type RuleSet, tensorType } from '../context.js';
import { divDims, mulDims, productOf, subDims } from '../dims.js';
import { windowedShape } from './window.js';

/** [N, M, out...] for X at input `x` and weights [M, C/group, k...] at input `w`. */
function convShape(ctx: InferContext, x: number, w: number): Dim[] | undefined {
  const xs = ctx.input(x)?.shape;
  const ws = ctx.input(w)?.shape;
  if (!xs || xs.length < 2) return undefined;
  const spatial = xs.slice(2);
  const kernel: Dim[] = attrInts(ctx.node, 'kernel_shape') ?? ws?.slice(2) ?? [];
  if (kernel.length !== spatial.length) return [xs[0], ws?.[0], ...spatial.map(() => undefined)];
  return [xs[0], ws?.[0], ...windowedShape(ctx.node, spatial, kernel, { ceil: false })];
}

function conv(x: number, w: number, elemType: (ctx: InferContext) => DataType | undefined): OpRule {
  return { infer: (ctx) => [tensorType(elemType(ctx) ?? DataType.UNDEFINED, convShape(ctx, x, w))] };
}

/** ConvTranspose: output_shape when given, else s*(in-1) + output_padding + k_eff - pads (in*s under SAME). */
function convTransposeShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  const ws = ctx.input(1)?.shape;
  if (!xs || xs.length < 2) return undefined;
  const node = ctx.node;
  const n = xs.length - 2;
  const channels = mulDims(ws?.[1], attrInt(node, 'group', 1));
  const outputShape = attrInts(node, 'output_shape');
  if (outputShape) return [xs[0], channels, ...outputShape.slice(outputShape.length - n)];
  const kernel: Dim[] = attrInts(node, 'kernel_shape') ?? ws?.slice(2) ?? new Array(n).fill(undefined);
  const strides = attrInts(node, 'strides') ?? new Array(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array(n).fill(1);
  const outPad = attrInts(node, 'output_padding') ?? new Array(n).fill(0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const pads = autoPad === 'NOTSET' ? attrInts(node, 'pads') ?? new Array(2 * n).fill(0) : new Array(2 * n).fill(0);
  const spatial = xs.slice(2).map((size, i) => {
    const k = kernel[i];
    if (typeof size !== 'number') return undefined;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return size * strides[i];
    if (typeof k !== 'number') return undefined;
    return strides[i] * (size - 1) + outPad[i] + (k - 1) * dilations[i] + 1 - pads[i] - pads[i + n];
  });
  return [xs[0], channels, ...spatial];
}

export const convRules: RuleSet = {
  Conv: conv(0, 1, (ctx) => ctx.input(0)?.elemType),
  ConvInteger: conv(0, 1, () => DataType.INT32),
  // QLinearConv(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B?).
  QLinearConv: conv(0, 3, (ctx) => ctx.input(7)?.elemType),
  DeformConv: conv(0, 1, (ctx) => ctx.input(0)?.elemType),
  ConvTranspose: { infer: (ctx) => [tensorType(ctx.input(0)?.elemType ?? DataType.UNDEFINED, convTransposeShape(ctx))] },
  CausalConvWithState: {
    // Depthwise causal conv: the output keeps the input's shape; the carried state is the last k-1 steps.
    infer: (ctx) => {
      const x = ctx.input(0);
      const xs = x?.shape;
      const k = ctx.input(1)?.shape?.[2];
      const state = xs && xs.length === 3 ? [xs[0], xs[1], subDims(k, 1)] : undefined;
      return [x, tensorType(x?.elemType ?? DataType.UNDEFINED, state)];
    },
  },
  Col2Im: {
    // [N, C*prod(block), L] → [N, C, image...].
    infer: (ctx) => {
      const xs = ctx.input(0)?.shape;
      const image = ctx.value(1);
      const block = ctx.value(2);
      const channels = block ? divDims(xs?.[1], productOf(block)) : undefined;
      const shape = xs && image ? [xs[0], channels, ...image] : undefined;
      return [tensorType(ctx.input(0)?.elemType ?? DataType.UNDEFINED, shape)];
    },
  },
};
