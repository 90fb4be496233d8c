// What every calibration observer is: a streaming, mergeable summary of the float values one tensor took over
// the calibration batches. Observers never keep the values themselves, only a fixed-size (or per-batch) summary,
// and their state is plain JSON so shards can run in workers or other processes and be merged afterwards.

/** The range a value is quantized to. */
export interface CalibRange {
  readonly min: number;
  readonly max: number;
}

/** An observer's state as plain JSON (numbers, arrays, null). `algo` names the observer that reads it back. */
export interface ObserverState {
  readonly algo: string;
  readonly [key: string]: unknown;
}

export interface Observer {
  /** Canonical algorithm name (PaddleSlim vocabulary). */
  readonly algo: string;
  /** Finite values observed so far (NaN and ±Infinity are skipped and counted in `nonFinite`). */
  readonly count: number;
  readonly nonFinite: number;
  /** Folds one batch in. The observer keeps no reference to `values`. */
  observe(values: Float32Array): void;
  /**
   * Folds in another observer of the same algorithm and options, as if this one had also observed the other's
   * batches after its own. Mutates `this` (not `other`) and returns it.
   */
  merge(other: Observer): this;
  /** The calibrated range; { min: 0, max: 0 } before any finite value. */
  range(): CalibRange;
  serialize(): ObserverState;
}

/** One pass over a batch: finite min / max / abs max and the counts. -0 is normalized to 0 (JSON has no -0). */
export interface BatchStats {
  readonly min: number;
  readonly max: number;
  readonly absMax: number;
  readonly finite: number;
  readonly nonFinite: number;
}

export function batchStats(values: Float32Array): BatchStats {
  let min = Infinity, max = -Infinity, finite = 0, nonFinite = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x - x !== 0) { nonFinite++; continue; } // NaN and ±Infinity
    finite++;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (finite === 0) return { min: Infinity, max: -Infinity, absMax: 0, finite, nonFinite };
  min += 0; max += 0;
  return { min, max, absMax: Math.max(-min, max) + 0, finite, nonFinite };
}

/** Running min / max / counts shared by every observer (JSON-safe: unset bounds serialize as null). */
export class Bounds {
  min = Infinity;
  max = -Infinity;
  count = 0;
  nonFinite = 0;

  add(s: BatchStats): void {
    if (s.min < this.min) this.min = s.min;
    if (s.max > this.max) this.max = s.max;
    this.count += s.finite;
    this.nonFinite += s.nonFinite;
  }

  merge(o: Bounds): void {
    if (o.min < this.min) this.min = o.min;
    if (o.max > this.max) this.max = o.max;
    this.count += o.count;
    this.nonFinite += o.nonFinite;
  }

  get absMax(): number {
    return this.count === 0 ? 0 : Math.max(-this.min, this.max) + 0;
  }

  /** The symmetric range [-t, t] clipped to what was seen (a ReLU output keeps min 0), as onnxruntime clips. */
  clip(t: number): CalibRange {
    if (this.count === 0) return { min: 0, max: 0 };
    return { min: Math.max(-t, this.min) + 0, max: Math.min(t, this.max) + 0 };
  }

  toJSON(): { min: number | null; max: number | null; count: number; nonFinite: number } {
    return { min: this.count ? this.min : null, max: this.count ? this.max : null, count: this.count, nonFinite: this.nonFinite };
  }

  static fromJSON(s: ObserverState, algo: string): Bounds {
    const b = new Bounds();
    b.count = nonNegativeInteger(s.count, algo, 'count');
    b.nonFinite = nonNegativeInteger(s.nonFinite, algo, 'nonFinite');
    if (b.count > 0) {
      b.min = finiteNumber(s.min, algo, 'min');
      b.max = finiteNumber(s.max, algo, 'max');
      if (b.min > b.max) throw new ObserverStateError(`${algo} observer state has min ${b.min} > max ${b.max}`);
    }
    return b;
  }
}

/** A serialized state that cannot be read back (wrong algorithm, missing or malformed fields). */
export class ObserverStateError extends Error {}

export function finiteNumber(v: unknown, algo: string, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ObserverStateError(`${algo} observer state: '${field}' must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

export function nonNegativeInteger(v: unknown, algo: string, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ObserverStateError(`${algo} observer state: '${field}' must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function expectAlgo(s: ObserverState, algo: string): void {
  if (s?.algo !== algo) throw new ObserverStateError(`expected a ${algo} observer state, got ${JSON.stringify(s?.algo)}`);
}

/** `other` must be the same kind of observer with the same options. */
export function assertMergeable(self: Observer, other: Observer, sameOptions: boolean): void {
  if (other.constructor !== self.constructor) throw new Error(`cannot merge a ${other.algo} observer into a ${self.algo} observer`);
  if (!sameOptions) throw new Error(`cannot merge ${self.algo} observers with different options`);
}
