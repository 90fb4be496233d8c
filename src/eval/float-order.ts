// When a float reduction gives the same bits in every order. The spec leaves the order of a ReduceSum or
// ReduceProd open (numpy sums pairwise, onnxruntime vectorizes), so a float result is only exact when no
// partial result in any order rounds. These are cheap sufficient conditions over all the values.
import { DataType } from '../ir/dtype.js';

interface FloatFormat {
  readonly mantissaBits: number;
  readonly minNormal: number;
  readonly maxFinite: number;
}

const FORMATS: ReadonlyMap<DataType, FloatFormat> = new Map([
  [DataType.FLOAT, { mantissaBits: 24, minNormal: 2 ** -126, maxFinite: 3.4028234663852886e38 }],
  [DataType.DOUBLE, { mantissaBits: 53, minNormal: 2 ** -1022, maxFinite: Number.MAX_VALUE }],
]);

/** v · 2^k without overflowing the power itself (k reaches 1074 for double subnormals). */
function scaleByPowerOfTwo(v: number, k: number): number {
  let r = v;
  let rest = k;
  while (rest > 1000) { r *= 2 ** 1000; rest -= 1000; }
  while (rest < -1000) { r *= 2 ** -1000; rest += 1000; }
  return r * 2 ** rest;
}

/** |x| = odd · 2^exponent for finite nonzero x (doubling and halving are exact). */
function splitPowerOfTwo(x: number): { odd: number; exponent: number } {
  let odd = Math.abs(x);
  let exponent = 0;
  while (!Number.isInteger(odd)) { odd *= 2; exponent--; }
  while (odd % 2 === 0) { odd /= 2; exponent++; }
  return { odd, exponent };
}

const isFiniteNonZero = (v: number): boolean => Number.isFinite(v) && v !== 0;

/**
 * Every subset sum of the finite values is a multiple of the smallest power of two among them that needs at
 * most `mantissaBits` bits, so no partial sum rounds, whatever the order. (NaN and ±Inf give the same result
 * in any order once no finite partial sum can overflow.)
 */
export function sumIsOrderIndependent(values: ArrayLike<number>, t: DataType): boolean {
  const format = FORMATS.get(t);
  if (!format) return false;
  let lowest = Infinity;
  for (let i = 0; i < values.length; i++) if (isFiniteNonZero(values[i])) lowest = Math.min(lowest, splitPowerOfTwo(values[i]).exponent);
  if (lowest === Infinity) return true;
  let units = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) units += scaleByPowerOfTwo(Math.abs(values[i]), -lowest);
  return units <= 2 ** format.mantissaBits && scaleByPowerOfTwo(units, lowest) <= format.maxFinite;
}

/**
 * Every subset product of the finite nonzero values has an odd part dividing the product of all odd parts
 * (≤ 2^mantissaBits) and a magnitude between the product of the values below 1 and the product of those above
 * 1 (kept within the normal range), so no partial product rounds, whatever the order. Signs, zeros and
 * non-finite values combine the same in any order.
 */
export function productIsOrderIndependent(values: ArrayLike<number>, t: DataType): boolean {
  const format = FORMATS.get(t);
  if (!format) return false;
  let oddProduct = 1;
  let belowOne = 1;
  let aboveOne = 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!isFiniteNonZero(v)) continue;
    oddProduct *= splitPowerOfTwo(v).odd;
    if (Math.abs(v) < 1) belowOne *= Math.abs(v);
    else aboveOne *= Math.abs(v);
    if (oddProduct > 2 ** format.mantissaBits) return false;
  }
  return belowOne >= format.minNormal && aboveOne <= format.maxFinite;
}

/**
 * Min/Max pick the same element in any order unless both signed zeros are present (they compare equal) or a NaN
 * is (runtimes differ on whether it propagates).
 */
export function extremeIsOrderIndependent(values: ArrayLike<number>): boolean {
  let positiveZero = false;
  let negativeZero = false;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) return false;
    if (values[i] === 0) {
      if (Object.is(values[i], -0)) negativeZero = true;
      else positiveZero = true;
    }
  }
  return !(positiveZero && negativeZero);
}
