// Ops that keep their input's shape: unary math, activations, casts, Identity, Dropout, Clip and the like.
import { getAttribute } from '../../ir/model.js';
import { DataType, isIntegerType } from '../../ir/dtype.js';
import type { Dim, TensorType } from '../../ir/types.js';
import { type InferContext, type OpRule, type RuleSet, type Value, ruleFor, sameAs, tensorType, withShape } from '../context.js';

/** Same shape as input 0, element type fixed. */
const shapedAs = (elemType: DataType): OpRule => ({ infer: (ctx) => [tensorType(elemType, ctx.input(0)?.shape)] });

/** Same type as input 0, value mapped number by number (symbols kept by `symbolic` only). */
function mapped(f: (x: number) => number, symbolic = false): OpRule {
  return {
    infer: (ctx) => [ctx.input(0)],
    value: (ctx) => ctx.value(0)?.map((d) => (typeof d === 'number' ? f(d) : symbolic ? d : undefined)),
  };
}

/** Cast's `to`: an int from opset 6, a type name before. */
function castTarget(ctx: InferContext): DataType | undefined {
  const a = getAttribute(ctx.node, 'to');
  if (a?.type === 'int') return Number(a.value);
  if (a?.type === 'string') return DataType[a.value.toUpperCase() as keyof typeof DataType];
  return undefined;
}

function castValue(v: Value | undefined, to: DataType | undefined): Value | undefined {
  if (!v || to === undefined) return undefined;
  const toInt = isIntegerType(to);
  return v.map((d): Dim => {
    if (typeof d !== 'number') return toInt ? d : undefined;
    if (to === DataType.BOOL) return d !== 0 ? 1 : 0;
    if (toInt) return Math.trunc(d);
    return to === DataType.FLOAT ? Math.fround(d) : d;
  });
}

const sameShapeOps = [
  'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Cos', 'Cosh', 'Erf', 'Exp', 'Log', 'Reciprocal', 'Round', 'Sign',
  'Sin', 'Sinh', 'Tan', 'Tanh', 'Relu', 'Sigmoid', 'LeakyRelu', 'HardSigmoid', 'HardSwish', 'Gelu', 'Softplus', 'Softsign',
  'Elu', 'Selu', 'Celu', 'Mish', 'Swish', 'ThresholdedRelu', 'Shrink', 'BitwiseNot', 'Clip', 'Trilu', 'CumSum', 'CumProd',
  'ReverseSequence', 'TensorScatter',
];

export const unaryRules: RuleSet = {
  ...ruleFor(sameShapeOps, sameAs(0)),
  Abs: mapped(Math.abs),
  Neg: mapped((x) => -x),
  Ceil: mapped(Math.ceil),
  Floor: mapped(Math.floor),
  Sqrt: mapped(Math.sqrt),
  Identity: mapped((x) => x, true),
  Not: { infer: shapedAs(DataType.BOOL).infer, value: (ctx) => ctx.value(0)?.map((d) => (typeof d === 'number' ? (d === 0 ? 1 : 0) : undefined)) },
  IsNaN: shapedAs(DataType.BOOL),
  IsInf: shapedAs(DataType.BOOL),
  RegexFullMatch: shapedAs(DataType.BOOL),
  Cast: {
    infer: (ctx) => {
      const to = castTarget(ctx);
      return [to === undefined ? withShape(ctx.input(0), undefined) : tensorType(to, ctx.input(0)?.shape)];
    },
    value: (ctx) => castValue(ctx.value(0), castTarget(ctx)),
  },
  CastLike: {
    infer: (ctx) => [tensorType(ctx.input(1)?.elemType ?? DataType.UNDEFINED, ctx.input(0)?.shape)],
    value: (ctx) => castValue(ctx.value(0), ctx.input(1)?.elemType),
  },
  BitCast: { infer: (ctx) => [tensorType(castTarget(ctx) ?? DataType.UNDEFINED, ctx.input(0)?.shape)] },
  Dropout: {
    // The mask is bool from opset 10; before, it had the data's type.
    infer: (ctx) => {
      const x: TensorType | undefined = ctx.input(0);
      return [x, ctx.opset >= 10 ? tensorType(DataType.BOOL, x?.shape) : x];
    },
  },
};
