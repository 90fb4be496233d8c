// float32 tensors to float16, clamped into fp16's range the way onnxconverter-common does: magnitudes strictly
// between 0 and min_positive_val become ±min_positive_val (an epsilon of 1e-12 must not become 0), finite ones
// beyond max_finite_val become ±max_finite_val (a -1e9 mask stays a large negative, not -inf); 0, ±inf and NaN
// are kept. Each tensor object converts once (tied weights stay shared).
import { DataType, floatToHalf } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';

export interface HalfRange {
  readonly minPositive: number;
  readonly maxFinite: number;
}

const cache = new WeakMap<Tensor, Map<string, Tensor>>();

export function toFloat16(t: Tensor, range: HalfRange): Tensor {
  const key = `${range.minPositive}/${range.maxFinite}`;
  let byRange = cache.get(t);
  const hit = byRange?.get(key);
  if (hit) return hit;
  const src = t.toFloat32();
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = floatToHalf(clamp(src[i], range));
  const half = new Tensor(DataType.FLOAT16, t.dims, { kind: 'raw', bytes: new Uint8Array(out.buffer) }, t.rest);
  if (!byRange) cache.set(t, (byRange = new Map()));
  byRange.set(key, half);
  return half;
}

function clamp(x: number, { minPositive, maxFinite }: HalfRange): number {
  const a = Math.abs(x);
  if (a > 0 && a < minPositive) return Math.sign(x) * minPositive;
  if (a > maxFinite && a !== Infinity) return Math.sign(x) * maxFinite;
  return x;
}
