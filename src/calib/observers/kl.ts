// KL: TensorRT's entropy calibration, as onnxruntime's HistogramCollector.get_entropy_threshold (after MXNet's
// _get_optimal_threshold) computes it, on the one-sided |x| histogram TensorRT uses. For each candidate i from
// quantBins to bins: the reference P is bins [0, i) with everything above folded into bin i-1; the candidate Q
// merges bins [0, i) into quantBins groups of ⌊i / quantBins⌋ (the last group takes the remainder), spreads each
// group's count evenly over the group's bins where P is non-zero, both are smoothed (zeros get eps = 1e-4, taken
// off the non-zeros), and the divergence is sum P·log(P/Q) of the normalized distributions (scipy's entropy).
// The threshold is i·width for the first i with the smallest divergence.
// Where onnxruntime differs (it expands Q into an int64 array, truncating, and does not zero Q where P is zero)
// this follows MXNet and TensorRT, whose description onnxruntime cites.
import { type ObserverState, finiteNumber } from './observer.js';
import { DEFAULT_BINS, HistogramObserver } from './histogram.js';

export interface KLOptions {
  readonly bins?: number;
  /** Quantized levels on the |x| side: 128 for int8 (TensorRT, onnxruntime's num_quantized_bins), 255 for uint8. */
  readonly quantBins?: number;
}

const EPS = 1e-4;

export class KLObserver extends HistogramObserver {
  static readonly algo = 'KL';
  readonly algo = KLObserver.algo;
  readonly quantBins: number;

  constructor(options: KLOptions = {}) {
    super(options.bins ?? DEFAULT_BINS);
    this.quantBins = options.quantBins ?? 128;
    if (!Number.isInteger(this.quantBins) || this.quantBins < 2 || this.quantBins > this.hist.bins) {
      throw new Error(`KL quantBins must be an integer in [2, bins = ${this.hist.bins}], got ${this.quantBins}`);
    }
  }

  protected options(): Record<string, number> {
    return { quantBins: this.quantBins };
  }

  /** The divergence of every candidate i (index i - quantBins), for inspection and tests. */
  divergences(): Float64Array {
    const { counts, bins } = this.hist;
    const nq = this.quantBins;
    const out = new Float64Array(bins - nq + 1);
    const above = new Float64Array(bins + 1);
    for (let k = bins - 1; k >= 0; k--) above[k] = above[k + 1] + counts[k];
    const p = new Float64Array(bins);
    const q = new Float64Array(bins);
    for (let i = nq; i <= bins; i++) {
      p.set(counts.subarray(0, i));
      p[i - 1] += above[i];
      const width = Math.floor(i / nq);
      for (let j = 0; j < nq; j++) {
        const start = j * width;
        const stop = j === nq - 1 ? i : start + width;
        let sum = 0, nonzero = 0;
        for (let k = start; k < stop; k++) { sum += counts[k]; if (p[k] !== 0) nonzero++; }
        const v = nonzero === 0 ? 0 : sum / nonzero;
        for (let k = start; k < stop; k++) q[k] = p[k] !== 0 ? v : 0;
      }
      out[i - nq] = smoothedDivergence(p, q, i);
    }
    return out;
  }

  protected computeThreshold(): number {
    const h = this.hist;
    if (h.exponent === null) return 0;
    const kl = this.divergences();
    let best = 0;
    for (let k = 1; k < kl.length; k++) if (kl[k] < kl[best]) best = k;
    return Number.isFinite(kl[best]) ? (best + this.quantBins) * h.binWidth : h.bins * h.binWidth;
  }

  static deserialize(s: ObserverState): KLObserver {
    return new KLObserver({ bins: finiteNumber(s.bins, this.algo, 'bins'), quantBins: finiteNumber(s.quantBins, this.algo, 'quantBins') }).restore(s);
  }
}

/**
 * KL(P‖Q) over the first n entries after smoothing both (onnxruntime's smooth_distribution); Infinity where a
 * distribution is all zero or smoothing would leave a non-positive entry (where onnxruntime asserts).
 */
function smoothedDivergence(p: Float64Array, q: Float64Array, n: number): number {
  let pz = 0, qz = 0;
  for (let k = 0; k < n; k++) { if (p[k] === 0) pz++; if (q[k] === 0) qz++; }
  if (pz === n || qz === n) return Infinity;
  const pe = (EPS * pz) / (n - pz), qe = (EPS * qz) / (n - qz);
  let ps = 0, qs = 0;
  for (let k = 0; k < n; k++) {
    const a = p[k] === 0 ? EPS : p[k] - pe;
    const b = q[k] === 0 ? EPS : q[k] - qe;
    if (a <= 0 || b <= 0) return Infinity;
    ps += a; qs += b;
  }
  let kl = 0;
  for (let k = 0; k < n; k++) {
    const a = (p[k] === 0 ? EPS : p[k] - pe) / ps;
    const b = (q[k] === 0 ? EPS : q[k] - qe) / qs;
    kl += a * Math.log(a / b);
  }
  return kl;
}
