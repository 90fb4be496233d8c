// Linear quantization as ONNX defines it (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear), in plain loops
// over typed arrays with float32 arithmetic (Math.fround after each operation, as onnxruntime's kernels compute).
import { DataType, arrayCtorOf } from '../ir/dtype.js';
import { type QuantParams, type QuantType, qRange, roundHalfEven } from './params.js';

export { roundHalfEven } from './params.js';

/** One integer per element: Int8Array for int8/int4/int2, Uint8Array for uint8/uint4/uint2, Int16Array, Uint16Array. */
export type QuantArray = Int8Array | Uint8Array | Int16Array | Uint16Array;

/** `values` seen as [outer, channels, inner] around the axis; blocked params index (outer, block, inner). */
interface Layout { readonly outer: number; readonly channels: number; readonly inner: number; readonly blockSize: number; readonly blocks: number }

function layoutOf(params: Pick<QuantParams, 'axis' | 'blockSize' | 'scale' | 'zeroPoint'>, dims: readonly number[], length: number): Layout {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== length) throw new Error(`${length} values for shape [${dims}]`);
  if (params.zeroPoint.length !== params.scale.length) throw new Error(`${params.scale.length} scales but ${params.zeroPoint.length} zero points`);
  const blockSize = params.blockSize ?? 0;
  // One scale is per-tensor whatever the axis says (ONNX decides granularity by the scale's shape).
  if (blockSize === 0 && params.scale.length === 1) return { outer: 1, channels: 1, inner: size, blockSize: 0, blocks: 1 };
  if (params.axis === undefined) throw new Error(`${params.scale.length} scales need an axis`);
  const { outer, channels, inner } = axisLayout(dims, params.axis, length);
  const blocks = blockSize > 0 ? Math.ceil(channels / blockSize) : channels;
  const need = blockSize > 0 ? outer * blocks * inner : channels;
  if (params.scale.length !== need) {
    throw new Error(`${blockSize > 0 ? `blocks of ${blockSize}` : 'per-axis'} quantization along axis ${params.axis} of [${dims}] needs ${need} scales, got ${params.scale.length}`);
  }
  return { outer, channels, inner, blockSize, blocks };
}

/** Index of the scale for (o, c): per-tensor and per-axis share it along inner, blocked steps one per inner index. */
function paramBase(l: Layout, o: number, c: number): number {
  return l.blockSize > 0 ? (o * l.blocks + ((c / l.blockSize) | 0)) * l.inner : c;
}

// 1.5 * 2^52: adding and subtracting it rounds a double of magnitude below 2^51 to an integer, half to even.
const ROUNDER = 6755399441055744;

/**
 * One QuantizeLinear element. Clamping x / s to [qmin - z, qmax - z] before rounding gives the same integer as
 * rounding first (the bounds are integers) and keeps the value small enough for the ROUNDER trick; NaN → 0.
 */
function quantizeOne(x: number, s: number, z: number, qmin: number, qmax: number): number {
  const v = Math.fround(x / s);
  const lo = qmin - z, hi = qmax - z;
  const t = v >= lo ? (v <= hi ? v : hi) : v < lo ? lo : 0;
  return (t + ROUNDER) - ROUNDER + z;
}

/** The hot case of weight quantization (symmetric per-column): quantizeOne with z = 0, without its loads. */
function quantizeColumnsSymmetric(values: Float32Array, scale: Float32Array, channels: number, qmin: number, qmax: number, q: QuantArray): QuantArray {
  const rows = values.length / channels;
  for (let r = 0, j = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++, j++) {
      // NaN stays NaN through min/max and stores as 0, the zero point.
      q[j] = (Math.max(qmin, Math.min(qmax, Math.fround(values[j] / scale[c]))) + ROUNDER) - ROUNDER;
    }
  }
  return q;
}

export function quantArrayFor(dataType: QuantType, length: number): QuantArray {
  return new (arrayCtorOf(dataType)!)(length) as QuantArray;
}

/**
 * QuantizeLinear: `saturate(round_half_even(x / scale) + zero_point)` with x / scale in float32.
 * NaN becomes the zero point (the spec leaves it undefined; onnxruntime's result depends on the CPU).
 * 4- and 2-bit results hold one value per element; `Tensor.fromArray` packs them.
 */
export function quantize(values: Float32Array, params: QuantParams, dims: readonly number[], out?: QuantArray): QuantArray {
  const l = layoutOf(params, dims, values.length);
  const q = out ?? quantArrayFor(params.dataType, values.length);
  if (q.length !== values.length) throw new Error(`output holds ${q.length} values, expected ${values.length}`);
  const [qmin, qmax] = qRange(params.dataType);
  const { scale, zeroPoint } = params;
  if (l.blockSize === 0 && l.inner === 1 && l.channels > 1) {
    // Per-axis along the last dimension (MatMul [K, N]): the parameters cycle along each row.
    if (zeroPoint.every((z) => z === 0)) return quantizeColumnsSymmetric(values, scale, l.channels, qmin, qmax, q);
    for (let j = 0, c = 0; j < values.length; j++) {
      q[j] = quantizeOne(values[j], scale[c], zeroPoint[c], qmin, qmax);
      if (++c === l.channels) c = 0;
    }
    return q;
  }
  let j = 0;
  for (let o = 0; o < l.outer; o++) {
    for (let c = 0; c < l.channels; c++) {
      const base = paramBase(l, o, c);
      if (l.blockSize > 0) {
        for (let i = 0; i < l.inner; i++, j++) q[j] = quantizeOne(values[j], scale[base + i], zeroPoint[base + i], qmin, qmax);
      } else {
        const s = scale[base], z = zeroPoint[base];
        for (let i = 0; i < l.inner; i++, j++) q[j] = quantizeOne(values[j], s, z, qmin, qmax);
      }
    }
  }
  return q;
}

/** DequantizeLinear: `(q - zero_point) * scale` in float32. */
export function dequantize(
  values: ArrayLike<number>, params: Pick<QuantParams, 'scale' | 'zeroPoint' | 'axis' | 'blockSize'>, dims: readonly number[], out?: Float32Array,
): Float32Array {
  const l = layoutOf(params, dims, values.length);
  const y = out ?? new Float32Array(values.length);
  const { scale, zeroPoint } = params;
  // One native widening copy keeps the loops below monomorphic: indexing five typed-array kinds in one loop made
  // V8's element access megamorphic and dequantizing ~8x slower.
  const q = values instanceof Int32Array ? values : new Int32Array(values);
  // (q - zp) is exact; rounding it to float32 first matters only for int32 inputs, as onnxruntime casts before multiplying.
  if (l.blockSize === 0 && l.inner === 1 && l.channels > 1) {
    for (let j = 0, c = 0; j < q.length; j++) {
      y[j] = Math.fround(q[j] - zeroPoint[c]) * scale[c];
      if (++c === l.channels) c = 0;
    }
    return y;
  }
  let j = 0;
  for (let o = 0; o < l.outer; o++) {
    for (let c = 0; c < l.channels; c++) {
      const base = paramBase(l, o, c);
      if (l.blockSize > 0) {
        for (let i = 0; i < l.inner; i++, j++) y[j] = Math.fround(q[j] - zeroPoint[base + i]) * scale[base + i];
      } else {
        const s = scale[base], z = zeroPoint[base];
        for (let i = 0; i < l.inner; i++, j++) y[j] = Math.fround(q[j] - z) * s;
      }
    }
  }
  return y;
}

export interface DynamicQuantized { readonly q: Uint8Array; readonly scale: number; readonly zeroPoint: number }

/**
 * DynamicQuantizeLinear (uint8): range widened to include 0, scale = (max - min) / 255, zero point =
 * saturate(round_half_even(0 - min / scale)), all in float32, then QuantizeLinear. An all-zero (or empty)
 * input gets scale 1 and zero point 0, as onnxruntime does (the spec's formula would divide by zero). NaNs are skipped
 * when finding the range.
 */
export function dynamicQuantize(values: Float32Array): DynamicQuantized {
  const { min, max } = tensorMinMax(values);
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / 255);
  const zp = roundHalfEven(Math.min(255, Math.max(0, Math.fround(0 - Math.fround(lo / scale)))));
  const params: QuantParams = { scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zp), dataType: DataType.UINT8 };
  return { q: quantize(values, params, [values.length]) as Uint8Array, scale, zeroPoint: zp };
}

/** Smallest and largest value, NaNs skipped; 0 and 0 for an empty (or all-NaN) array. */
export function tensorMinMax(values: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min > max ? { min: 0, max: 0 } : { min, max };
}

export function tensorAbsMax(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > m) m = a;
  }
  return m;
}

function axisLayout(dims: readonly number[], axis: number, length: number): { outer: number; channels: number; inner: number } {
  const a = axis < 0 ? axis + dims.length : axis;
  if (a < 0 || a >= dims.length) throw new Error(`axis ${axis} out of range for shape [${dims}]`);
  let outer = 1, inner = 1;
  for (let i = 0; i < a; i++) outer *= dims[i];
  for (let i = a + 1; i < dims.length; i++) inner *= dims[i];
  if (outer * dims[a] * inner !== length) throw new Error(`${length} values for shape [${dims}]`);
  return { outer, channels: dims[a], inner };
}

/** Per index of dims[axis]: the smallest and largest value over all other dimensions (NaNs skipped; 0 for none). */
export function channelMinMax(values: ArrayLike<number>, dims: readonly number[], axis: number): { min: Float32Array; max: Float32Array } {
  const { outer, channels, inner } = axisLayout(dims, axis, values.length);
  const min = new Float32Array(channels).fill(Infinity);
  const max = new Float32Array(channels).fill(-Infinity);
  let j = 0;
  for (let o = 0; o < outer; o++) {
    if (inner === 1) {
      // Channels along the last dimension: one value each per row.
      for (let c = 0; c < channels; c++, j++) {
        const v = values[j];
        if (v < min[c]) min[c] = v;
        if (v > max[c]) max[c] = v;
      }
      continue;
    }
    for (let c = 0; c < channels; c++) {
      let lo = min[c], hi = max[c];
      for (let i = 0; i < inner; i++, j++) {
        const v = values[j];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      min[c] = lo;
      max[c] = hi;
    }
  }
  for (let c = 0; c < channels; c++) if (min[c] > max[c]) min[c] = max[c] = 0;
  return { min, max };
}

/** Per index of dims[axis]: the largest |value| over all other dimensions. */
export function channelAbsMax(values: ArrayLike<number>, dims: readonly number[], axis: number): Float32Array {
  const { outer, channels, inner } = axisLayout(dims, axis, values.length);
  const out = new Float32Array(channels);
  let j = 0;
  for (let o = 0; o < outer; o++) {
    if (inner === 1) {
      for (let c = 0; c < channels; c++, j++) {
        const a = Math.abs(values[j]);
        if (a > out[c]) out[c] = a;
      }
      continue;
    }
    for (let c = 0; c < channels; c++) {
      let m = out[c];
      for (let i = 0; i < inner; i++, j++) {
        const a = Math.abs(values[j]);
        if (a > m) m = a;
      }
      out[c] = m;
    }
  }
  return out;
}

/**
 * The axis of a weight input that indexes output channels (what per-channel quantization splits), or undefined
 * when the input is not a weight with one: Conv W [M, C/g, ...] → 0, ConvTranspose W [C, M/g, ...] → 1,
 * MatMul B [..., K, N] → its last axis (`rank` - 1), Gemm B → 0 when transB = 1 ([N, K]), else 1 ([K, N]).
 */
export function weightAxisFor(opType: string, inputIndex: number, attrs: { readonly transB?: number | bigint } = {}, rank = 2): number | undefined {
  if (inputIndex !== 1) return undefined;
  switch (opType) {
    case 'Conv': return 0;
    case 'ConvTranspose': return 1;
    case 'MatMul': return rank >= 2 ? rank - 1 : undefined;
    case 'Gemm': return Number(attrs.transB ?? 0) ? 0 : 1;
    default: return undefined;
  }
}
