// Choosing each sink's ridge by cross-validation on the calibration data itself (ridge 0): rows are split into
// folds by sample (image, sequence: rows of one image are far from independent), each candidate λ is solved on all
// folds but one and scored on the one left out, and the λ with the least held-out error wins. It costs 28 more
// solves per sink (minutes on PP-OCRv4 rec's 2520-feature convs), and measured it was no better overall than a fixed
// λ of 0.1 (bench/README.md), so it is an option, not the default.
import type { FeatureRows } from './features.js';
import { CrossMoments, type MomentSink, ridgeSolve, squaredError } from './lstsq.js';

const FOLDS = 4;
/** Candidate λ, as multiples of the mean E[s²]. */
const GRID = [0.01, 0.03, 0.1, 0.3, 1, 3, 10];
/** Outputs scored per candidate: enough to rank λ, cheap beside the final solve. */
const SCORED_OUTPUTS = 64;
/** λ when there are too few samples to hold one out (the pass's default). */
export const FALLBACK_RIDGE = 0.1;

/** Moments kept per fold (sample i goes to fold i mod FOLDS). */
export class FoldedMoments implements MomentSink {
  readonly folds: CrossMoments[];
  private samples = 0;

  constructor(targets: number, sources: number) {
    this.folds = Array.from({ length: FOLDS }, () => new CrossMoments(targets, sources));
  }

  add(t: FeatureRows, s: FeatureRows): void {
    const byFold: number[][] = this.folds.map(() => []);
    for (let r = 0; r < s.count; r++) byFold[(this.samples + (s.sample ? s.sample[r] : r)) % FOLDS].push(r);
    byFold.forEach((rows, k) => { if (rows.length) this.folds[k].add(t, s, Int32Array.from(rows)); });
    this.samples += s.samples;
  }

  total(): CrossMoments {
    return this.folds.reduce((acc, f) => acc.accumulate(f), new CrossMoments(this.folds[0].targets, this.folds[0].sources));
  }
}

/** The λ (a multiple, as ridgeSolve takes it) with the least held-out error; FALLBACK_RIDGE with fewer than two folds filled. */
export function crossValidatedRidge(m: FoldedMoments, prior: Float64Array): number {
  const used = m.folds.filter((f) => f.rows > 0);
  if (used.length < 2) return FALLBACK_RIDGE;
  const total = m.total();
  const nt = total.targets;
  const step = Math.max(1, Math.floor(nt / SCORED_OUTPUTS));
  const outputs = Array.from({ length: Math.ceil(nt / step) }, (_, i) => i * step);
  const trains = used.map((f) => total.copy().accumulate(f, -1));
  let best = FALLBACK_RIDGE, bestLoss = Infinity;
  for (const ridge of GRID) {
    let loss = 0;
    used.forEach((f, k) => { loss += squaredError(f, ridgeSolve(trains[k], prior, ridge, outputs), outputs); });
    if (loss < bestLoss) [best, bestLoss] = [ridge, loss];
  }
  return best;
}
