// hist (hist_percent): PaddleSlim's histogram percentile. With the |x| histogram normalized, the first bin i where
// the cumulative share reaches hist_percent gives the threshold (i + 0.5)·width (PaddleSlim's
// `(hist_index - 0.5) * bin_width` with hist_index = i + 1). Cumulative counts are integers here, compared with
// hist_percent·total, so the choice does not depend on float summation order.
import { type ObserverState, finiteNumber } from './observer.js';
import { DEFAULT_BINS, HistogramObserver } from './histogram.js';

export interface HistOptions {
  readonly bins?: number;
  /** PaddleSlim's hist_percent, in (0, 1]. */
  readonly histPercent?: number;
}

export class HistObserver extends HistogramObserver {
  static readonly algo = 'hist';
  readonly algo = HistObserver.algo;
  readonly histPercent: number;

  constructor(options: HistOptions = {}) {
    super(options.bins ?? DEFAULT_BINS);
    this.histPercent = options.histPercent ?? 0.99999;
    if (!(this.histPercent > 0 && this.histPercent <= 1)) throw new Error(`hist_percent must be in (0, 1], got ${this.histPercent}`);
  }

  protected options(): Record<string, number> {
    return { histPercent: this.histPercent };
  }

  protected computeThreshold(): number {
    const h = this.hist;
    if (h.exponent === null) return 0;
    const target = this.histPercent * this.bounds.count;
    let cum = 0;
    for (let i = 0; i < h.bins; i++) {
      cum += h.counts[i];
      if (cum >= target) return (i + 0.5) * h.binWidth;
    }
    return h.bins * h.binWidth;
  }

  static deserialize(s: ObserverState): HistObserver {
    return new HistObserver({ bins: finiteNumber(s.bins, this.algo, 'bins'), histPercent: finiteNumber(s.histPercent, this.algo, 'histPercent') }).restore(s);
  }
}
