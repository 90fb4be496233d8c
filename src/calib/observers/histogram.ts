// The histogram behind hist, KL and mse: counts of |x| in `bins` bins of width 2^e, where e is the smallest
// exponent whose range [0, bins·2^e) holds the largest |x| seen. When a batch exceeds the range, e grows and
// adjacent bins merge (2^d old bins → 1 new bin). Because the width is a power of two, |x|·2^-e is exact, so a
// value's bin is floor(|x|·2^-e) no matter when the value arrived: after any batches the histogram is the one
// of all values at e = e(global abs max). Merging two histograms (bring both to the larger e, add counts) is
// therefore exact, associative and commutative, and every threshold computed from it is bitwise the single-pass one.
import {
  type CalibRange, type Observer, type ObserverState, Bounds, ObserverStateError, assertMergeable, batchStats, expectAlgo,
  nonNegativeInteger,
} from './observer.js';

export const DEFAULT_BINS = 2048;

const scratch = new DataView(new ArrayBuffer(8));

/** 2^e exactly, for e in the normal range [-1022, 1023]. */
export function pow2(e: number): number {
  scratch.setUint32(0, (e + 1023) << 20);
  scratch.setUint32(4, 0);
  return scratch.getFloat64(0);
}

/** The smallest e with a·2^-e < bins (a > 0 finite). */
export function exponentFor(a: number, bins: number): number {
  let e = Math.floor(Math.log2(a)) - Math.floor(Math.log2(bins));
  while (a * pow2(-e) >= bins) e++;
  while (a * pow2(1 - e) < bins) e--;
  return e;
}

export class AbsHistogram {
  readonly counts: Float64Array;
  /** log2 of the bin width; null while every value seen was 0 (zeros fall in bin 0 at any width). */
  exponent: number | null = null;

  constructor(readonly bins: number) {
    if (!Number.isInteger(bins) || bins < 2 || bins > 1 << 24) throw new Error(`histogram bins must be an integer in [2, 16777216], got ${bins}`);
    this.counts = new Float64Array(bins);
  }

  get binWidth(): number {
    return this.exponent === null ? 0 : pow2(this.exponent);
  }

  /** Coarsens to exponent `e` (≥ the current one) by merging 2^d adjacent bins. */
  private growTo(e: number): void {
    if (this.exponent === null) { this.exponent = e; return; }
    const d = e - this.exponent;
    if (d <= 0) return;
    rebin(this.counts, d);
    this.exponent = e;
  }

  /** Adds the finite values of a batch whose finite abs max is `absMax`. */
  add(values: Float32Array, absMax: number): void {
    if (absMax > 0) {
      const need = exponentFor(absMax, this.bins);
      if (this.exponent === null || need > this.exponent) this.growTo(need);
    }
    const inv = this.exponent === null ? 0 : pow2(-this.exponent);
    const counts = this.counts;
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      if (x - x !== 0) continue;
      counts[Math.floor(Math.abs(x) * inv)]++;
    }
  }

  merge(other: AbsHistogram): void {
    if (other.exponent === null) { this.counts[0] += sumOf(other.counts); return; }
    const e = this.exponent === null ? other.exponent : Math.max(this.exponent, other.exponent);
    this.growTo(e);
    const theirs = Float64Array.from(other.counts);
    rebin(theirs, e - other.exponent);
    for (let i = 0; i < this.bins; i++) this.counts[i] += theirs[i];
  }

  toJSON(): { bins: number; exponent: number | null; counts: number[] } {
    return { bins: this.bins, exponent: this.exponent, counts: Array.from(this.counts) };
  }

  static fromJSON(s: ObserverState, algo: string, count: number): AbsHistogram {
    const h = new AbsHistogram(nonNegativeInteger(s.bins, algo, 'bins'));
    if (s.exponent !== null && !(Number.isInteger(s.exponent) && Math.abs(s.exponent as number) <= 1000)) {
      throw new ObserverStateError(`${algo} observer state: 'exponent' must be an integer or null, got ${JSON.stringify(s.exponent)}`);
    }
    h.exponent = s.exponent as number | null;
    if (!Array.isArray(s.counts) || s.counts.length !== h.bins) throw new ObserverStateError(`${algo} observer state: 'counts' must hold ${h.bins} counts`);
    s.counts.forEach((c, i) => { h.counts[i] = nonNegativeInteger(c, algo, `counts[${i}]`); });
    if (sumOf(h.counts) !== count) throw new ObserverStateError(`${algo} observer state: the counts sum to ${sumOf(h.counts)}, not ${count}`);
    if (h.exponent === null && h.counts.some((c, i) => i > 0 && c > 0)) throw new ObserverStateError(`${algo} observer state: counts above bin 0 need an exponent`);
    return h;
  }
}

/** In place: bin i of the finer histogram goes to bin ⌊i / 2^d⌋. */
function rebin(counts: Float64Array, d: number): void {
  if (d <= 0) return;
  if (d >= 31) { const total = sumOf(counts); counts.fill(0); counts[0] = total; return; }
  for (let i = 1; i < counts.length; i++) {
    const c = counts[i];
    if (c === 0) continue;
    counts[i] = 0;
    counts[i >> d] += c;
  }
}

function sumOf(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/**
 * Observers whose range is a threshold t on |x| computed from the histogram: [-t, t] clipped to the values seen.
 * Subclasses compute `threshold()` from the histogram alone, so it inherits the histogram's merge exactness.
 */
export abstract class HistogramObserver implements Observer {
  abstract readonly algo: string;
  protected bounds = new Bounds();
  protected hist: AbsHistogram;
  private cached?: number;

  constructor(bins: number) {
    this.hist = new AbsHistogram(bins);
  }

  get count(): number { return this.bounds.count; }
  get nonFinite(): number { return this.bounds.nonFinite; }
  get histogram(): AbsHistogram { return this.hist; }

  /** The algorithm's options as they are serialized (also what two mergeable observers must agree on). */
  protected abstract options(): Record<string, number>;
  /** The threshold on |x| from the histogram (0 when every value was 0). */
  protected abstract computeThreshold(): number;

  /** The threshold on |x|, computed once per state. */
  threshold(): number {
    return (this.cached ??= this.computeThreshold());
  }

  observe(values: Float32Array): void {
    const s = batchStats(values);
    this.bounds.add(s);
    this.hist.add(values, s.absMax);
    this.cached = undefined;
  }

  merge(other: Observer): this {
    const o = other as HistogramObserver;
    assertMergeable(this, other, o.hist?.bins === this.hist.bins && JSON.stringify(o.options()) === JSON.stringify(this.options()));
    this.bounds.merge(o.bounds);
    this.hist.merge(o.hist);
    this.cached = undefined;
    return this;
  }

  range(): CalibRange {
    return this.bounds.count === 0 ? { min: 0, max: 0 } : this.bounds.clip(this.threshold());
  }

  serialize(): ObserverState {
    return { algo: this.algo, ...this.options(), ...this.bounds.toJSON(), ...this.hist.toJSON() };
  }

  /** Restores bounds and histogram into a freshly made observer (used by the subclasses' `deserialize`). */
  protected restore(s: ObserverState): this {
    expectAlgo(s, this.algo);
    this.bounds = Bounds.fromJSON(s, this.algo);
    this.hist = AbsHistogram.fromJSON(s, this.algo, this.bounds.count);
    return this;
  }
}
