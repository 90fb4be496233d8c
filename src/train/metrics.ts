// Evaluation metrics over output tensors, as tallies that add up over batches: top-1 accuracy against labels,
// agreement with a teacher's argmax, and perplexity from logits and token ids.
import type { Tensor } from '../ir/tensor.js';

/** Hits out of a total; `rate` is hits / total. */
export interface Tally {
  readonly hits: number;
  readonly total: number;
}

export const rate = (t: Tally): number => (t.total === 0 ? NaN : t.hits / t.total);

export function addTallies(a: Tally, b: Tally): Tally {
  return { hits: a.hits + b.hits, total: a.total + b.total };
}

/** Index of the largest value in each row of a [..., classes] tensor (first one on ties). */
export function argmaxRows(scores: Tensor): Int32Array {
  const classes = scores.dims[scores.dims.length - 1];
  if (!classes) throw new Error(`cannot take an argmax over a tensor of shape [${scores.dims}]`);
  const x = scores.toFloat32();
  const rows = x.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (x[r * classes + c] > x[r * classes + best]) best = c;
    out[r] = best;
  }
  return out;
}

/** Rows of `logits` ([N, classes]) whose argmax is the label (`labels`: N class indices, any integer type). */
export function top1(logits: Tensor, labels: Tensor): Tally {
  const predicted = argmaxRows(logits);
  const truth = labels.toNumbers();
  if (truth.length !== predicted.length) throw new Error(`top-1 needs one label per row: ${predicted.length} rows, ${truth.length} labels`);
  let hits = 0;
  for (let i = 0; i < truth.length; i++) if (predicted[i] === truth[i]) hits++;
  return { hits, total: truth.length };
}

/** Rows where the student's argmax is the teacher's. */
export function teacherAgreement(student: Tensor, teacher: Tensor): Tally {
  if (student.dims.join(',') !== teacher.dims.join(',')) throw new Error(`student [${student.dims}] and teacher [${teacher.dims}] outputs differ in shape`);
  const a = argmaxRows(student), b = argmaxRows(teacher);
  let hits = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) hits++;
  return { hits, total: a.length };
}

/** Summed negative log-likelihood and the tokens it covers; perplexity is exp(nll / tokens). */
export interface NllTally {
  readonly nll: number;
  readonly tokens: number;
}

export const perplexityOf = (t: NllTally): number => Math.exp(t.nll / t.tokens);

/**
 * Next-token NLL of a causal LM: logits [B, T, V] at position t score token t+1 of `ids` [B, T], so T−1 tokens per
 * row count (the first token has no prediction). Log-softmax in float64 with max subtraction.
 */
export function nextTokenNll(logits: Tensor, ids: Tensor): NllTally {
  const [b, t, v] = logits.dims;
  if (logits.dims.length !== 3 || ids.dims.length !== 2 || ids.dims[0] !== b || ids.dims[1] !== t) {
    throw new Error(`perplexity needs logits [B,T,V] and ids [B,T], got [${logits.dims}] and [${ids.dims}]`);
  }
  const x = logits.toFloat32();
  const tok = ids.toNumbers();
  let nll = 0;
  for (let r = 0; r < b; r++) {
    for (let p = 0; p + 1 < t; p++) {
      const base = (r * t + p) * v;
      let max = -Infinity;
      for (let c = 0; c < v; c++) max = Math.max(max, x[base + c]);
      let sum = 0;
      for (let c = 0; c < v; c++) sum += Math.exp(x[base + c] - max);
      const target = tok[r * t + p + 1];
      if (!(target >= 0 && target < v)) throw new Error(`token id ${target} is outside the vocabulary of ${v}`);
      nll += Math.log(sum) + max - x[base + target];
    }
  }
  return { nll, tokens: b * Math.max(0, t - 1) };
}
