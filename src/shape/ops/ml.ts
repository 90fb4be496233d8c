// Ops outside the default domain: ai.onnx.ml classics and the preview training optimizers.
import { attrInt, getAttribute } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type OpRule, type OutputTypes, type RuleSet, sameAs, tensorType } from '../context.js';
import { productOf } from '../dims.js';

/** LabelEncoder maps to whichever `values_*` attribute it carries. */
function labelEncoderType(ctx: InferContext): DataType {
  const tensor = getAttribute(ctx.node, 'values_tensor');
  if (tensor?.type === 'tensor') return tensor.value.dataType;
  if (getAttribute(ctx.node, 'values_strings')) return DataType.STRING;
  if (getAttribute(ctx.node, 'values_int64s')) return DataType.INT64;
  if (getAttribute(ctx.node, 'values_floats')) return DataType.FLOAT;
  return DataType.UNDEFINED;
}

function arrayFeatureShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  const ys = ctx.input(1)?.shape;
  if (!xs || !ys) return undefined;
  return xs.length <= 1 ? [1, productOf(ys)] : [...xs.slice(0, -1), productOf(ys)];
}

/**
 * Training optimizers take (R, T, X1..Xn, G1..Gn, states...) and return the new X's then the new states, each
 * shaped like the tensor it replaces. `groups` is how many tensor lists the outputs hold (X plus the states).
 */
function optimizer(groups: number): OpRule {
  return {
    infer: (ctx): OutputTypes => {
      const n = ctx.outputCount / groups;
      return Array.from({ length: ctx.outputCount }, (_, o) => {
        const group = Math.floor(o / n);
        const i = o % n;
        return ctx.input(2 + (group === 0 ? 0 : group + 1) * n + i);
      });
    },
  };
}

export const mlRules: RuleSet = {
  'ai.onnx.ml:LabelEncoder': { infer: (ctx) => [tensorType(labelEncoderType(ctx), ctx.input(0)?.shape)] },
  'ai.onnx.ml:Binarizer': sameAs(0),
  'ai.onnx.ml:ArrayFeatureExtractor': { infer: (ctx) => [tensorType(ctx.input(0)?.elemType ?? DataType.UNDEFINED, arrayFeatureShape(ctx))] },
  'ai.onnx.ml:TreeEnsemble': {
    infer: (ctx) => [tensorType(ctx.input(0)?.elemType ?? DataType.UNDEFINED, [ctx.input(0)?.shape?.[0], attrInt(ctx.node, 'n_targets')])],
  },
  'ai.onnx.preview.training:Adagrad': optimizer(2),
  'ai.onnx.preview.training:Momentum': optimizer(2),
  'ai.onnx.preview.training:Adam': optimizer(3),
};
