// Text sampled from a causal LM itself (temperature sampling from BOS): calibration or training data for a
// language model when no corpus is at hand. The model's interface is stories260K's: input_ids int64 [batch, seq] →
// logits [batch, seq, vocab]. Without a KV cache every new token re-runs the whole prefix, so `batch` sequences
// grow side by side in one run per position (the same arithmetic per token, far fewer session calls). Given a
// one-token decode step with a KV cache for the same model (`decodeStep`), each position costs one token's work.
import type { Model } from '../ir/model.js';
import { DataType } from '../ir/dtype.js';
import { tensorTypeOf } from '../ir/types.js';
import { Tensor } from '../ir/tensor.js';
import { createSession, fromOrtTensor, ort } from '../runtime/ort.js';
import { rng } from '../runtime/feeds.js';

export interface SamplingOptions {
  readonly count: number;
  /** Tokens per sequence, BOS included. */
  readonly length: number;
  readonly temperature?: number;
  /** Nucleus sampling (default 1: off): draw only from the most likely tokens whose mass reaches top_p. */
  readonly topP?: number;
  readonly seed?: number;
  readonly bos?: number;
  /** Sequences sampled side by side (default 1). Any batch size draws the same sequences from a seed. */
  readonly batch?: number;
  /** onnxruntime intra-op threads (default 1). */
  readonly threads?: number;
  /** Index of the first sequence to draw (default 0): the generator skips the draws of the ones before, so a sample
   *  of `from` sequences from the same seed is extended, not redrawn. */
  readonly from?: number;
  /** Called after each finished batch with the sequences done so far. */
  readonly onBatch?: (done: number) => void;
  /**
   * A one-token decode step of the same model with a KV cache, used in its place: input_ids int64 [B, 1],
   * position int64 [1] and past_* float [B, heads, P, headDim] in; logits [B, 1, vocab] and one present_* per
   * past_* (same suffix, one position longer) out.
   */
  readonly decodeStep?: Model;
}

/** Next-token logits of `rows` sequences that grow together, one token per call. */
interface Decoder {
  /** Logits [rows, vocab] of the token after each row's last; each call's rows are one token longer. */
  next(ids: readonly number[][]): Promise<Float32Array>;
}

export async function sampleSequences(model: Model, options: SamplingOptions): Promise<number[][]> {
  const { count, length } = options;
  if (!(Number.isInteger(count) && count >= 0)) throw new Error(`sampling needs a whole number of sequences, got ${count}`);
  if (!(Number.isInteger(length) && length >= 1)) throw new Error(`sampled sequences need a length of at least 1, got ${length}`);
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0)) throw new Error(`sampling temperature must be positive, got ${temperature}`);
  const topP = options.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new Error(`top_p must be in (0, 1], got ${topP}`);
  const from = options.from ?? 0;
  if (!(Number.isInteger(from) && from >= 0)) throw new Error(`sampling needs a whole number of sequences to skip, got ${from}`);
  const batch = Math.max(1, Math.min(options.batch ?? 1, count));
  const session = await createSession(options.decodeStep ?? model, options.threads === undefined ? {} : { threads: options.threads, optimization: 'all' });
  // One generator, drawn sequence after sequence (length − 1 draws each): row s starts where sequence s would
  // start when sampled alone, so the batch size never changes what is drawn.
  const next = rng(options.seed ?? 1);
  for (let skipped = 0; skipped < from * (length - 1); skipped++) next();
  const out: number[][] = [];
  try {
    for (let first = 0; first < count; first += batch) {
      const rows = Math.min(batch, count - first);
      const draws = Array.from({ length: rows }, () => Float64Array.from({ length: length - 1 }, next));
      const ids = Array.from({ length: rows }, () => [options.bos ?? 1]);
      const decoder = options.decodeStep ? cachedDecoder(session, options.decodeStep, rows) : prefixDecoder(session);
      for (let pos = 1; pos < length; pos++) {
        const values = await decoder.next(ids);
        const vocab = values.length / rows;
        for (let r = 0; r < rows; r++) ids[r].push(pickToken(values.subarray(r * vocab, (r + 1) * vocab), temperature, topP, draws[r][pos - 1]));
      }
      out.push(...ids);
      options.onBatch?.(out.length);
    }
  } finally {
    await session.release();
  }
  return out;
}

/** Re-runs every row's whole prefix and keeps the last position's logits. */
function prefixDecoder(session: ort.InferenceSession): Decoder {
  return {
    async next(ids) {
      const rows = ids.length, pos = ids[0].length;
      const input = new ort.Tensor('int64', BigInt64Array.from(ids.flat(), BigInt), [rows, pos]);
      const logits = fromOrtTensor(Object.values(await session.run({ input_ids: input }))[0] as ort.Tensor);
      const vocab = logits.dims[2], values = logits.toFloat32(), out = new Float32Array(rows * vocab);
      for (let r = 0; r < rows; r++) out.set(values.subarray((r * pos + pos - 1) * vocab, (r * pos + pos) * vocab), r * vocab);
      return out;
    },
  };
}

/** Feeds each row's newest token and the cache, and keeps the step's present_* as the next past_*. */
function cachedDecoder(session: ort.InferenceSession, step: Model, rows: number): Decoder {
  const pastInputs = step.graph.inputs.filter((i) => i.name.startsWith('past_'));
  if (pastInputs.length === 0) throw new Error('the decode step has no past_* inputs: it needs a KV cache');
  const outputs = new Set(step.graph.outputs.map((o) => o.name));
  const presentOf = (past: string): string => `present_${past.slice('past_'.length)}`;
  const missing = ['logits', ...pastInputs.map((i) => presentOf(i.name))].filter((name) => !outputs.has(name));
  if (missing.length) throw new Error(`the decode step lacks the output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  let cache: Record<string, ort.Tensor> = Object.fromEntries(pastInputs.map((i) => {
    const dims = tensorTypeOf(i.type)?.shape?.map((d, axis) => (axis === 0 ? rows : axis === 2 ? 0 : typeof d === 'number' ? d : NaN)) ?? [];
    if (dims.length !== 4 || dims.some(Number.isNaN)) throw new Error(`decode step input ${i.name} needs the shape [batch, heads, past, headDim] with numeric heads and headDim`);
    return [i.name, new ort.Tensor('float32', new Float32Array(0), dims)];
  }));
  return {
    async next(ids) {
      const pos = ids[0].length;
      const out = await session.run({
        ...cache,
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (row) => BigInt(row[pos - 1])), [rows, 1]),
        position: new ort.Tensor('int64', BigInt64Array.of(BigInt(pos - 1)), [1]),
      });
      cache = Object.fromEntries(pastInputs.map((i) => [i.name, out[presentOf(i.name)] as ort.Tensor]));
      return (out.logits as ort.Tensor).data as Float32Array;
    },
  };
}

/** The token whose softmax(row / temperature) mass, restricted to the top-p nucleus, covers the uniform draw `u`. */
function pickToken(row: Float32Array, temperature: number, topP: number, u: number): number {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  const weights = Array.from(row, (v) => Math.exp((v - max) / temperature));
  if (topP < 1) {
    const total = weights.reduce((a, b) => a + b, 0);
    const order = weights.map((_, i) => i).sort((a, b) => weights[b] - weights[a] || a - b);
    let mass = 0, kept = 0;
    while (kept < order.length && mass < topP * total) mass += weights[order[kept++]];
    for (const i of order.slice(kept)) weights[i] = 0;
  }
  let pick = u * weights.reduce((a, b) => a + b, 0);
  let token = 0;
  while (token < row.length - 1 && (pick -= weights[token]) > 0) token++;
  return token;
}

/**
 * Consecutive groups of `perRow` sequences joined end to end, as llama2.c packs TinyStories for training (each story
 * opens with BOS): long training rows at the sampling cost of short ones, which grows with the square of the length.
 * A last, incomplete group is dropped.
 */
export function packSequences(sequences: readonly number[][], perRow: number): number[][] {
  if (!(Number.isInteger(perRow) && perRow >= 1)) throw new Error(`sequences per row must be a positive integer, got ${perRow}`);
  const rows: number[][] = [];
  for (let i = 0; i + perRow <= sequences.length; i += perRow) rows.push(sequences.slice(i, i + perRow).flat());
  return rows;
}

/** Feeds of `input_ids` [1, len], one per sequence. */
export function sequenceFeeds(sequences: readonly number[][]): Array<Record<string, Tensor>> {
  return sequences.map((ids) => ({ input_ids: Tensor.fromArray(DataType.INT64, [1, ids.length], BigInt64Array.from(ids, BigInt)) }));
}

/** Equal-length sequences stacked into `input_ids` batches [rows, len] (the last batch may be smaller). */
export function sequenceBatches(sequences: readonly number[][], batch: number): Array<Record<string, Tensor>> {
  const out: Array<Record<string, Tensor>> = [];
  for (let i = 0; i < sequences.length; i += batch) {
    const rows = sequences.slice(i, i + batch);
    const len = rows[0].length;
    if (rows.some((r) => r.length !== len)) throw new Error('sequences in one batch must have the same length');
    out.push({ input_ids: Tensor.fromArray(DataType.INT64, [rows.length, len], BigInt64Array.from(rows.flat(), BigInt)) });
  }
  return out;
}
