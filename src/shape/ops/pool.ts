// Pooling: windowed pools (kernel_shape attribute), global pools, ROI pools and MaxUnpool.
import { attrInt, attrInts } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type OpRule, type RuleSet, ruleFor, tensorType, withShape } from '../context.js';
import { windowedShape } from './window.js';

function pooledShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  const kernel = attrInts(ctx.node, 'kernel_shape');
  if (!xs || xs.length < 2 || !kernel) return undefined;
  return [xs[0], xs[1], ...windowedShape(ctx.node, xs.slice(2), kernel)];
}

const pool: OpRule = {
  // MaxPool's optional second output holds int64 indices of the same shape.
  infer: (ctx) => {
    const shape = pooledShape(ctx);
    return [withShape(ctx.input(0), shape), tensorType(DataType.INT64, shape)];
  },
};

const globalPool: OpRule = {
  infer: (ctx) => {
    const xs = ctx.input(0)?.shape;
    return [withShape(ctx.input(0), xs && xs.length >= 2 ? [xs[0], xs[1], ...xs.slice(2).map(() => 1)] : undefined)];
  },
};

/** [num_rois, C, height, width]: rois at input 1, output size from attributes. */
function roiPool(size: (ctx: InferContext) => Dim[] | undefined): OpRule {
  return {
    infer: (ctx) => {
      const xs = ctx.input(0)?.shape;
      const rois = ctx.input(1)?.shape;
      const hw = size(ctx);
      return [withShape(ctx.input(0), hw ? [rois?.[0], xs?.[1], ...hw] : undefined)];
    },
  };
}

function unpooledShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (ctx.hasInput(2)) {
    const given = ctx.value(2);
    return given ? [...given] : xs?.map(() => undefined);
  }
  const kernel = attrInts(ctx.node, 'kernel_shape');
  if (!xs || !kernel) return undefined;
  const n = xs.length - 2;
  const strides = attrInts(ctx.node, 'strides') ?? new Array(n).fill(1);
  const pads = attrInts(ctx.node, 'pads') ?? new Array(2 * n).fill(0);
  const spatial = xs.slice(2).map((d, i) => (typeof d === 'number' ? (d - 1) * strides[i] - pads[i] - pads[i + n] + kernel[i] : undefined));
  return [xs[0], xs[1], ...spatial];
}

export const poolRules: RuleSet = {
  ...ruleFor(['MaxPool', 'AveragePool', 'LpPool'], pool),
  ...ruleFor(['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool'], globalPool),
  MaxRoiPool: roiPool((ctx) => attrInts(ctx.node, 'pooled_shape')),
  RoiAlign: roiPool((ctx) => [attrInt(ctx.node, 'output_height', 1), attrInt(ctx.node, 'output_width', 1)]),
  MaxUnpool: { infer: (ctx) => [withShape(ctx.input(0), unpooledShape(ctx))] },
};
