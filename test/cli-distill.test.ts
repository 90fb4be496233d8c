// `onnx-slim distill` end to end through the real CLI: a pruned tiny GPT distilled from its unpruned self on .npy
// data and on text sampled from the teacher, an MLP student on test_data_set folders with a YAML config
// (Compress.Distillation + TrainConfig), and bad inputs, each a one-line error with no output file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataType } from '../src/ir/dtype.js';
import { GraphBuilder, makeModel } from '../src/ir/builder.js';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { loadModel } from '../src/io/load.js';
import { saveModel } from '../src/io/save.js';
import { encodeMessageTo } from '../src/proto/codec.js';
import { messageSpec } from '../src/proto/schema.js';
import { MemorySink } from '../src/proto/wire.js';
import { tensorToProto } from '../src/ir/convert.js';
import { compile } from '../src/passes/compile.js';
import { runModel } from '../src/runtime/ort.js';
import { addTallies, rate, type Tally, teacherAgreement } from '../src/train/metrics.js';
import { prune } from '../passes/prune.pass.js';
import { buildGpt, GPT_TINY, normalArray, randomInputIds } from './helpers/transformer.js';
import { writeNpy } from './helpers/npy.js';
import { packSequences, sampleSequences } from '../src/data/lm-sampling.js';
import { layerNormInputs } from '../src/cli/distill-hidden.js';
import { REPO_ROOT, SCRATCH_DIR } from './helpers/paths.js';

const CLI = path.join(REPO_ROOT, 'dist/src/cli/main.js');
const dir = path.join(SCRATCH_DIR, 'cli-distill');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const at = (name: string): string => path.join(dir, name);

interface Run { code: number | null; stdout: string; stderr: string }

function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking: the error cases run side by side. */
function cliAsync(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { encoding: 'utf8' }, (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

async function agreement(student: Model, teacher: Model, feeds: ReadonlyArray<Record<string, Tensor>>, output: string): Promise<number> {
  let tally: Tally = { hits: 0, total: 0 };
  for (const feed of feeds) tally = addTallies(tally, teacherAgreement((await runModel(student, feed))[output], (await runModel(teacher, feed))[output]));
  return rate(tally);
}

/** What the distilled file must be: the student's interface and weights' names, no teacher, loss or training parts. */
function assertPlainStudent(out: Model, student: Model): void {
  assert.deepEqual(out.graph.inputs.map((v) => v.name), student.graph.inputs.map((v) => v.name));
  assert.deepEqual(out.graph.outputs.map((v) => v.name), student.graph.outputs.map((v) => v.name));
  assert.deepEqual([...out.graph.initializers.keys()].sort(), [...student.graph.initializers.keys()].sort());
  assert.equal(out.graph.nodes.length, student.graph.nodes.length);
  const names = [...out.graph.nodes.flatMap((n) => [n.name, ...n.outputs]), ...out.graph.initializers.keys()];
  assert.ok(!names.some((n) => /^(teacher|distill|train)\//.test(n) || /\.(grad|next)$/.test(n)), 'no teacher, loss or gradient values');
}

// A tiny GPT with weights large enough that its argmax is not noise, and the same model with half its heads and
// FFN units pruned away.
const gpt = { ...GPT_TINY, seed: 3, std: 0.3 };
const teacherGpt = buildGpt(gpt);
const studentGpt = (await compile(teacherGpt, [prune({ ratio: 0.5 })], { print: () => {} })).model;
saveModel(teacherGpt, at('gpt-teacher.onnx'));
saveModel(studentGpt, at('gpt-student.onnx'));
mkdirSync(at('gpt-data'), { recursive: true });
const ids = randomInputIds(gpt.vocab, 64, 8, 11);
writeNpy(at('gpt-data/input_ids.npy'), '<i8', [64, 8], ids.toArray() as BigInt64Array);
const fresh = [0, 1, 2, 3].map((s) => ({ input_ids: randomInputIds(gpt.vocab, 8, 8, 100 + s) }));

test('distill: a pruned tiny GPT on .npy data gets closer to its teacher; the output is the plain student', async () => {
  const out = at('gpt-distilled.onnx');
  const r = cli('distill', at('gpt-student.onnx'), '--teacher', at('gpt-teacher.onnx'), '--data', at('gpt-data'), '--loss', 'kl_div',
    '--temperature', '2', '--epochs', '8', '--lr', '1e-2', '--batch', '8', '--seed', '1', '--threads', '1', '--progress', 'off', '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /onnx-slim distill: .* steps on 58 rows, .* held-out perplexity [\d.]+ -> [\d.]+/);
  const distilled = loadModel(out);
  assertPlainStudent(distilled, studentGpt);
  const before = await agreement(studentGpt, teacherGpt, fresh, 'logits'), after = await agreement(distilled, teacherGpt, fresh, 'logits');
  assert.ok(after > before + 0.1, `agreement with the teacher on unseen ids: ${before} -> ${after}`);
  const values = (m: Model, name: string): number[] => Array.from(m.graph.initializers.get(name)!.toFloat32());
  assert.notDeepEqual(values(distilled, 'lm_head.weight'), values(studentGpt, 'lm_head.weight'), 'weights were trained');
  // A table read only through Slice (the causal mask) is not a weight: it stays as it was.
  assert.deepEqual(values(distilled, 'transformer.causal_mask'), values(studentGpt, 'transformer.causal_mask'));
});

test('distill: sampling draws the same sequences at any batch size and extends a sample; packing joins them end to end', async () => {
  const one = await sampleSequences(teacherGpt, { count: 5, length: 7, seed: 9 });
  assert.deepEqual(await sampleSequences(teacherGpt, { count: 5, length: 7, seed: 9, batch: 3 }), one);
  assert.deepEqual(await sampleSequences(teacherGpt, { count: 3, length: 7, seed: 9, from: 2, batch: 2 }), one.slice(2));
  assert.ok(one.every((s) => s.length === 7 && s[0] === 1));
  assert.deepEqual(packSequences(one, 2), [[...one[0], ...one[1]], [...one[2], ...one[3]]]);
  // A nucleus of one token is greedy decoding, whatever the draws; top_p 1 is plain sampling.
  const greedy = await sampleSequences(teacherGpt, { count: 2, length: 7, seed: 9, topP: 1e-6 });
  assert.deepEqual(greedy, await sampleSequences(teacherGpt, { count: 2, length: 7, seed: 10, topP: 1e-6 }));
  assert.deepEqual(greedy, await sampleSequences(teacherGpt, { count: 2, length: 7, seed: 9, temperature: 0.01 }));
  assert.deepEqual(await sampleSequences(teacherGpt, { count: 5, length: 7, seed: 9, topP: 1 }), one);
  await assert.rejects(sampleSequences(teacherGpt, { count: 1, length: 7, topP: 0 }), /top_p must be in \(0, 1\], got 0/);
});

test('distill: --sample-from-teacher trains a causal LM on sequences the teacher writes', async () => {
  const out = at('gpt-sampled.onnx');
  const r = cli('distill', at('gpt-student.onnx'), '--teacher', at('gpt-teacher.onnx'), '--sample-from-teacher', '48', '--sample-length', '8',
    '--epochs', '6', '--lr', '1e-2', '--batch', '8', '--threads', '1', '--progress', 'off', '-o', out);
  assert.equal(r.code, 0, r.stderr);
  const distilled = loadModel(out);
  assertPlainStudent(distilled, studentGpt);
  const before = await agreement(studentGpt, teacherGpt, fresh, 'logits'), after = await agreement(distilled, teacherGpt, fresh, 'logits');
  assert.ok(after > before, `agreement with the teacher: ${before} -> ${after}`);
});

test('distill: --hidden adds MSE on the residual stream both models share, --ema keeps the averaged weights', async () => {
  const out = at('gpt-hidden.onnx');
  const r = cli('distill', at('gpt-student.onnx'), '--teacher', at('gpt-teacher.onnx'), '--data', at('gpt-data'), '--hidden', '2', '--ema', '0.9',
    '--epochs', '8', '--lr', '1e-2', '--batch', '8', '--seed', '1', '--threads', '1', '--progress', 'off', '-o', out);
  assert.equal(r.code, 0, r.stderr);
  // Every LayerNorm of the tiny GPT (two per block and the final one) reads the residual stream pruning kept.
  const shared = layerNormInputs(teacherGpt).length;
  assert.equal(shared, 2 * gpt.layers + 1);
  assert.match(r.stdout, new RegExp(`, ${shared} hidden-state MSE pairs, loss`));
  const distilled = loadModel(out);
  assertPlainStudent(distilled, studentGpt);
  const before = await agreement(studentGpt, teacherGpt, fresh, 'logits'), after = await agreement(distilled, teacherGpt, fresh, 'logits');
  assert.ok(after > before + 0.1, `agreement with the teacher on unseen ids: ${before} -> ${after}`);
});

/** x [1, 8] → MatMul → Add → act → MatMul → logits [1, 4]; `hidden` units. */
function mlp(hidden: number, seed: number, act = 'Relu', batch = 1): Model {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', DataType.FLOAT, [batch, 8]);
  const w = (name: string, dims: number[], s: number): string => b.initializer(name, Tensor.fromArray(DataType.FLOAT, dims, normalArray(dims[0] * (dims[1] ?? 1), 0.7, s)));
  const h = b.op(act, [b.op('Add', [b.op('MatMul', [x, w('w1', [8, hidden], seed)]), w('b1', [hidden], seed + 1)])]);
  b.output(b.op('MatMul', [h, w('w2', [hidden, 4], seed + 2)], {}, { name: 'head' }), DataType.FLOAT, [batch, 4]);
  return makeModel(b.build(), { opset: 17 });
}

const mlpTeacher = mlp(32, 1), mlpStudent = mlp(6, 7);
saveModel(mlpTeacher, at('mlp-teacher.onnx'));
saveModel(mlpStudent, at('mlp-student.onnx'));
saveModel(mlp(6, 7, 'Softplus'), at('mlp-softplus.onnx'));
saveModel(mlp(6, 7, 'Relu', 4), at('mlp-batch4.onnx'));
saveModel(mlp(32, 1, 'Relu', 4), at('mlp-teacher4.onnx'));
/** `count` test_data_set folders under `folder`, each one input of `batch` random rows. */
function writeSamples(folder: string, count: number, batch: number): void {
  for (let i = 0; i < count; i++) {
    mkdirSync(at(`${folder}/test_data_set_${i}`), { recursive: true });
    const sink = new MemorySink();
    encodeMessageTo(tensorToProto(Tensor.fromArray(DataType.FLOAT, [batch, 8], normalArray(8 * batch, 1, 500 + i)), {}), messageSpec('TensorProto'), sink);
    writeFileSync(at(`${folder}/test_data_set_${i}/input_0.pb`), sink.concat());
  }
}
writeSamples('mlp-data', 40, 1);
writeSamples('mlp4-data', 13, 4);
const mlpOutput = mlpStudent.graph.outputs[0].name;

test('distill: --config reads Compress.Distillation and TrainConfig (test_data_set folders, a fixed batch of 1)', async () => {
  const config = at('distill.yaml');
  writeFileSync(config, [
    'Compress:', '  Distillation:', `    Teacher: ${at('mlp-teacher.onnx')}`, '    distillation_loss_type: kl_div', '    T: 1', `    node: [${mlpOutput}]`,
    'TrainConfig:', '  epochs: 6', '  eval_iter: 20', '  learning_rate: 0.01', '  origin_metric: 0.5',
    '  optimizer_builder:', '    optimizer: { type: AdamW }', '    weight_decay: 0.0', '',
  ].join('\n'));
  const out = at('mlp-distilled.onnx');
  const r = cli('distill', at('mlp-student.onnx'), '--config', config, '--data', at('mlp-data'), '--threads', '1', '--progress', 'off', '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /216 steps on 36 rows, 3 tensors trained, .* held-out teacher agreement [\d.]+ -> [\d.]+ \(origin_metric 0.5\)/);
  const distilled = loadModel(out);
  assertPlainStudent(distilled, mlpStudent);
  const probe = Array.from({ length: 64 }, (_, i) => ({ x: Tensor.fromArray(DataType.FLOAT, [1, 8], normalArray(8, 1, 900 + i)) }));
  const before = await agreement(mlpStudent, mlpTeacher, probe, mlpOutput), after = await agreement(distilled, mlpTeacher, probe, mlpOutput);
  assert.ok(after > before + 0.15, `agreement with the teacher on unseen inputs: ${before} -> ${after}`);
});

test('distill: train_iter alone sets the length; a model that fixes batch 4 holds out whole batches', () => {
  writeFileSync(at('iter.yaml'), `Compress:\n  Distillation:\n    Teacher: ${at('mlp-teacher.onnx')}\nTrainConfig:\n  train_iter: 100\n`);
  const iter = cli('distill', at('mlp-student.onnx'), '--config', at('iter.yaml'), '--data', at('mlp-data'), '--threads', '1', '--progress', 'off', '-o', at('mlp-iter.onnx'));
  assert.equal(iter.code, 0, iter.stderr);
  assert.match(iter.stdout, /: 100 steps on 36 rows/, 'three epochs of 36 rows, cut at step 100');
  // 13 samples of 4 rows: a tenth (5) would split a batch, so 4 are held out; 48 to train on, 12 steps an epoch.
  const fixed = cli('distill', at('mlp-batch4.onnx'), '--teacher', at('mlp-teacher4.onnx'), '--data', at('mlp4-data'), '--epochs', '2', '--threads', '1', '--progress', 'off', '-o', at('mlp-batch4-out.onnx'));
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stdout, /: 24 steps on 48 rows, .* held-out teacher agreement/);
});

test('distill: when no step beats the untrained student on held-out rows, the student is written unchanged', () => {
  // Its own teacher: agreement starts at 100 %, so no checkpoint can beat the start.
  const out = at('mlp-self.onnx');
  const r = cli('distill', at('mlp-student.onnx'), '--data', at('mlp-data'), '--lr', '0.5', '--threads', '1', '--progress', 'off', '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /teacher agreement 1\.0000 -> 1\.0000 \(no step beat the untrained student, which is written unchanged\)/);
  for (const [name, t] of mlpStudent.graph.initializers) assert.deepEqual(loadModel(out).graph.initializers.get(name)!.toFloat32(), t.toFloat32(), name);
});

test('distill: bad inputs give one-line errors, a non-zero exit and no output file', async () => {
  mkdirSync(at('bad-data'), { recursive: true });
  writeNpy(at('bad-data/x.npy'), '<f4', [3, 8], new Float32Array(24));
  writeFileSync(at('bad.yaml'), 'TrainConfig:\n  optimizer_builder:\n    optimizer: { type: RMSProp }\n');
  writeFileSync(at('bad-ema.yaml'), 'TrainConfig:\n  ema_decay: 1.5\n');
  const student = at('mlp-student.onnx'), data = at('mlp-data');
  const cases: Array<[string[], RegExp]> = [
    [[at('missing.onnx'), '--data', data], /cannot read .*missing\.onnx: no such file$/],
    [[student, '--teacher', at('missing-teacher.onnx'), '--data', data], /cannot read .*missing-teacher\.onnx: no such file$/],
    [[student], /give the training inputs with --data <dir> or, for a causal LM, --sample-from-teacher <n>$/],
    [[student, '--data', at('gpt-data')], /no x\.npy for input 'x' \(found input_ids\.npy\)$/],
    [[student, '--data', at('nowhere')], /calibration data .*nowhere is not a folder$/],
    [[at('gpt-student.onnx'), '--data', at('bad-data')], /no input_ids\.npy for input 'input_ids'/],
    [[student, '--data', data, '--optimizer', 'rmsprop'], /option '--optimizer <kind>' argument 'rmsprop' is invalid/],
    [[student, '--data', data, '--lr', '-1'], /expected a positive number, got '-1'$/],
    [[student, '--data', data, '--batch', '4'], /--batch 4: the model fixes its batch dim to 1$/],
    [[at('mlp-batch4.onnx'), '--data', at('mlp4-data'), '--held-out', '5'], /--held-out 5: the model fixes its batch dim to 4, so rows are held out in multiples of 4$/],
    [[student, '--sample-from-teacher', '8'], /--sample-from-teacher needs a causal LM student/],
    [[student, '--data', data, '--config', at('bad.yaml')], /TrainConfig\.optimizer_builder\.optimizer\.type must be AdamW, SGD or Momentum, got "RMSProp"$/],
    [[at('mlp-softplus.onnx'), '--teacher', at('mlp-teacher.onnx'), '--data', data], /no gradient rule for op 'Softplus' \(node 'Softplus'\)$/],
    [[student, '--data', data, '--hidden', '1'], /--hidden: student and teacher share no LayerNorm or RMSNorm input by name/],
    [[student, '--data', data, '--ema', '1'], /expected a decay in \[0, 1\), got '1'$/],
    [[student, '--data', data, '--config', at('bad-ema.yaml')], /TrainConfig\.ema_decay must be a decay in \[0, 1\), got 1\.5$/],
  ];
  const runs = await Promise.all(cases.map(([args], i) => cliAsync('distill', ...args, '--progress', 'off', '-o', at(`bad-out-${i}.onnx`))));
  for (const [i, [args, expected]] of cases.entries()) {
    const r = runs[i], out = at(`bad-out-${i}.onnx`);
    assert.notEqual(r.code, 0, `${args.join(' ')} succeeded`);
    assert.match(r.stderr, /^onnx-slim: [^\n]*\n$/, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), expected);
    assert.ok(!existsSync(out), `no output after ${args.join(' ')}`);
  }
});
