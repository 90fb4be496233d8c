// The prune pass on real exports: stories260K's grouped-query attention and SwiGLU (after cleanup merges torch's
// per-head repeat), SqueezeNet's Fire modules (channels through Concat offsets), PP-OCRv4 det and rec (depthwise
// convs, residual branches, SE blocks). Each pruned model verifies, runs in onnxruntime-node and keeps its output
// shapes. Accuracy figures live in bench/prune.bench.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cleanup, compile, DataType, loadModel, prune, runModel, Tensor, type Model } from '../src/index.js';
import { findChannelGroups } from '../passes/prune.pass.js';
import { REAL_MODELS, SHARED_MODELS_DIR } from './helpers/paths.js';

const STORIES = path.join(SHARED_MODELS_DIR, 'stories260K/stories260K.onnx');
const SQUEEZENET = path.join(SHARED_MODELS_DIR, 'squeezenet1.0/squeezenet1.0.onnx');
const quiet = { print: () => {} };
const missing = (file: string) => !existsSync(file) && `${file} is not there`;

async function cleaned(file: string): Promise<Model> {
  return (await compile(await loadModel(file), [cleanup()], quiet)).model;
}

const ramp = (dims: number[]): Tensor => Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37)));

async function outputDims(m: Model, feed: Record<string, Tensor>): Promise<number[][]> {
  return Object.values(await runModel(m, feed)).map((t) => [...t.dims]);
}

test('prune: stories260K heads stay GQA-consistent (whole key/value heads with their query heads) and SwiGLU gate/up/down shrink together', { skip: missing(STORIES) }, async () => {
  const m = await cleaned(STORIES);
  const { groups } = findChannelGroups(m.graph, m);
  assert.deepEqual(groups.map((g) => `${g.kind}:${g.units}`), Array.from({ length: 5 }, () => ['heads:4', 'mlp:172']).flat());
  const { model: out } = await compile(m, [prune({ ratio: 0.25 })], { verify: true, print: () => {} });
  const heads = groups[0], ffn = groups[1];
  const dims = (name: string) => out.graph.initializers.get(name)!.dims;
  // 4 kv heads → 3: wq 64 → 48 columns (6 query heads of 8), wk/wv 32 → 24, wo 64 → 48 rows.
  assert.deepEqual(heads.slices.map((s) => dims(s.name)), [[64, 48], [64, 24], [64, 24], [48, 64]]);
  assert.deepEqual(ffn.slices.map((s) => dims(s.name)), [[64, 129], [64, 129], [129, 64]]);
  const ids = Tensor.fromArray(DataType.INT64, [2, 7], BigInt64Array.from({ length: 14 }, (_, i) => BigInt((i * 31) % 512)));
  assert.deepEqual(await outputDims(out, { input_ids: ids }), await outputDims(m, { input_ids: ids }));
});

test('prune: SqueezeNet expand branches are pruned through the Fire Concat into the next squeeze conv', { skip: missing(SQUEEZENET) }, async () => {
  const m = await loadModel(SQUEEZENET);
  const { groups, rejected } = findChannelGroups(m.graph, m);
  assert.equal(groups.length, 25);
  assert.deepEqual(rejected.map((r) => r.node), ['conv10_1'], 'only the classifier conv (a graph output through Softmax) stays');
  const e3 = groups.find((g) => g.label === 'fire2/expand3x3_1')!;
  assert.deepEqual(e3.slices.find((s) => s.name === 'fire3/squeeze1x1_w_0')!.runs, [{ offset: 64, length: 64 }], 'second half of the Concat');
  const { model: out } = await compile(m, [prune({ ratio: 0.25 })], { verify: true, print: () => {} });
  assert.deepEqual(out.graph.initializers.get('fire3/squeeze1x1_w_0')!.dims, [12, 96, 1, 1]);
  const feed = { data_0: ramp([1, 3, 224, 224]) };
  assert.deepEqual(await outputDims(out, feed), await outputDims(m, feed));
});

for (const [name, file, dims] of [['det', REAL_MODELS.ppocrDet, [1, 3, 160, 160]], ['rec', REAL_MODELS.ppocrRec, [1, 3, 48, 160]]] as const) {
  test(`prune: PP-OCRv4 ${name} at 0.125 verifies, runs and keeps its output shapes`, { skip: missing(file) }, async () => {
    const m = await cleaned(file);
    const { model: out, reports } = await compile(m, [prune({ ratio: 0.125 })], { verify: true, print: () => {} });
    const pruned = Object.keys(reports[0].notes).filter((k) => k.startsWith('conv ')).length;
    assert.ok(pruned >= 15, `${pruned} conv groups pruned`);
    const feed = { [m.graph.inputs[0].name]: ramp([...dims]) };
    assert.deepEqual(await outputDims(out, feed), await outputDims(m, feed));
  });
}
