// Least-squares reconstruction of one sink (He et al. 2017, "Channel Pruning"; ThiNet): with y the unpruned sink's
// output (its kept channels) and s = [kept input features; 1] what the pruned sink reads, its kept weights and bias solve
//   min E‖y − [W'_K | c] s‖² + λ‖W'_K − W_K‖²   →   [W'_K | c] = (E[y sᵀ] + λ[W_K | 0]) · (E[s sᵀ] + λD)⁻¹,
// W_K the kept weights as they were, D the identity without the constant's entry (the bias is not pulled). The kept
// channels absorb what the removed ones carried, their correlation with the kept ones included, not just their
// mean; a large λ gives back mean compensation. The ridge pulls toward the unpruned weights rather than toward zero
// because with few calibration images a sink otherwise fits those images, not the data (measured on SqueezeNet).
// The target is read off the unpruned model's own output (no need for its inputs); moments stream in batch by
// batch, in Float64.
import type { ValueSink } from '../../src/calib/collect.js';
import type { FeatureReader, FeatureRows } from './features.js';
import { choleskyInPlace } from '../../src/linalg/cholesky.js';

/** Rows per accumulation block. */
const BLOCK = 32;

/** Σ s yᵀ and Σ s sᵀ over rows, s carrying a trailing constant 1. */
export class CrossMoments {
  /** (sources + 1) × targets, row b: Σ s_b y. */
  readonly cross: Float64Array;
  /** (sources + 1)², upper triangle. */
  readonly gram: Float64Array;
  rows = 0;

  constructor(readonly targets: number, readonly sources: number) {
    this.cross = new Float64Array((sources + 1) * targets);
    this.gram = new Float64Array((sources + 1) ** 2);
  }

  /** Adds the rows `rows` (indices, ascending) of `t` and `s`, or all of them. */
  add(t: FeatureRows, s: FeatureRows, rows?: Int32Array): void {
    const { targets: nt, sources: ns, cross, gram } = this;
    if (t.width !== nt || s.width !== ns || t.count !== s.count) {
      throw new Error(`reconstruction: rows of ${t.count}×${t.width} and ${s.count}×${s.width} where ${nt} and ${ns} features were expected`);
    }
    const n = ns + 1;
    const td = t.data, sd = s.data;
    const list = rows ?? Int32Array.from({ length: t.count }, (_, i) => i);
    // Blocks of rows: each accumulator row stays in cache while the block's rows update it (the matrices are MBs).
    for (let i0 = 0; i0 < list.length; i0 += BLOCK) {
      const i1 = Math.min(list.length, i0 + BLOCK);
      for (let b = 0; b < ns; b++) {
        const cr = b * nt, gr = b * n;
        for (let i = i0; i < i1; i++) {
          const r = list[i];
          const sb = sd[r * ns + b];
          if (sb === 0) continue; // post-ReLU inputs are about half zeros
          const to = r * nt, so = r * ns;
          for (let a = 0; a < nt; a++) cross[cr + a] += sb * td[to + a];
          for (let j = b; j < ns; j++) gram[gr + j] += sb * sd[so + j];
          gram[gr + ns] += sb;
        }
      }
      const cr = ns * nt;
      for (let i = i0; i < i1; i++) for (let a = 0, to = list[i] * nt; a < nt; a++) cross[cr + a] += td[to + a];
    }
    gram[ns * n + ns] += list.length;
    this.rows += list.length;
  }

  /** Adds `sign` × `other`'s moments into these (in place). */
  accumulate(other: CrossMoments, sign: 1 | -1 = 1): this {
    for (let i = 0; i < this.cross.length; i++) this.cross[i] += sign * other.cross[i];
    for (let i = 0; i < this.gram.length; i++) this.gram[i] += sign * other.gram[i];
    this.rows += sign * other.rows;
    return this;
  }

  copy(): CrossMoments {
    return new CrossMoments(this.targets, this.sources).accumulate(this);
  }
}

/** Where a sink's rows go: straight into moments, or split into cross-validation folds. */
export interface MomentSink {
  add(t: FeatureRows, s: FeatureRows): void;
}

/**
 * Targets (the unpruned sink's output) and sources (what the pruned sink reads: the unpruned model's input one-shot,
 * the pruned model's sequentially, run side by side) of the same batch. Whichever arrives first waits for the other
 * (one batch held, never more).
 */
export class PairedMoments {
  private pending?: { side: 'target' | 'source'; rows: FeatureRows };
  private batches = { target: 0, source: 0 };
  readonly target: ValueSink;
  readonly source: ValueSink;

  constructor(readonly moments: MomentSink, readTarget: FeatureReader, readSource: FeatureReader) {
    this.target = { observe: (v, d) => this.arrive('target', readTarget(v, d, this.batches.target++)) };
    this.source = { observe: (v, d) => this.arrive('source', readSource(v, d, this.batches.source++)) };
  }

  private arrive(side: 'target' | 'source', rows: FeatureRows): void {
    const other = this.pending;
    if (!other) { this.pending = { side, rows }; return; }
    if (other.side === side) throw new Error('reconstruction: two batches of one side arrived without the other');
    this.pending = undefined;
    const [t, s] = side === 'target' ? [rows, other.rows] : [other.rows, rows];
    this.moments.add(t, s);
  }
}

/** Several sinks reading one value. */
export class FanOut implements ValueSink {
  constructor(private readonly sinks: readonly ValueSink[]) {}
  observe(values: Float32Array, dims: readonly number[]): void {
    for (const s of this.sinks) s.observe(values, dims);
  }
}

/**
 * [W'_K | c] (row-major, one row per output of `outputs`, all by default; each sources + 1 long), the ridge pulling
 * W'_K toward `prior` (targets × sources: the kept weights as they were). λ = `ridge` × the mean of E[s²] over the
 * source features: scale-free, so one setting serves every layer. A Gram matrix that is still not positive definite
 * (dead inputs) retries with λ ten times larger.
 */
export function ridgeSolve(m: CrossMoments, prior: Float64Array, ridge: number, outputs?: readonly number[]): Float64Array {
  const { targets: nt, sources: ns } = m;
  const n = ns + 1;
  if (m.rows === 0) throw new Error('reconstruction: no calibration rows');
  const inv = 1 / m.rows;
  let diag = 0;
  for (let i = 0; i < ns; i++) diag += m.gram[i * n + i] * inv;
  const base = Math.max(diag / Math.max(ns, 1), 1e-12);
  const rows = outputs ?? Array.from({ length: nt }, (_, o) => o);
  for (let lambda = ridge * base; ; lambda *= 10) {
    const chol = cholesky(m.gram, n, inv, lambda, ns);
    if (chol) {
      // Right-hand sides E[y sᵀ] + λ[W_K | 0], one row per output.
      const rhs = new Float64Array(rows.length * n);
      rows.forEach((o, i) => {
        for (let b = 0; b < n; b++) rhs[i * n + b] = m.cross[b * nt + o] * inv + (b < ns ? lambda * prior[o * ns + b] : 0);
      });
      return solveRows(chol, rhs, rows.length, n);
    }
    if (lambda > base * 1e6) throw new Error('reconstruction: the calibration Gram matrix is singular even with a large ridge');
    if (lambda === 0) lambda = base / 10;
  }
}

/** Σ over rows of ‖y − x s‖² − ‖y‖² for the solved rows `x` of `outputs`, on moments `m` (unnormalized sums). */
export function squaredError(m: CrossMoments, x: Float64Array, outputs: readonly number[]): number {
  const { targets: nt, sources: ns, gram, cross } = m;
  const n = ns + 1;
  let loss = 0;
  outputs.forEach((o, i) => {
    const xo = i * n;
    for (let a = 0; a < n; a++) {
      if (x[xo + a] === 0) continue;
      // x G xᵀ from the upper triangle: the diagonal once, the rest twice.
      let acc = gram[a * n + a] * x[xo + a];
      for (let b = a + 1; b < n; b++) acc += 2 * gram[a * n + b] * x[xo + b];
      loss += x[xo + a] * (acc - 2 * cross[a * nt + o]);
    }
  });
  return loss;
}

/** Lower Cholesky factor of scale·gram (upper triangle stored) + λ on the first `ridged` diagonal entries; undefined when not positive definite. */
function cholesky(gram: Float64Array, n: number, scale: number, lambda: number, ridged: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    l[j * n + j] = gram[j * n + j] * scale + (j < ridged ? lambda : 0);
    for (let i = j + 1; i < n; i++) l[i * n + j] = gram[j * n + i] * scale; // symmetric: (i, j) is stored at (j, i)
  }
  return choleskyInPlace(l, n) ? l : undefined;
}

/** X with X · (L Lᵀ) = R, row by row (the system is symmetric). */
function solveRows(l: Float64Array, rhs: Float64Array, rows: number, n: number): Float64Array {
  const x = new Float64Array(rows * n);
  const y = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const off = r * n;
    for (let i = 0; i < n; i++) {
      let v = rhs[off + i];
      for (let k = 0; k < i; k++) v -= l[i * n + k] * y[k];
      y[i] = v / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let v = y[i];
      for (let k = i + 1; k < n; k++) v -= l[k * n + i] * x[off + k];
      x[off + i] = v / l[i * n + i];
    }
  }
  return x;
}
