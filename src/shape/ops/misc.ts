// Ops with data-dependent or string outputs: Unique, NonMaxSuppression, string ops, ImageDecoder, TfIdfVectorizer.
// Sizes that depend on the data are unknown dims, never guesses.
import { attrInt, attrInts, attrString, getAttribute } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type OutputTypes, type RuleSet, tensorType } from '../context.js';
import { normalizeAxis, productOf } from '../dims.js';

function unique(ctx: InferContext): OutputTypes {
  const x = ctx.input(0);
  const xs = x?.shape;
  const elemType = x?.elemType ?? DataType.UNDEFINED;
  const axisAttr = attrInt(ctx.node, 'axis');
  const axis = axisAttr !== undefined && xs ? normalizeAxis(axisAttr, xs.length) : undefined;
  const y = axisAttr === undefined ? [undefined] : xs?.map((d, i) => (i === axis ? undefined : d));
  // inverse_indices has one entry per input element (flattened) or per slice along the axis.
  const inverse = axisAttr === undefined ? (xs ? productOf(xs) : undefined) : axis !== undefined ? xs?.[axis] : undefined;
  return [
    tensorType(elemType, y),
    tensorType(DataType.INT64, [undefined]),
    tensorType(DataType.INT64, [inverse]),
    tensorType(DataType.INT64, [undefined]),
  ];
}

function stringNormalizerShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  // Stop words can remove entries; without them the shape is kept.
  return getAttribute(ctx.node, 'stopwords') ? [...xs.slice(0, -1), undefined] : [...xs];
}

function tfIdfShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  const indexes = attrInts(ctx.node, 'ngram_indexes');
  const size = indexes ? Math.max(-1, ...indexes) + 1 : undefined;
  if (!xs) return undefined;
  return xs.length === 1 ? [size] : [xs[0], size];
}

export const miscRules: RuleSet = {
  Unique: { infer: unique },
  NonMaxSuppression: { infer: () => [tensorType(DataType.INT64, [undefined, 3])] },
  StringNormalizer: { infer: (ctx) => [tensorType(DataType.STRING, stringNormalizerShape(ctx))] },
  StringSplit: {
    infer: (ctx) => {
      const xs = ctx.input(0)?.shape;
      // The substring axis is as long as the longest split; an empty input has none.
      const longest = xs?.includes(0) ? 0 : undefined;
      return [tensorType(DataType.STRING, xs && [...xs, longest]), tensorType(DataType.INT64, xs)];
    },
  },
  ImageDecoder: {
    infer: (ctx) => [tensorType(DataType.UINT8, [undefined, undefined, attrString(ctx.node, 'pixel_format', 'RGB') === 'Grayscale' ? 1 : 3])],
  },
  TfIdfVectorizer: { infer: (ctx) => [tensorType(DataType.FLOAT, tfIdfShape(ctx))] },
  // Optional values are not tensors: Optional's output stays untyped here, and reading one gives the tensor's type
  // only when the input is a plain tensor (allowed from opset 18).
  Optional: { infer: () => [] },
  OptionalHasElement: { infer: () => [tensorType(DataType.BOOL, [])] },
  OptionalGetElement: { infer: (ctx) => [ctx.input(0)] },
};
