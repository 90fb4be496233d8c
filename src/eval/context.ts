// What every evaluator gets, and the small readers they share (axes, int lists, output allocation).
import { DataType, type NumericArray, arrayCtorOf, bitsOf } from '../ir/dtype.js';
import { attrInts, type Node } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';

export interface EvalContext {
  readonly node: Node;
  /** Default-domain opset the model imports (decides attribute-vs-input forms). */
  readonly opset: number;
  /** Undefined entries are omitted optional inputs. */
  readonly inputs: readonly (Tensor | undefined)[];
  readonly maxElements: number;
}

/** Returns the outputs, or undefined when the node is outside what is evaluated exactly. */
export type Evaluator = (ctx: EvalContext) => Tensor[] | undefined;

/**
 * How element values are held and computed: `float` (FLOAT, DOUBLE: JS doubles, rounded on store),
 * `int` (≤ 32-bit integers: exact in doubles, wrapped on store), `bigint` (INT64, UINT64), `bool` (0/1 bytes).
 */
export type NumericKind = 'float' | 'int' | 'bigint' | 'bool';

export function numericKindOf(t: DataType): NumericKind | undefined {
  switch (t) {
    case DataType.FLOAT: case DataType.DOUBLE: return 'float';
    case DataType.INT8: case DataType.UINT8: case DataType.INT16: case DataType.UINT16:
    case DataType.INT32: case DataType.UINT32: return 'int';
    case DataType.INT64: case DataType.UINT64: return 'bigint';
    case DataType.BOOL: return 'bool';
    default: return undefined;
  }
}

/** The values an integer type holds (BOOL as 0..1), or undefined for other types. */
export function integerRange(t: DataType): readonly [bigint, bigint] | undefined {
  const signedBits = (bits: bigint): [bigint, bigint] => [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
  const unsignedBits = (bits: bigint): [bigint, bigint] => [0n, (1n << bits) - 1n];
  switch (t) {
    case DataType.BOOL: return [0n, 1n];
    case DataType.INT8: return signedBits(8n);
    case DataType.UINT8: return unsignedBits(8n);
    case DataType.INT16: return signedBits(16n);
    case DataType.UINT16: return unsignedBits(16n);
    case DataType.INT32: return signedBits(32n);
    case DataType.UINT32: return unsignedBits(32n);
    case DataType.INT64: return signedBits(64n);
    case DataType.UINT64: return unsignedBits(64n);
    default: return undefined;
  }
}

/**
 * Types whose values data-movement ops (Reshape, Gather, Slice, ...) can copy as-is: anything with a typed-array
 * form. Float16 and friends move as bit patterns, so copying them is exact even though arithmetic on them is not offered.
 */
export function isMovable(t: DataType): boolean {
  return arrayCtorOf(t) !== undefined && bitsOf(t) > 0;
}

export const sizeOf = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Row-major strides of `dims`. */
export function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length);
  let s = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
  return strides;
}

/** A fresh array for an output of `dims`, or undefined when the type has no numeric form or the output is over the limit. */
export function allocate(ctx: EvalContext, dataType: DataType, dims: readonly number[]): NumericArray | undefined {
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) return undefined;
  const count = sizeOf(dims);
  const Ctor = arrayCtorOf(dataType);
  if (!Ctor || count > ctx.maxElements || !Number.isSafeInteger(count)) return undefined;
  return new Ctor(count);
}

/** `axis` in [-rank, rank) made non-negative, or undefined when out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : undefined;
}

/** Axes normalized against `rank`, or undefined when one is out of range or repeated. */
export function normalizeAxes(axes: readonly number[], rank: number): number[] | undefined {
  const out: number[] = [];
  for (const axis of axes) {
    const a = normalizeAxis(axis, rank);
    if (a === undefined || out.includes(a)) return undefined;
    out.push(a);
  }
  return out;
}

/**
 * The values of an int32/int64 tensor as numbers (1-D or scalar). Int64 values beyond 2^53 lose precision,
 * which only matters where the caller clamps them anyway (Slice bounds) or rejects them (shapes).
 */
export function intValues(t: Tensor | undefined): number[] | undefined {
  if (!t || (t.dataType !== DataType.INT64 && t.dataType !== DataType.INT32) || t.dims.length > 1) return undefined;
  return t.toNumbers();
}

/** The single value of a one-element tensor (scalar or shape [1]). */
export function scalarOf(t: Tensor | undefined): number | bigint | undefined {
  if (!t || t.size !== 1 || !isMovable(t.dataType)) return undefined;
  return t.toArray()[0];
}

/** `axes` from the attribute before `inputSince`, from input 1 after (Squeeze/Unsqueeze/ReduceSum: 13, other reductions: 18). */
export function axesFrom(ctx: EvalContext, inputSince: number): { present: boolean; axes?: number[] } {
  if (ctx.opset < inputSince) {
    const axes = attrInts(ctx.node, 'axes');
    return { present: axes !== undefined, axes };
  }
  const t = ctx.inputs[1];
  return { present: t !== undefined, axes: t && intValues(t) };
}
