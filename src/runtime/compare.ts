// Fidelity of one model's values against a reference's, accumulated batch by batch: only running sums are kept
// (in float64), so any number of batches costs one batch's memory. Used by `bench` (per output) and `analyze`
// (per layer).
import { DataType, isFloatType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { formatType, tensorTypeOf } from '../ir/types.js';
import { modelInputs } from '../calib/data.js';
import type { ort } from './ort.js';

/** What an accumulator reports. Non-finite figures are real answers: identical values have SQNR +Infinity. */
export interface Fidelity {
  /** Elements compared (all batches). */
  readonly elements: number;
  /** Cosine similarity of the flattened values (1 when both are all zeros). */
  readonly cosine: number;
  readonly maxAbsError: number;
  /** 10·log10(Σx² / Σ(x−x̂)²): +Infinity when equal, -Infinity when the reference is all zeros and the other is not. */
  readonly sqnrDb: number;
  /** Root mean square of the reference, to read maxAbsError against. */
  readonly refRms: number;
  /** Elements where one side is NaN or ±Infinity and the other is not the same. */
  readonly nonFinite: number;
}

/** Running sums of a reference x and an approximation x̂. */
export class ErrorAccumulator {
  private n = 0;
  private xx = 0;
  private yy = 0;
  private xy = 0;
  private ee = 0;
  private maxAbs = 0;
  private bad = 0;

  add(ref: ArrayLike<number>, got: ArrayLike<number>): void {
    if (ref.length !== got.length) throw new Error(`cannot compare ${ref.length} values with ${got.length}`);
    let xx = 0, yy = 0, xy = 0, ee = 0, maxAbs = this.maxAbs, bad = 0;
    for (let i = 0; i < ref.length; i++) {
      const x = ref[i], y = got[i];
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        // Equal infinities are agreement; anything else counts as a miss without poisoning the sums.
        if (!(x === y)) { bad++; maxAbs = Infinity; }
        continue;
      }
      const e = x - y;
      xx += x * x; yy += y * y; xy += x * y; ee += e * e;
      const a = Math.abs(e);
      if (a > maxAbs) maxAbs = a;
    }
    this.n += ref.length;
    this.xx += xx; this.yy += yy; this.xy += xy; this.ee += ee;
    this.maxAbs = maxAbs;
    this.bad += bad;
  }

  result(): Fidelity {
    const { xx, yy, xy, ee } = this;
    const cosine = xx === 0 && yy === 0 ? 1 : xx === 0 || yy === 0 ? 0 : Math.max(-1, Math.min(1, xy / Math.sqrt(xx * yy)));
    const sqnrDb = this.bad > 0 ? -Infinity : ee === 0 ? Infinity : xx === 0 ? -Infinity : 10 * Math.log10(xx / ee);
    return { elements: this.n, cosine, maxAbsError: this.maxAbs, sqnrDb, refRms: Math.sqrt(xx / Math.max(1, this.n)), nonFinite: this.bad };
  }
}

/** Agreement of the arg-max over the last axis (rows of `lastDim` values), accumulated over batches. */
export class Top1Accumulator {
  private rows = 0;
  private same = 0;

  constructor(readonly lastDim: number) {}

  add(ref: ArrayLike<number>, got: ArrayLike<number>): void {
    const d = this.lastDim;
    for (let r = 0; r + d <= ref.length; r += d) {
      if (argmax(ref, r, d) === argmax(got, r, d)) this.same++;
      this.rows++;
    }
  }

  /** Fraction of rows whose arg-max agrees (1 when there were no rows). */
  result(): { readonly rows: number; readonly agreement: number } {
    return { rows: this.rows, agreement: this.rows ? this.same / this.rows : 1 };
  }
}

function argmax(a: ArrayLike<number>, start: number, n: number): number {
  let best = start;
  for (let i = start + 1; i < start + n; i++) if (a[i] > a[best] || (a[best] !== a[best] && a[i] === a[i])) best = i;
  return best - start;
}

/** Outputs that look like class scores: float, rank ≥ 2, last dimension > 1. */
export function looksLikeScores(dims: readonly number[]): boolean {
  return dims.length >= 2 && dims[dims.length - 1] > 1;
}

/** The numbers of an onnxruntime tensor (a view for float32; int64 converted; strings are not comparable). */
export function numbersOf(t: ort.Tensor): ArrayLike<number> {
  const data = t.data as unknown;
  if (data instanceof Float32Array || data instanceof Float64Array) return data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float64Array.from(data, (v) => Number(v));
  if (t.type === 'float16') {
    // Node 20 has no Float16Array: onnxruntime hands back the raw uint16 halves.
    const h = data as Uint16Array;
    const out = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) out[i] = halfBits(h[i]);
    return out;
  }
  if (ArrayBuffer.isView(data)) return data as unknown as ArrayLike<number>;
  throw new Error(`cannot compare values of type ${t.type}`);
}

function halfBits(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export const isFloatOrt = (t: ort.Tensor): boolean => t.type === 'float32' || t.type === 'float64' || t.type === 'float16';

/** Why two models cannot take the same feeds (fed inputs, their element types or static dims differ), or undefined. */
export function inputMismatch(a: Model, b: Model, labels: readonly [string, string]): string | undefined {
  const [la, lb] = labels;
  const ia = modelInputs(a), ib = modelInputs(b);
  if (ia.length !== ib.length || ia.some((x) => !ib.some((y) => y.name === x.name))) {
    return `${la} and ${lb} take different inputs (${names(ia)} vs ${names(ib)})`;
  }
  for (const x of ia) {
    const y = ib.find((v) => v.name === x.name)!;
    const sameType = x.elemType === y.elemType || x.elemType === DataType.UNDEFINED || y.elemType === DataType.UNDEFINED;
    const sameDims = !x.shape || !y.shape || (x.shape.length === y.shape.length &&
      x.shape.every((d, i) => typeof d !== 'number' || typeof y.shape![i] !== 'number' || d === y.shape![i]));
    if (!sameType || !sameDims) {
      const typeOf = (m: Model): string => formatType(m.graph.inputs.find((v) => v.name === x.name)!.type);
      return `input '${x.name}' is ${typeOf(a)} in ${la} but ${typeOf(b)} in ${lb}`;
    }
  }
  return undefined;
}

/** Why two models' outputs cannot be compared one for one (names differ, or float against non-float), or undefined. */
export function outputMismatch(a: Model, b: Model, labels: readonly [string, string]): string | undefined {
  const [la, lb] = labels;
  const oa = a.graph.outputs, ob = b.graph.outputs;
  if (oa.length !== ob.length || oa.some((x) => !ob.some((y) => y.name === x.name))) {
    return `${la} and ${lb} have different outputs (${names(oa)} vs ${names(ob)})`;
  }
  for (const x of oa) {
    const y = ob.find((v) => v.name === x.name)!;
    const ta = tensorTypeOf(x.type), tb = tensorTypeOf(y.type);
    if (ta && tb && ta.elemType !== tb.elemType && !(isFloatType(ta.elemType) && isFloatType(tb.elemType))) {
      return `output '${x.name}' is ${formatType(x.type)} in ${la} but ${formatType(y.type)} in ${lb}`;
    }
  }
  return undefined;
}

const names = (xs: readonly { name: string }[]): string => xs.map((x) => x.name).join(', ') || 'none';

/** JSON.stringify that keeps ±Infinity and NaN as the strings "Infinity", "-Infinity", "NaN" (JSON has no such numbers). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2);
}
