// Ops that create tensors of a requested shape and type: random generators and EyeLike. The element type
// is the `dtype` attribute where one is given, else the input's (for the *Like forms).
import { attrInt, attrInts } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import { type InferContext, type OpRule, type RuleSet, ruleFor, tensorType } from '../context.js';

const dtypeOr = (ctx: InferContext, fallback: DataType | undefined): DataType =>
  attrInt(ctx.node, 'dtype') ?? fallback ?? DataType.UNDEFINED;

/** Shaped like input 0, dtype attribute or input 0's type. */
const like: OpRule = { infer: (ctx) => [tensorType(dtypeOr(ctx, ctx.input(0)?.elemType), ctx.input(0)?.shape)] };

/** Shape from the `shape` attribute, float unless dtype says otherwise. */
const fromShapeAttr: OpRule = { infer: (ctx) => [tensorType(dtypeOr(ctx, DataType.FLOAT), attrInts(ctx.node, 'shape'))] };

export const generatorRules: RuleSet = {
  ...ruleFor(['RandomUniformLike', 'RandomNormalLike', 'Bernoulli', 'EyeLike'], like),
  ...ruleFor(['RandomUniform', 'RandomNormal'], fromShapeAttr),
  Multinomial: {
    infer: (ctx) => [tensorType(dtypeOr(ctx, DataType.INT32), [ctx.input(0)?.shape?.[0], attrInt(ctx.node, 'sample_size', 1)])],
  },
};
