// The KV-cache decode step bench/distill-llm samples with: built from stories260K's own weights, it must give the
// full model's logits at every position, and sampling through it must draw the same stories as re-running the
// prefix (same seed, same draws).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cleanup, compile, DataType, loadModel, runModel, Tensor } from '../src/index.js';
import { sampleSequences } from '../src/data/lm-sampling.js';
import { assertValid } from '../src/ir/verify.js';
import { createSession, ort } from '../src/runtime/ort.js';
import { llamaDecodeStep } from '../bench/lib/llama-decode.js';
import { STORIES_MODEL, validationStories } from './helpers/perplexity.js';

const skip = !existsSync(STORIES_MODEL) && `${STORIES_MODEL} is not there`;

test('llama decode step: stepping a story through the KV cache gives the full model\'s logits at every position', { skip }, async () => {
  const full = (await compile(loadModel(STORIES_MODEL), [cleanup()])).model;
  const step = llamaDecodeStep(full);
  assertValid(step);
  const stories = validationStories().slice(0, 2).map((s) => s.slice(0, 40));
  const rows = stories.length, len = stories[0].length;
  const [logits] = Object.values(await runModel(full, { input_ids: Tensor.fromArray(DataType.INT64, [rows, len], BigInt64Array.from(stories.flat(), BigInt)) }));
  const expected = logits.toFloat32(), vocab = logits.dims[2];
  const session = await createSession(step);
  let past: Record<string, ort.Tensor> = {};
  for (const i of step.graph.inputs.filter((v) => v.name.startsWith('past_'))) past[i.name] = new ort.Tensor('float32', new Float32Array(0), [rows, 4, 0, 8]);
  let worst = 0;
  for (let pos = 0; pos < len; pos++) {
    const out = await session.run({
      ...past, input_ids: new ort.Tensor('int64', BigInt64Array.from(stories, (s) => BigInt(s[pos])), [rows, 1]), position: new ort.Tensor('int64', BigInt64Array.of(BigInt(pos)), [1]),
    });
    past = Object.fromEntries(Object.keys(past).map((name) => [name, out[name.replace('past_', 'present_')] as ort.Tensor]));
    const got = out.logits.data as Float32Array;
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(got[r * vocab + v] - expected[(r * len + pos) * vocab + v]));
    }
  }
  await session.release();
  assert.ok(worst < 1e-3, `largest logit difference ${worst}`);
  assert.deepEqual(past['past_key.0'].dims, [rows, 4, len, 8]);
});

test('llama decode step: sampling through the cache draws the stories re-running the prefix draws', { skip }, async () => {
  const full = (await compile(loadModel(STORIES_MODEL), [cleanup()])).model;
  const options = { count: 6, length: 48, seed: 5, batch: 3 };
  const plain = await sampleSequences(full, options);
  const step = llamaDecodeStep(full);
  assert.deepEqual(await sampleSequences(full, { ...options, decodeStep: step }), plain);
  const withoutLogits = { ...step, graph: { ...step.graph, outputs: step.graph.outputs.filter((o) => o.name !== 'logits' && o.name !== 'present_key.4') } };
  await assert.rejects(sampleSequences(full, { ...options, decodeStep: withoutLogits }), /the decode step lacks the outputs logits, present_key\.4$/);
  await assert.rejects(sampleSequences(full, { ...options, decodeStep: full }), /the decode step has no past_\* inputs/);
});
