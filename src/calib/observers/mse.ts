// mse: the threshold t minimizing the expected squared quantization error over the |x| histogram, for the
// symmetric quantizer with qmax = 2^(bits-1) - 1 levels each side (step s = t / qmax, x ↦ min(round(x/s), qmax)·s).
// Candidates are the bin edges i·width up to the first above the largest value. Each bin's count is spread uniformly over the bin and the
// error integrated exactly (full quantization cells contribute s²/12 each, partial cells and the clipped tail in
// closed form). TensorRT's pytorch-quantization puts each count at its bin center instead, which misjudges the
// error once the step is near the bin width — here it often is, because the histogram's range follows the max.
import { type ObserverState, finiteNumber } from './observer.js';
import { DEFAULT_BINS, HistogramObserver } from './histogram.js';

export interface MseOptions {
  readonly bins?: number;
  /** Quantized width, signed symmetric: 8 → 127 levels each side. */
  readonly bits?: number;
}

/** ∫_lo^hi (x - c)² dx. */
const sq = (lo: number, hi: number, c: number): number => ((hi - c) ** 3 - (lo - c) ** 3) / 3;

/** ∫_a^b (Q(x) - x)² dx for Q rounding to multiples of s below t = qmax·s and clipping to t above. */
function errorIntegral(a: number, b: number, s: number, t: number): number {
  let err = 0;
  if (b > t) { err += sq(Math.max(a, t), b, t); b = t; }
  if (b <= a) return err;
  const jLo = Math.round(a / s), jHi = Math.round(b / s);
  if (jLo === jHi) return err + sq(a, b, jLo * s);
  err += sq(a, (jLo + 0.5) * s, jLo * s) + sq((jHi - 0.5) * s, b, jHi * s);
  return err + (jHi - jLo - 1) * (s ** 3 / 12);
}

export class MseObserver extends HistogramObserver {
  static readonly algo = 'mse';
  readonly algo = MseObserver.algo;
  readonly bits: number;

  constructor(options: MseOptions = {}) {
    super(options.bins ?? DEFAULT_BINS);
    this.bits = options.bits ?? 8;
    if (!Number.isInteger(this.bits) || this.bits < 2 || this.bits > 16) throw new Error(`mse bits must be an integer in [2, 16], got ${this.bits}`);
  }

  protected options(): Record<string, number> {
    return { bits: this.bits };
  }

  /** Expected squared error (summed over values) of every candidate: index i-1 ↔ threshold i·width (Infinity: not a candidate). */
  errors(): Float64Array {
    const { counts, bins } = this.hist;
    const w = this.hist.binWidth;
    const qmax = 2 ** (this.bits - 1) - 1;
    const nz: number[] = [];
    for (let k = 0; k < bins; k++) if (counts[k] !== 0) nz.push(k);
    // Bins wholly above t are clipped to t: mean error (c - t)² + w²/12 over a bin with center c, summed with
    // suffix sums of n, n·c and n·c², so each candidate loops only over the bins below it.
    const s0 = new Float64Array(bins + 1), s1 = new Float64Array(bins + 1), s2 = new Float64Array(bins + 1);
    for (let k = bins - 1; k >= 0; k--) {
      const n = counts[k], c = (k + 0.5) * w;
      s0[k] = s0[k + 1] + n; s1[k] = s1[k + 1] + n * c; s2[k] = s2[k + 1] + n * c * c;
    }
    // A threshold above the largest value quantizes like the one at it (ranges are clipped to the values seen),
    // so candidates stop at the first edge above the top non-empty bin.
    const top = nz.length ? nz[nz.length - 1] + 1 : 1;
    const out = new Float64Array(bins).fill(Infinity);
    for (let i = 1; i <= top; i++) {
      const t = i * w, s = t / qmax;
      let err = s2[i] - 2 * t * s1[i] + t * t * s0[i] + ((w * w) / 12) * s0[i];
      for (const k of nz) {
        if (k >= i) break;
        err += (counts[k] / w) * errorIntegral(k * w, (k + 1) * w, s, t);
      }
      out[i - 1] = err;
    }
    return out;
  }

  protected computeThreshold(): number {
    const h = this.hist;
    if (h.exponent === null) return 0;
    const err = this.errors();
    let best = 0;
    for (let i = 1; i < err.length; i++) if (err[i] < err[best]) best = i;
    return (best + 1) * h.binWidth;
  }

  static deserialize(s: ObserverState): MseObserver {
    return new MseObserver({ bins: finiteNumber(s.bins, this.algo, 'bins'), bits: finiteNumber(s.bits, this.algo, 'bits') }).restore(s);
  }
}
