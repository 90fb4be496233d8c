// Elementwise ops: arithmetic, math, comparisons, logic, Min/Max, Where, Clip. Values are computed in JS doubles
// (float, ≤32-bit ints) or BigInt (64-bit ints) and rounded or wrapped by the typed-array store, which gives the
// correctly rounded float32 result for + - * / sqrt (a double holds more than 2×24+2 bits, so rounding twice is
// harmless) and two's-complement wrap-around for integer overflow.
import { DataType, type NumericArray } from '../ir/dtype.js';
import { attrFloat, attrInt, type Node } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { alignLegacyBroadcast, broadcastShapes, broadcastSourceIndex } from './broadcast.js';
import { type EvalContext, type Evaluator, allocate, integerRange, isMovable, numericKindOf, scalarOf } from './context.js';

type Scalar = number | bigint;
type UnaryFn = (a: Scalar) => Scalar | undefined;
type BinaryFn = (a: Scalar, b: Scalar) => Scalar | undefined;
/** Picks the kernel for an element type; undefined means the type (or attribute combination) is not evaluated. */
type KernelPicker<F> = (dataType: DataType, node: Node) => F | undefined;

interface PerKind<N, B> {
  readonly float?: N;
  readonly int?: N;
  readonly bigint?: B;
  readonly bool?: N;
}

/** A picker from one kernel per numeric kind (the typed signatures are erased here, once). */
function byKind<N, B>(kernels: PerKind<N, B>): KernelPicker<never> {
  return (t) => {
    const kind = numericKindOf(t);
    return (kind ? kernels[kind] : undefined) as never;
  };
}

const read = (a: NumericArray): ArrayLike<Scalar> => a as ArrayLike<Scalar>;
const writable = (a: NumericArray): { [i: number]: Scalar } => a as unknown as { [i: number]: Scalar };

// ---------------------------------------------------------------- drivers

function mapUnary(ctx: EvalContext, x: Tensor, outType: DataType, fn: UnaryFn): Tensor | undefined {
  const out = allocate(ctx, outType, x.dims);
  if (!out) return undefined;
  const src = read(x.toArray());
  const dst = writable(out);
  for (let i = 0; i < out.length; i++) {
    const v = fn(src[i]);
    if (v === undefined) return undefined;
    dst[i] = v;
  }
  return Tensor.fromArray(outType, x.dims, out);
}

/** Applies `fn` over broadcast inputs (the shapes as given, already aligned). */
function mapBroadcast(
  ctx: EvalContext, tensors: readonly Tensor[], shapes: readonly (readonly number[])[], outType: DataType,
  fn: (values: readonly Scalar[]) => Scalar | undefined,
): Tensor | undefined {
  const outDims = broadcastShapes(shapes);
  if (!outDims) return undefined;
  const out = allocate(ctx, outType, outDims);
  if (!out) return undefined;
  const sources = tensors.map((t) => read(t.toArray()));
  const maps = shapes.map((s) => broadcastSourceIndex(s, outDims));
  const dst = writable(out);
  const values = new Array<Scalar>(tensors.length);
  for (let i = 0; i < out.length; i++) {
    for (let k = 0; k < sources.length; k++) values[k] = sources[k][maps[k]?.[i] ?? i];
    const v = fn(values);
    if (v === undefined) return undefined;
    dst[i] = v;
  }
  return Tensor.fromArray(outType, outDims, out);
}

function mapBinary(ctx: EvalContext, a: Tensor, b: Tensor, outType: DataType, fn: BinaryFn, legacyBroadcast: boolean): Tensor | undefined {
  const shapes = legacyBroadcast ? alignLegacyBroadcast(ctx.node, ctx.opset, a.dims, b.dims) : [a.dims, b.dims];
  if (!shapes) return undefined;
  return mapBroadcast(ctx, [a, b], shapes, outType, (v) => fn(v[0], v[1]));
}

// ---------------------------------------------------------------- evaluator builders

/** An op whose output has its inputs' type (Add, Neg, ...). */
function unaryOp(pick: KernelPicker<UnaryFn>): Evaluator {
  return (ctx) => {
    const [x] = ctx.inputs;
    const fn = x && pick(x.dataType, ctx.node);
    const y = fn && mapUnary(ctx, x, x.dataType, fn);
    return y && [y];
  };
}

/** A binary op yielding its inputs' type, or BOOL when `yieldsBool` (comparisons). */
function binaryOp(pick: KernelPicker<BinaryFn>, yieldsBool = false): Evaluator {
  return (ctx) => {
    const [a, b] = ctx.inputs;
    if (!a || !b || a.dataType !== b.dataType) return undefined;
    const fn = pick(a.dataType, ctx.node);
    const y = fn && mapBinary(ctx, a, b, yieldsBool ? DataType.BOOL : a.dataType, fn, true);
    return y && [y];
  };
}

/** Min/Max: one or more inputs, folded left to right. */
function variadicOp(pick: KernelPicker<BinaryFn>): Evaluator {
  return (ctx) => {
    const tensors = ctx.inputs;
    const first = tensors[0];
    if (!first || tensors.some((t) => !t || t.dataType !== first.dataType)) return undefined;
    const fn = pick(first.dataType, ctx.node);
    if (!fn) return undefined;
    let acc: Tensor | undefined = mapUnary(ctx, first, first.dataType, (v) => v);
    for (let i = 1; i < tensors.length && acc; i++) acc = mapBinary(ctx, acc, tensors[i]!, first.dataType, fn, false);
    return acc && [acc];
  };
}

// ---------------------------------------------------------------- kernels

const isSigned = (t: DataType): boolean =>
  t === DataType.INT8 || t === DataType.INT16 || t === DataType.INT32 || t === DataType.INT64;

const add = byKind({ float: (a: number, b: number) => a + b, int: (a: number, b: number) => a + b, bigint: (a: bigint, b: bigint) => a + b });
const sub = byKind({ float: (a: number, b: number) => a - b, int: (a: number, b: number) => a - b, bigint: (a: bigint, b: bigint) => a - b });
// Math.imul keeps the low 32 bits exactly, where a double product of two 32-bit ints could round.
const mul = byKind({ float: (a: number, b: number) => a * b, int: Math.imul, bigint: (a: bigint, b: bigint) => a * b });
// Integer division truncates toward zero (C); the double quotient of ints below 2^53 never crosses an integer.
// Division by zero and MIN / -1 (the one overflowing quotient) are undefined in C and left unevaluated.
const div: KernelPicker<BinaryFn> = (t) => {
  const kind = numericKindOf(t);
  if (kind === 'float') return (a, b) => (a as number) / (b as number);
  const highest = integerRange(t)?.[1];
  if (kind === 'int') return (a, b) => (b === 0 || (b === -1 && -a > Number(highest)) ? undefined : Math.trunc((a as number) / (b as number)));
  if (kind === 'bigint') return (a, b) => (b === 0n || (b === -1n && -(a as bigint) > highest!) ? undefined : (a as bigint) / (b as bigint));
  return undefined;
};

/** Python `%`: the remainder takes the divisor's sign. */
function floorMod<T extends number | bigint>(a: T, b: T, zero: T): T {
  const r = (a as number) % (b as number);
  return (r !== zero && (r < zero) !== (b < zero) ? (r as number) + (b as number) : r) as T;
}

const mod: KernelPicker<BinaryFn> = (t, node) => {
  const kind = numericKindOf(t);
  // JS `%` is C fmod (truncated, exact for doubles); fmod=0 (Python semantics) is defined for integers only.
  const truncated = attrInt(node, 'fmod', 0) === 1;
  if (kind === 'float') return truncated ? (a, b) => (a as number) % (b as number) : undefined;
  if (kind === 'int') return (a, b) => (b === 0 ? undefined : truncated ? (a as number) % (b as number) : floorMod(a as number, b as number, 0));
  if (kind === 'bigint') return (a, b) => (b === 0n ? undefined : truncated ? (a as bigint) % (b as bigint) : floorMod(a as bigint, b as bigint, 0n));
  return undefined;
};

const neg: KernelPicker<UnaryFn> = (t) => {
  if (numericKindOf(t) === 'float') return (a) => -(a as number);
  if (!isSigned(t)) return undefined;
  return numericKindOf(t) === 'bigint' ? (a) => -(a as bigint) : (a) => -(a as number);
};

const abs: KernelPicker<UnaryFn> = (t) => {
  const kind = numericKindOf(t);
  if (kind === 'bigint') return (a) => ((a as bigint) < 0n ? -(a as bigint) : a);
  return kind === 'float' || kind === 'int' ? (a) => Math.abs(a as number) : undefined;
};

const floatOnly = (fn: (a: number) => number): KernelPicker<UnaryFn> => byKind({ float: fn });

/** Numpy's minimum/maximum: NaN wins. Of 0 and -0 (equal) runtimes keep either, scalar and vectorized kernels
 *  alike disagreeing, so that pair is left unevaluated. */
const opposedZeros = (a: Scalar, b: Scalar): boolean => a === 0 && b === 0 && Object.is(a, -0) !== Object.is(b, -0);
const pickMin = (a: Scalar, b: Scalar): Scalar | undefined => (opposedZeros(a, b) ? undefined : a <= b || a !== a ? a : b);
const pickMax = (a: Scalar, b: Scalar): Scalar | undefined => (opposedZeros(a, b) ? undefined : a >= b || a !== a ? a : b);
const numeric = (fn: BinaryFn): KernelPicker<BinaryFn> => (t) => (numericKindOf(t) && t !== DataType.BOOL ? fn : undefined);

const boolOf = (x: boolean): number => (x ? 1 : 0);
const comparison = (test: (a: Scalar, b: Scalar) => boolean, allowBool: boolean): KernelPicker<BinaryFn> =>
  (t) => (numericKindOf(t) && (allowBool || t !== DataType.BOOL) ? (a, b) => boolOf(test(a, b)) : undefined);

const logical = (fn: (a: number, b: number) => number): KernelPicker<BinaryFn> => byKind({ bool: fn });

// ---------------------------------------------------------------- Where, Clip

const where: Evaluator = (ctx) => {
  const [cond, x, y] = ctx.inputs;
  if (!cond || !x || !y || cond.dataType !== DataType.BOOL || x.dataType !== y.dataType || !isMovable(x.dataType)) return undefined;
  const out = mapBroadcast(ctx, [cond, x, y], [cond.dims, x.dims, y.dims], x.dataType, (v) => (v[0] ? v[1] : v[2]));
  return out && [out];
};

/** Clip bounds: attributes before opset 11, optional scalar inputs from 11. Undefined bound = unbounded. */
function clipBounds(ctx: EvalContext, t: DataType): { ok: boolean; lo?: Scalar; hi?: Scalar } {
  // Clip-1/6 take float attributes and float tensors only.
  if (ctx.opset < 11) return { ok: numericKindOf(t) === 'float', lo: attrFloat(ctx.node, 'min'), hi: attrFloat(ctx.node, 'max') };
  const [, min, max] = ctx.inputs;
  const lo = min && scalarOf(min);
  const hi = max && scalarOf(max);
  const ok = (!min || (min.dataType === t && lo !== undefined)) && (!max || (max.dataType === t && hi !== undefined));
  return { ok, lo, hi };
}

const clip: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  if (!x || !numericKindOf(x.dataType) || x.dataType === DataType.BOOL) return undefined;
  const { ok, lo, hi } = clipBounds(ctx, x.dataType);
  if (!ok) return undefined;
  // Max(x, min) then Min(·, max): NaN stays NaN, and min > max gives max everywhere, as the spec says.
  const out = mapUnary(ctx, x, x.dataType, (v) => {
    // A missing bound is numeric_limits::lowest()/max() in the spec but "no bound" in the reference
    // implementation; they differ only on infinities, which are therefore left unevaluated.
    if ((lo === undefined && v === -Infinity) || (hi === undefined && v === Infinity)) return undefined;
    let r = v;
    if (lo !== undefined && r < lo) r = lo;
    if (hi !== undefined && r > hi) r = hi;
    return r;
  });
  return out && [out];
};

// ---------------------------------------------------------------- the family's table

export const ELEMENTWISE_OPS: Readonly<Record<string, Evaluator>> = {
  Add: binaryOp(add),
  Sub: binaryOp(sub),
  Mul: binaryOp(mul),
  Div: binaryOp(div),
  Mod: binaryOp(mod),
  Neg: unaryOp(neg),
  Abs: unaryOp(abs),
  Floor: unaryOp(floatOnly(Math.floor)),
  Ceil: unaryOp(floatOnly(Math.ceil)),
  Sqrt: unaryOp(floatOnly(Math.sqrt)),
  Reciprocal: unaryOp(floatOnly((a) => 1 / a)),
  Min: variadicOp(numeric(pickMin)),
  Max: variadicOp(numeric(pickMax)),
  Equal: binaryOp(comparison((a, b) => a === b, true), true),
  Less: binaryOp(comparison((a, b) => a < b, false), true),
  Greater: binaryOp(comparison((a, b) => a > b, false), true),
  LessOrEqual: binaryOp(comparison((a, b) => a <= b, false), true),
  GreaterOrEqual: binaryOp(comparison((a, b) => a >= b, false), true),
  Not: unaryOp(byKind({ bool: (a: number) => boolOf(!a) })),
  And: binaryOp(logical((a, b) => boolOf(!!a && !!b))),
  Or: binaryOp(logical((a, b) => boolOf(!!a || !!b))),
  Xor: binaryOp(logical((a, b) => boolOf(!a !== !b))),
  Where: where,
  Clip: clip,
};
