// moving_average_abs_max: PaddleSlim's moving average of the per-batch abs max (fake_quantize_moving_average_abs_max:
// state = rate·state + 1, accum = rate·accum + batch_abs_max, scale = accum / state, with state and accum starting
// at 1 as its quantization pass initializes them; rate 0.9).
//
// An EMA is order-dependent and folding partial EMAs does not round like the single pass, so the observer keeps
// the per-batch abs maxima (one number per batch, never the data) and folds them in `range()`. `merge(other)`
// appends other's batches after this one's: merging contiguous shards left to right in data order gives exactly
// the single-pass range, bit for bit (concatenation is associative; it is not commutative, nor is the EMA).
// Batches without a finite value are skipped. The result is clipped to the values seen, like the other observers.
import { type CalibRange, type Observer, type ObserverState, Bounds, ObserverStateError, assertMergeable, batchStats, expectAlgo, finiteNumber } from './observer.js';

export interface MovingAverageOptions {
  /** PaddleSlim's moving_rate. */
  readonly rate?: number;
}

export class MovingAverageAbsMaxObserver implements Observer {
  static readonly algo = 'moving_average_abs_max';
  readonly algo = MovingAverageAbsMaxObserver.algo;
  readonly rate: number;
  private bounds = new Bounds();
  private maxima: number[] = [];

  constructor(options: MovingAverageOptions = {}) {
    this.rate = options.rate ?? 0.9;
    if (!(this.rate >= 0 && this.rate <= 1)) throw new Error(`moving_average_abs_max rate must be in [0, 1], got ${this.rate}`);
  }

  get count(): number { return this.bounds.count; }
  get nonFinite(): number { return this.bounds.nonFinite; }
  /** Batches folded in so far (those with at least one finite value). */
  get batches(): number { return this.maxima.length; }

  observe(values: Float32Array): void {
    const s = batchStats(values);
    this.bounds.add(s);
    if (s.finite > 0) this.maxima.push(s.absMax);
  }

  merge(other: Observer): this {
    assertMergeable(this, other, (other as MovingAverageAbsMaxObserver).rate === this.rate);
    const o = other as MovingAverageAbsMaxObserver;
    this.bounds.merge(o.bounds);
    for (const m of o.maxima) this.maxima.push(m);
    return this;
  }

  /** The moving-average scale exactly as PaddleSlim's kernel updates it, batch by batch (before clipping). */
  scale(): number {
    let state = 1, accum = 1;
    for (const m of this.maxima) {
      state = this.rate * state + 1;
      accum = this.rate * accum + m;
    }
    return accum / state;
  }

  range(): CalibRange {
    return this.maxima.length === 0 ? { min: 0, max: 0 } : this.bounds.clip(this.scale());
  }

  serialize(): ObserverState {
    return { algo: this.algo, rate: this.rate, ...this.bounds.toJSON(), maxima: [...this.maxima] };
  }

  static deserialize(s: ObserverState): MovingAverageAbsMaxObserver {
    const algo = MovingAverageAbsMaxObserver.algo;
    expectAlgo(s, algo);
    const o = new MovingAverageAbsMaxObserver({ rate: finiteNumber(s.rate, algo, 'rate') });
    o.bounds = Bounds.fromJSON(s, algo);
    if (!Array.isArray(s.maxima)) throw new ObserverStateError(`${algo} observer state: 'maxima' must be an array`);
    o.maxima = s.maxima.map((m, i) => finiteNumber(m, algo, `maxima[${i}]`));
    return o;
  }
}
