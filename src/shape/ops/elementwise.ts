// Broadcasting elementwise ops: arithmetic, comparison, logic, Where. Arithmetic also propagates values, so
// shape arithmetic (Shape → Gather → Mul → Concat → Reshape) keeps its sizes and symbols.
import { attrInt } from '../../ir/model.js';
import { DataType, isIntegerType } from '../../ir/dtype.js';
import type { Dim, TensorType } from '../../ir/types.js';
import { type InferContext, type OpRule, type RuleSet, type Value, ruleFor, tensorType } from '../context.js';
import { addDims, broadcastShapes, divDims, mulDims, subDims } from '../dims.js';

/** Output shape of a broadcasting op over `inputs`; before opset 7 the output takes the first input's shape. */
function broadcastOf(ctx: InferContext, inputs: readonly number[]): readonly Dim[] | undefined {
  if (ctx.opset < 7) return ctx.input(inputs[0])?.shape;
  return broadcastShapes(inputs.map((i) => ctx.input(i)?.shape));
}

const allInputs = (ctx: InferContext): number[] => Array.from({ length: ctx.inputCount }, (_, i) => i);

/** Broadcasting op whose output element type is that of input `typeFrom`, or `fixed`. */
function broadcasting(typeFrom: number, fixed?: DataType): OpRule['infer'] {
  return (ctx) => {
    const elemType = fixed ?? ctx.input(typeFrom)?.elemType;
    const shape = broadcastOf(ctx, allInputs(ctx));
    if (elemType === undefined) return shape ? [tensorType(DataType.UNDEFINED, shape)] : [];
    return [tensorType(elemType, shape)];
  };
}

/**
 * Applies `f` elementwise over known input values. Each input must be a scalar-like value or have the output's
 * element count (the layouts that shape arithmetic produces); anything else is left unknown.
 */
function mapValues(ctx: InferContext, out: TensorType | undefined, f: (xs: Dim[]) => Dim): Value | undefined {
  const values: Value[] = [];
  for (let i = 0; i < ctx.inputCount; i++) {
    const v = ctx.value(i);
    if (!v) return undefined;
    values.push(v);
  }
  const shape = out?.shape;
  const n = shape?.every((d) => typeof d === 'number') ? shape.reduce<number>((a, d) => a * (d as number), 1) : Math.max(...values.map((v) => v.length));
  if (values.some((v) => v.length !== 1 && v.length !== n)) return undefined;
  return Array.from({ length: n }, (_, k) => f(values.map((v) => (v.length === 1 ? v[0] : v[k]))));
}

const numeric = (f: (a: number, b: number) => number, symbolic?: (a: Dim, b: Dim) => Dim) =>
  ([a, b]: Dim[]): Dim => (typeof a === 'number' && typeof b === 'number' ? f(a, b) : symbolic?.(a, b));

function arithmetic(f: (ctx: InferContext, isInt: boolean) => (xs: Dim[]) => Dim): OpRule {
  return {
    infer: broadcasting(0),
    value: (ctx, out) => {
      const elemType = ctx.input(0)?.elemType ?? DataType.INT64;
      const op = f(ctx, isIntegerType(elemType));
      // float32 arithmetic rounds each result (Resize sizes computed in float must floor the same way).
      const rounded = elemType === DataType.FLOAT ? (xs: Dim[]): Dim => { const r = op(xs); return typeof r === 'number' ? Math.fround(r) : r; } : op;
      return mapValues(ctx, out, rounded);
    },
  };
}

/** Python-style modulo (sign of the divisor) unless `fmod` asks for C's. */
const modulo = (fmod: boolean) => (a: number, b: number): number => (fmod ? a % b : ((a % b) + b) % b);

type Order = 'lt' | 'le' | 'eq' | 'ge' | 'gt';

/** How two dims compare when at least one is a symbol: a symbol is itself, and a size is never negative. */
function orderOf(a: Dim, b: Dim): Order | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a === b) return 'eq';
  if (typeof a === 'string' && typeof b === 'number') return b < 0 ? 'gt' : b === 0 ? 'ge' : undefined;
  if (typeof a === 'number' && typeof b === 'string') return a < 0 ? 'lt' : a === 0 ? 'le' : undefined;
  return undefined;
}

/** A comparison, given the orders under which it holds and those under which it fails. */
const compare = (f: (a: number, b: number) => boolean, holds: readonly Order[], fails: readonly Order[]): OpRule => ({
  infer: broadcasting(0, DataType.BOOL),
  value: (ctx, out) => mapValues(ctx, out, ([a, b]) => {
    if (typeof a === 'number' && typeof b === 'number') return f(a, b) ? 1 : 0;
    const order = orderOf(a, b);
    return order && holds.includes(order) ? 1 : order && fails.includes(order) ? 0 : undefined;
  }),
});

const logic = (f: (a: boolean, b: boolean) => boolean): OpRule => ({
  infer: broadcasting(0, DataType.BOOL),
  value: (ctx, out) => mapValues(ctx, out, numeric((a, b) => (f(a !== 0, b !== 0) ? 1 : 0))),
});

const variadic = (f: (xs: number[]) => number): OpRule => ({
  infer: broadcasting(0),
  value: (ctx, out) => mapValues(ctx, out, (xs) => (xs.every((x) => typeof x === 'number') ? f(xs as number[]) : undefined)),
});

export const elementwiseRules: RuleSet = {
  Add: arithmetic(() => numeric((a, b) => a + b, addDims)),
  Sub: arithmetic(() => numeric((a, b) => a - b, subDims)),
  Mul: arithmetic(() => numeric((a, b) => a * b, mulDims)),
  Div: arithmetic((_, isInt) => numeric((a, b) => (isInt ? Math.trunc(a / b) : a / b), divDims)),
  Mod: arithmetic((ctx) => numeric(modulo(attrInt(ctx.node, 'fmod', 0) === 1))),
  Pow: arithmetic(() => numeric((a, b) => a ** b)),
  ...ruleFor(['BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor', 'PRelu', 'SwiGLU'], { infer: broadcasting(0) }),
  Max: variadic((xs) => Math.max(...xs)),
  Min: variadic((xs) => Math.min(...xs)),
  Sum: variadic((xs) => xs.reduce((a, b) => a + b, 0)),
  Mean: { infer: broadcasting(0) },
  Equal: compare((a, b) => a === b, ['eq'], ['lt', 'gt']),
  Less: compare((a, b) => a < b, ['lt'], ['eq', 'ge', 'gt']),
  LessOrEqual: compare((a, b) => a <= b, ['lt', 'le', 'eq'], ['gt']),
  Greater: compare((a, b) => a > b, ['gt'], ['eq', 'le', 'lt']),
  GreaterOrEqual: compare((a, b) => a >= b, ['gt', 'ge', 'eq'], ['lt']),
  And: logic((a, b) => a && b),
  Or: logic((a, b) => a || b),
  Xor: logic((a, b) => a !== b),
  Where: {
    infer: (ctx) => {
      const t = ctx.input(1) ?? ctx.input(2);
      return [tensorType(t?.elemType ?? DataType.UNDEFINED, broadcastShapes([0, 1, 2].map((i) => ctx.input(i)?.shape)))];
    },
    value: (ctx, out) => mapValues(ctx, out, ([c, x, y]) => (typeof c === 'number' ? (c !== 0 ? x : y) : undefined)),
  },
  StringConcat: { infer: broadcasting(0, DataType.STRING) },
};
