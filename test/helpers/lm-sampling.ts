// Text sampled from a causal LM itself (temperature sampling from BOS): calibration or training data for a
// language model when no corpus is at hand.
import { createSession, DataType, runModel, Tensor, type Model } from '../../src/index.js';
import { rng } from './feeds.js';

export interface SamplingOptions {
  readonly count: number;
  readonly length: number;
  readonly temperature?: number;
  readonly seed?: number;
  readonly bos?: number;
}

export async function sampleSequences(model: Model, options: SamplingOptions): Promise<number[][]> {
  const session = await createSession(model);
  const next = rng(options.seed ?? 1);
  const temperature = options.temperature ?? 1;
  const out: number[][] = [];
  for (let s = 0; s < options.count; s++) {
    const ids = [options.bos ?? 1];
    while (ids.length < options.length) {
      const input = Tensor.fromArray(DataType.INT64, [1, ids.length], BigInt64Array.from(ids, BigInt));
      const logits = Object.values(await runModel(session, { input_ids: input }))[0];
      const vocab = logits.dims[2];
      const row = logits.toFloat32().subarray((ids.length - 1) * vocab);
      let max = -Infinity;
      for (const v of row) if (v > max) max = v;
      const weights = Array.from(row, (v) => Math.exp((v - max) / temperature));
      let pick = next() * weights.reduce((a, b) => a + b, 0);
      let token = 0;
      while (token < vocab - 1 && (pick -= weights[token]) > 0) token++;
      ids.push(token);
    }
    out.push(ids);
  }
  await session.release();
  return out;
}

/** Feeds of `input_ids` [1, len], one per sequence. */
export function sequenceFeeds(sequences: readonly number[][]): Array<Record<string, Tensor>> {
  return sequences.map((ids) => ({ input_ids: Tensor.fromArray(DataType.INT64, [1, ids.length], BigInt64Array.from(ids, BigInt)) }));
}
