// Cast and CastLike between the numeric types the evaluator computes in (see `numericKindOf`). Float → int
// truncates toward zero; a value outside the target's range (or NaN/Inf) is undefined behaviour in the spec, so
// the cast is left unevaluated. Int → int wraps (two's complement), which the typed-array store does for us.
import { DataType, type NumericArray } from '../ir/dtype.js';
import { getAttribute } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { type EvalContext, type Evaluator, type NumericKind, allocate, integerRange, numericKindOf } from './context.js';

type Scalar = number | bigint;

/** A 64-bit integer rounded to the nearest float32 (ties to even) in one step: Number() first would round twice. */
function bigintToFloat32(v: bigint): number {
  const magnitude = v < 0n ? -v : v;
  if (magnitude <= 2n ** 53n) return Math.fround(Number(v));
  const shift = BigInt(magnitude.toString(2).length - 24);
  let mantissa = magnitude >> shift;
  const rest = magnitude - (mantissa << shift);
  const half = 1n << (shift - 1n);
  if (rest > half || (rest === half && (mantissa & 1n) === 1n)) mantissa += 1n;
  const rounded = Number(mantissa) * 2 ** Number(shift);
  return Math.fround(v < 0n ? -rounded : rounded);
}

/** The element conversion from `from` to `to`, or undefined when the pair is not evaluated. */
function converter(from: NumericKind, to: DataType): ((v: Scalar) => Scalar | undefined) | undefined {
  const target = numericKindOf(to);
  if (!target) return undefined;
  if (target === 'bool') return (v) => (v === 0 || v === 0n ? 0 : 1); // NaN is true (JS truthiness would say false)
  if (from === 'float') {
    if (target === 'float') return (v) => v;
    // Bounds as doubles: the lower one is a power of two and the upper one exclusive, so both are exact.
    const [lowest, highest] = integerRange(to)!;
    const [min, maxExclusive] = [Number(lowest), Number(highest + 1n)];
    return (v) => {
      const n = Math.trunc(v as number);
      if (!(n >= min && n < maxExclusive)) return undefined;
      return target === 'bigint' ? BigInt(n) : n;
    };
  }
  if (from === 'bigint') {
    if (target === 'bigint') return (v) => v;
    if (target === 'float') return to === DataType.FLOAT ? (v) => bigintToFloat32(v as bigint) : (v) => Number(v);
    // Keep the low 32 bits; the store then wraps them further into narrower types.
    return (v) => Number(BigInt.asIntN(32, v as bigint));
  }
  // int and bool sources are exact doubles.
  return target === 'bigint' ? (v) => BigInt(v as number) : (v) => v;
}

function castArray(ctx: EvalContext, x: Tensor, to: DataType): Tensor | undefined {
  const from = numericKindOf(x.dataType);
  const convert = from && converter(from, to);
  const out = convert && allocate(ctx, to, x.dims);
  if (!convert || !out) return undefined;
  const src = x.toArray() as ArrayLike<Scalar>;
  const dst = out as unknown as { [i: number]: Scalar };
  for (let i = 0; i < src.length; i++) {
    const v = convert(src[i]);
    if (v === undefined) return undefined;
    dst[i] = v;
  }
  return Tensor.fromArray(to, x.dims, out as NumericArray);
}

/** The `to` attribute: an int from opset 6, a type name string in Cast-1. */
function castTarget(ctx: EvalContext): DataType | undefined {
  const to = getAttribute(ctx.node, 'to');
  if (to?.type === 'int') return Number(to.value);
  if (to?.type === 'string') return DataType[to.value.toUpperCase() as keyof typeof DataType];
  return undefined;
}

const cast: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  const to = castTarget(ctx);
  const y = x && to !== undefined ? castArray(ctx, x, to) : undefined;
  return y && [y];
};

const castLike: Evaluator = (ctx) => {
  const [x, like] = ctx.inputs;
  const y = x && like ? castArray(ctx, x, like.dataType) : undefined;
  return y && [y];
};

export const CAST_OPS: Readonly<Record<string, Evaluator>> = { Cast: cast, CastLike: castLike };
