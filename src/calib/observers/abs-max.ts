// abs_max (alias minmax / min_max): the smallest and largest value seen. A symmetric quantizer takes
// max(|min|, |max|), PaddleSlim's abs_max scale. Merge is min of mins and max of maxes: exact, associative and
// commutative, so any split of the batches merges to the single-pass range bit for bit.
import { type CalibRange, type Observer, type ObserverState, Bounds, assertMergeable, batchStats, expectAlgo } from './observer.js';

export class AbsMaxObserver implements Observer {
  static readonly algo = 'abs_max';
  readonly algo = AbsMaxObserver.algo;
  private bounds = new Bounds();

  get count(): number { return this.bounds.count; }
  get nonFinite(): number { return this.bounds.nonFinite; }

  observe(values: Float32Array): void {
    this.bounds.add(batchStats(values));
  }

  merge(other: Observer): this {
    assertMergeable(this, other, true);
    this.bounds.merge((other as AbsMaxObserver).bounds);
    return this;
  }

  range(): CalibRange {
    const b = this.bounds;
    return b.count === 0 ? { min: 0, max: 0 } : { min: b.min, max: b.max };
  }

  serialize(): ObserverState {
    return { algo: this.algo, ...this.bounds.toJSON() };
  }

  static deserialize(s: ObserverState): AbsMaxObserver {
    expectAlgo(s, AbsMaxObserver.algo);
    const o = new AbsMaxObserver();
    o.bounds = Bounds.fromJSON(s, AbsMaxObserver.algo);
    return o;
  }
}
