// Perplexity of a causal LM (stories260K's interface: input_ids int64 [1, seq] → logits [1, seq, vocab]) on
// token sequences, as ../shared/models/README.md measures it: each story cut to the model's 512-token context,
// every token after the first predicted.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createSession, DataType, runModel, Tensor, type Model } from '../../src/index.js';
import { SHARED_MODELS_DIR } from './paths.js';

export const STORIES_MODEL = path.join(SHARED_MODELS_DIR, 'stories260K', 'stories260K.onnx');

export function validationStories(maxLength = 512): number[][] {
  const stories = JSON.parse(readFileSync(path.join(SHARED_MODELS_DIR, 'stories260K', 'valid_sample_8.tok512_ids.json'), 'utf8')) as number[][];
  return stories.map((s) => s.slice(0, maxLength));
}

export interface Perplexity {
  readonly perplexity: number;
  readonly meanNll: number;
  readonly tokens: number;
}

export async function perplexity(model: Model, stories: readonly number[][]): Promise<Perplexity> {
  const nlls = await tokenNlls(model, stories);
  const nll = nlls.reduce((a, t) => a + t.nll, 0);
  return { perplexity: Math.exp(nll / nlls.length), meanNll: nll / nlls.length, tokens: nlls.length };
}

/** Perplexity over the predicted tokens whose position in their story lies in each [edges[i], edges[i + 1]). */
export async function perplexityByPosition(model: Model, stories: readonly number[][], edges: readonly number[]): Promise<Perplexity[]> {
  const nlls = await tokenNlls(model, stories);
  return edges.slice(0, -1).map((from, i) => {
    const inRange = nlls.filter((t) => t.position >= from && t.position < edges[i + 1]);
    const nll = inRange.reduce((a, t) => a + t.nll, 0);
    return { perplexity: Math.exp(nll / inRange.length), meanNll: nll / inRange.length, tokens: inRange.length };
  });
}

/** The negative log-likelihood of every token after the first, with the position of the context's last token. */
async function tokenNlls(model: Model, stories: readonly number[][]): Promise<Array<{ position: number; nll: number }>> {
  const session = await createSession(model);
  const out: Array<{ position: number; nll: number }> = [];
  try {
    for (const ids of stories) {
      const input = Tensor.fromArray(DataType.INT64, [1, ids.length], BigInt64Array.from(ids, BigInt));
      const logits = Object.values(await runModel(session, { input_ids: input }))[0];
      const vocab = logits.dims[2];
      const values = logits.toFloat32();
      for (let t = 0; t + 1 < ids.length; t++) {
        const row = values.subarray(t * vocab, (t + 1) * vocab);
        let max = -Infinity;
        for (const v of row) if (v > max) max = v;
        let sum = 0;
        for (const v of row) sum += Math.exp(v - max);
        out.push({ position: t, nll: Math.log(sum) + max - row[ids[t + 1]] });
      }
    }
  } finally {
    await session.release();
  }
  return out;
}
