// Quantization parameters (scale, zero point, granularity) and how onnxruntime's quantizer derives them
// from a float range (onnxruntime/python/tools/quantization/quant_utils.py, `compute_scale_zp`, 1.30).
import { DataType } from '../ir/dtype.js';

/** The integer types QuantizeLinear/DequantizeLinear produce and consume here. */
export type QuantType =
  | DataType.INT8 | DataType.UINT8 | DataType.INT16 | DataType.UINT16
  | DataType.INT4 | DataType.UINT4 | DataType.INT2 | DataType.UINT2;

/**
 * Per-tensor (one scale, no axis), per-axis (`axis`, one scale per index of dims[axis]) or blocked
 * (`axis` and `blockSize`, scales shaped like the tensor with dims[axis] → ceil(dims[axis] / blockSize), row-major).
 */
export interface QuantParams {
  readonly scale: Float32Array;
  /** Same length as `scale`; zeros where the model has no zero point. */
  readonly zeroPoint: Int32Array;
  readonly axis?: number;
  readonly blockSize?: number;
  readonly dataType: QuantType;
}

export function isQuantType(t: DataType): t is QuantType {
  return t === DataType.INT8 || t === DataType.UINT8 || t === DataType.INT16 || t === DataType.UINT16 ||
    t === DataType.INT4 || t === DataType.UINT4 || t === DataType.INT2 || t === DataType.UINT2;
}

/** The type's full range, what QuantizeLinear saturates to. */
export function qRange(dataType: QuantType): [qmin: number, qmax: number] {
  switch (dataType) {
    case DataType.INT8: return [-128, 127];
    case DataType.UINT8: return [0, 255];
    case DataType.INT16: return [-32768, 32767];
    case DataType.UINT16: return [0, 65535];
    case DataType.INT4: return [-8, 7];
    case DataType.UINT4: return [0, 15];
    case DataType.INT2: return [-2, 1];
    case DataType.UINT2: return [0, 3];
  }
}

/** onnxruntime's `reduce_range` (ONNX_INT_TYPE_REDUCED_RANGE): one bit less, for CPUs whose int8 dot products saturate. */
export function reducedQRange(dataType: QuantType): [qmin: number, qmax: number] {
  switch (dataType) {
    case DataType.INT8: return [-64, 64];
    case DataType.UINT8: return [0, 127];
    case DataType.INT16: return [-16384, 16384];
    case DataType.UINT16: return [0, 32767];
    case DataType.INT4: return [-4, 3];
    case DataType.UINT4: return [0, 7];
    case DataType.INT2: return [-1, 1];
    case DataType.UINT2: return [0, 1];
  }
}

/** The range onnxruntime quantizes into (`get_qmin_qmax_for_qType`): symmetric int8/int16 drop the lowest value. */
export function quantizerRange(dataType: QuantType, options: { symmetric?: boolean; reduceRange?: boolean } = {}): [number, number] {
  if (options.reduceRange) return reducedQRange(dataType);
  if (options.symmetric && dataType === DataType.INT8) return [-127, 127];
  if (options.symmetric && dataType === DataType.INT16) return [-32767, 32767];
  return qRange(dataType);
}

export interface RangeOptions {
  /** Range made [-absmax, absmax]; zero point 0 for signed types, the mid value (128, 32768, 8) for unsigned ones. */
  readonly symmetric?: boolean;
  readonly reduceRange?: boolean;
  /** Smallest rmax - rmin to allow (onnxruntime's `min_real_range`). */
  readonly minRealRange?: number;
}

const F32_TINY = 2 ** -126;

/**
 * Scale and zero point for the float range [min, max], bit for bit as onnxruntime's `compute_scale_zp`:
 * the range is widened to include 0 (float32), rmax - rmin is taken in float32, the scale divided in float64
 * and stored as float32, and the zero point rounded half-to-even from the float64 scale. A range narrower than
 * float32's smallest normal gives scale 1 and zero point 0 (also for unsigned symmetric, as onnxruntime does).
 */
export function paramsFromRange(min: number, max: number, dataType: QuantType, options: RangeOptions = {}): { scale: number; zeroPoint: number } {
  const [qmin, qmax] = quantizerRange(dataType, options);
  let rmin = Math.min(Math.fround(min), 0);
  let rmax = Math.max(Math.fround(max), 0);
  if (options.minRealRange !== undefined) rmax = Math.max(rmax, Math.fround(rmin + Math.fround(options.minRealRange)));
  if (options.symmetric) {
    const absmax = Math.max(Math.abs(rmin), Math.abs(rmax));
    rmin = -absmax;
    rmax = absmax;
  }
  const scale64 = Math.fround(rmax - rmin) / (qmax - qmin);
  if (!(scale64 >= F32_TINY)) return { scale: 1, zeroPoint: 0 };
  const zp = options.symmetric ? roundHalfEven((qmin + qmax) / 2) : roundHalfEven(qmin - rmin / scale64);
  return { scale: Math.fround(scale64), zeroPoint: Math.min(qmax, Math.max(qmin, zp)) };
}

/** `paramsFromRange` per channel (mins[i], maxs[i]): per-axis parameters along `axis`. */
export function paramsFromRanges(mins: ArrayLike<number>, maxs: ArrayLike<number>, dataType: QuantType, axis: number, options: RangeOptions = {}): QuantParams {
  const scale = new Float32Array(mins.length);
  const zeroPoint = new Int32Array(mins.length);
  for (let i = 0; i < mins.length; i++) {
    const p = paramsFromRange(mins[i], maxs[i], dataType, options);
    scale[i] = p.scale;
    zeroPoint[i] = p.zeroPoint;
  }
  return { scale, zeroPoint, axis, dataType };
}

// Adding and subtracting 2^52 leaves a double of magnitude below 2^52 rounded to an integer in the default
// (nearest, ties to even) mode; doubles of 2^52 and more are integers already.
const TWO_52 = 4503599627370496;

/** Round half to even (numpy's rint, C's nearbyint). Exact for every double; NaN and ±Infinity pass through. */
export function roundHalfEven(v: number): number {
  if (!(Math.abs(v) < TWO_52)) return v;
  if (v >= 0) return (v + TWO_52) - TWO_52;
  const r = (v - TWO_52) + TWO_52;
  return r === 0 ? -0 : r;
}
