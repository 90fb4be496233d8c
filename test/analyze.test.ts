// Per-layer sensitivity (`layerSensitivity` and `onnx-slim analyze`): a deliberately damaged layer ranks worst,
// identical models give infinite SQNR, values that cannot be compared are skipped and counted, and a real
// model's quantized layers are found.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cleanup, compile, DataType, GraphBuilder, loadModel, makeModel, quant, saveModel, Tensor, type Model } from '../src/index.js';
import { layerSensitivity } from '../src/cli/analyze.js';
import { randomFeeds, rng } from '../src/runtime/feeds.js';
import { buildBert, BERT_TINY, randomInputIds } from './helpers/transformer.js';
import { REAL_MODELS, REPO_ROOT, SCRATCH_DIR } from './helpers/paths.js';
import { writeNpy } from './helpers/npy.js';

const CLI = path.join(REPO_ROOT, 'dist/src/cli/main.js');
const dir = path.join(SCRATCH_DIR, 'analyze-test');

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function weights(seed: number, rows: number, cols: number, scale = 0.3): Tensor {
  const next = rng(seed);
  return Tensor.fromArray(DataType.FLOAT, [rows, cols], Float32Array.from({ length: rows * cols }, () => scale * (2 * next() - 1)));
}

/**
 * y = MatMul(Relu(MatMul(x, w1)), w2) + MatMul(x, w3): `damage` is added to 8 weights of w2 (node fc2). The skip
 * branch carries most of y's signal (10× the weights), so y inherits fc2's error at a better SQNR and fc2 ranks worst.
 */
function mlp(damage = 0, w2Cols = 8): Model {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [1, 16]);
  const w2 = weights(2, 16, w2Cols);
  const values = w2.toFloat32().slice();
  for (let i = 0; i < 8; i++) values[i * 17 % values.length] += damage;
  const r1 = b.op('Relu', [b.op('MatMul', [x, b.initializer('w1', weights(1, 16, 16))], {}, { name: 'fc1' })], {}, { name: 'relu' });
  const h2 = b.op('MatMul', [r1, b.initializer('w2', Tensor.fromArray(DataType.FLOAT, [16, w2Cols], values))], {}, { name: 'fc2' });
  const skip = b.op('MatMul', [x, b.initializer('w3', weights(3, 16, w2Cols, 3))], {}, { name: 'skip' });
  b.output(b.op('Add', [h2, skip], {}, { name: 'sum' }), DataType.FLOAT, [1, w2Cols]);
  return makeModel(b.build(), { opset: 17 });
}

const feeds = (model: Model, n: number): Array<Record<string, Tensor>> => Array.from({ length: n }, (_, k) => randomFeeds(model, { seed: 10 + k }));


const files = { model: path.join(dir, 'mlp.onnx'), damaged: path.join(dir, 'mlp.damaged.onnx'), calib: path.join(dir, 'calib') };

before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(files.calib, { recursive: true });
  saveModel(mlp(), files.model);
  saveModel(mlp(0.3), files.damaged);
  // x is declared [1,16]: a [6,16] file holds 6 samples.
  const next = rng(9);
  writeNpy(path.join(files.calib, 'x.npy'), '<f4', [6, 16], Float32Array.from({ length: 6 * 16 }, () => 2 * next() - 1));
});

test('a damaged layer ranks worst; the layers before it are exact', async () => {
  const model = mlp();
  const r = await layerSensitivity(model, mlp(0.3), feeds(model, 5), { onProgress: false });
  assert.equal(r.batches, 5);
  assert.deepEqual(r.skipped, []);
  const by = new Map(r.layers.map((l) => [l.node, l]));
  assert.equal(r.layers[0].node, 'fc2', r.layers.map((l) => `${l.node} ${l.sqnrDb}`).join(', '));
  assert.equal(r.layers[0].opType, 'MatMul');
  assert.ok(Number.isFinite(r.layers[0].sqnrDb) && r.layers[0].cosine < 1 && r.layers[0].maxAbsError > 0);
  // it adds the error itself: its inputs are exact
  assert.equal(r.layers[0].inputSqnrDb, Infinity);
  assert.equal(r.layers[0].elements, 5 * 8);
  assert.deepEqual(r.layers[0].shape, [1, 8]);
  for (const node of ['fc1', 'relu', 'skip']) {
    const l = by.get(node)!;
    assert.equal(l.sqnrDb, Infinity, node);
    assert.equal(l.cosine, 1, node);
    assert.equal(l.maxAbsError, 0, node);
  }
  // downstream layers inherit the error: finite, better than fc2, with fc2's figure as their input SQNR
  assert.ok(Number.isFinite(by.get('sum')!.sqnrDb) && by.get('sum')!.sqnrDb > by.get('fc2')!.sqnrDb);
  assert.equal(by.get('sum')!.inputSqnrDb, by.get('fc2')!.sqnrDb);
  assert.deepEqual(r.layers.map((l) => l.rewritten), [false, false, false, false, false]);
});

test('identical models: infinite SQNR, cosine 1 everywhere', async () => {
  const model = mlp();
  const r = await layerSensitivity(model, model, feeds(model, 2), { onProgress: false });
  assert.equal(r.layers.length, 5);
  for (const l of r.layers) {
    assert.equal(l.sqnrDb, Infinity, l.value);
    assert.equal(l.cosine, 1, l.value);
    assert.equal(l.maxAbsError, 0, l.value);
  }
  // ties keep graph order
  assert.deepEqual(r.layers.map((l) => l.node), ['fc1', 'relu', 'fc2', 'skip', 'sum']);
});

test('values whose shapes differ, non-float values, and models with nothing in common', async () => {
  const model = mlp();
  const r = await layerSensitivity(model, mlp(0, 4), feeds(model, 2), { onProgress: false });
  assert.deepEqual(r.skipped, ['fc2_out0', 'skip_out0', 'sum_out0'].map((value) => ({ value, reason: 'shape [1,8] in the float model, [1,4] in the quantized one' })));
  assert.equal(r.layers.length, 2);
  assert.ok(r.layers.every((l) => l.value !== 'fc2_out0'));

  const bert = buildBert({ ...BERT_TINY, seed: 3, batch: 1, seq: 'seq' });
  const { model: q } = await compile(bert, [cleanup(), quant()]);
  const s = await layerSensitivity(bert, q, [{ input_ids: randomInputIds(BERT_TINY.vocab, 1, 8, 1) }], { onProgress: false });
  assert.ok(s.skipped.length > 0 && s.skipped.every((x) => /^non-float \(int64|bool\)/.test(x.reason)), JSON.stringify(s.skipped));
  const rewritten = s.layers.filter((l) => l.rewritten);
  assert.ok(rewritten.length >= 12, `${rewritten.length} rewritten layers`);
  assert.ok(s.layers.every((l) => l.sqnrDb > 15), JSON.stringify(s.layers[0]));

  const other = new GraphBuilder();
  other.output(other.op('Relu', [other.input('x', DataType.FLOAT, [1, 16])], {}, { name: 'other' }), DataType.FLOAT, [1, 16]);
  await assert.rejects(layerSensitivity(model, makeModel(other.build()), feeds(model, 1), { onProgress: false }), /compute no value under the same name/);
  const ints = new GraphBuilder();
  ints.output(ints.op('Shape', [ints.input('x', DataType.FLOAT, [1, 16])], {}, { name: 'shape' }), DataType.INT64, [2]);
  const intModel = makeModel(ints.build());
  await assert.rejects(layerSensitivity(intModel, intModel, feeds(model, 1), { onProgress: false }), /share 1 value by name, none of them float/);
  const wide = new GraphBuilder();
  wide.output(wide.op('Relu', [wide.input('x', DataType.FLOAT, [1, 17])], {}, { name: 'fc1' }), DataType.FLOAT, [1, 17]);
  await assert.rejects(layerSensitivity(model, makeModel(wide.build()), feeds(model, 1), { onProgress: false }), /input 'x' is float\[1,16\] in the float model but float\[1,17\]/);
});

test('openwakeword quantized dynamically: the Gemm layers are the rewritten ones, and the first one adds its own error', async () => {
  const model = loadModel(REAL_MODELS.wakeword);
  const { model: q } = await compile(model, [cleanup(), quant()]);
  const r = await layerSensitivity(model, q, feeds(model, 3), { onProgress: false });
  const gemms = r.layers.filter((l) => l.opType === 'Gemm');
  assert.equal(gemms.length, 3);
  assert.ok(gemms.every((l) => l.rewritten && l.quantOpType !== 'Gemm'), JSON.stringify(gemms.map((l) => l.quantOpType)));
  assert.ok(r.layers.every((l) => l.sqnrDb > 15 && l.cosine > 0.99), JSON.stringify(r.layers[0]));
  assert.ok(gemms.some((l) => l.inputSqnrDb === Infinity && Number.isFinite(l.sqnrDb)));
  for (let i = 1; i < r.layers.length; i++) assert.ok(r.layers[i - 1].sqnrDb <= r.layers[i].sqnrDb);
});

test('analyze on the command line: --calib, --batch-num, --top, --json, one-line errors', () => {
  const r = cli('analyze', files.model, files.damaged, '--calib', files.calib, '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.batches, 6);
  assert.equal(report.layers.length, 5);
  assert.equal(report.layers[0].node, 'fc2');
  assert.equal(report.layers[0].inputSqnrDb, 'Infinity');
  assert.equal(report.layers.at(-1).sqnrDb, 'Infinity');

  const same = JSON.parse(cli('analyze', files.model, files.model, '--calib', files.calib, '--batch-num', '2', '--top', '3', '--json').stdout);
  assert.equal(same.batches, 2);
  assert.equal(same.layers.length, 3);
  assert.ok(same.layers.every((l: { sqnrDb: unknown; cosine: number }) => l.sqnrDb === 'Infinity' && l.cosine === 1));

  const text = cli('analyze', files.model, files.damaged, '--calib', files.calib, '--top', '2');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^5 values compared over 6 batches, worst first \(top 2\)$/m);
  assert.match(text.stdout.split('\n')[2], /^\s+-?\d+\.\d\s+inf\s+0\.\d{6}\s+\S+\s+MatMul\s+=\s+fc2\s+fc2_out0$/);

  for (const [args, pattern, code] of [
    [[files.model, files.damaged], /^onnx-slim: required option '--calib <dir>' not specified\n$/, 2],
    [[files.model, path.join(dir, 'nope.onnx'), '--calib', files.calib], /^onnx-slim: cannot read \S+nope\.onnx: no such file\n$/, 1],
    [[files.model, REAL_MODELS.wakeword, '--calib', files.calib], /^onnx-slim: the float model and the quantized model take different inputs \(x vs onnx::Flatten_0\)\n$/, 1],
    [[files.model, files.damaged, '--calib', dir], /^onnx-slim: calibration data \S+ has neither test_data_set_\* folders nor \.npy files\n$/, 1],
    [[files.model, files.damaged, '--calib', files.calib, '--quant-algo', 'KL'], /^onnx-slim: unknown option '--quant-algo'\n$/, 2],
  ] as const) {
    const e = cli('analyze', ...args);
    assert.equal(e.code, code, e.stderr);
    assert.match(e.stderr, pattern);
  }
});
