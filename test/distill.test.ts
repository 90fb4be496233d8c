// The distill pass on hand-made and real models: the documented loss mix (ratio × distill + (1 − ratio) × CE),
// teacher prefixing that never collides, If-branch captures renamed with their definitions, last_param_nodes on
// real models (a Softmax or Sigmoid tail skipped), MNIST and stories260K end to end with a self-teacher (KL 0),
// the PaddleSlim config vocabulary, and one-line errors for bad inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { produce } from 'immer';
// Modules imported one by one rather than through src/index.js, so these tests do not load every other pass.
import { DataType } from '../src/ir/dtype.js';
import { GraphBuilder, makeGraph, makeModel, makeNode, makeValueInfo } from '../src/ir/builder.js';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { loadModel } from '../src/io/load.js';
import { compile } from '../src/passes/compile.js';
import { runModel } from '../src/runtime/ort.js';
import { cleanup } from '../passes/cleanup.pass.js';
import { opset } from '../passes/opset.pass.js';
import { readConfig } from '../src/cli/config.js';
import { buildDistillModel, distill, lastParamValues, mergeTeacher, parsePairs } from '../passes/distill.pass.js';
import { REAL_MODELS, SCRATCH_DIR, SHARED_MODELS_DIR } from './helpers/paths.js';
import { rng } from './helpers/feeds.js';

const quiet = { print: () => {} };
const floats = (dims: number[], seed: number): Tensor => {
  const next = rng(seed);
  return Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => next() * 2 - 1));
};

/** x [2, 4] → MatMul → Add → Relu → MatMul → logits [2, 3] → Softmax → probs. */
function classifier(seed: number, opsetVersion = 17): Model {
  const b = new GraphBuilder('classifier');
  const x = b.input('x', DataType.FLOAT, [2, 4]);
  const h = b.op('Relu', [b.op('Add', [b.op('MatMul', [x, b.initializer('w1', floats([4, 5], seed))]), b.initializer('b1', floats([5], seed + 1))])]);
  const logits = b.op('MatMul', [h, b.initializer('w2', floats([5, 3], seed + 2))], {}, { name: 'head' });
  const probs = b.op('Softmax', [logits], { axis: -1 });
  b.output(probs, DataType.FLOAT, [2, 3]);
  return makeModel(b.build(), { opset: opsetVersion });
}

const x = floats([2, 4], 99);
const labels = Tensor.fromArray(DataType.INT64, [2], BigInt64Array.of(2n, 0n));

async function lossOf(model: Model, feeds: Record<string, Tensor>): Promise<number> {
  return (await runModel(model, feeds)).loss.toFloat32()[0];
}

test('distill: loss = ratio × KL + (1 − ratio) × CE with labels, = KL without; student outputs and weights untouched', async () => {
  const student = classifier(1), teacher = classifier(2);
  const build = (ratio: number, withLabels = true): Model => buildDistillModel(student, {
    teacher, T: 2, pairMode: 'last_param_nodes', distillLossRatio: ratio, ...(withLabels ? { labels: 'labels' } : {}),
  }).model;
  const feeds = { x, labels };
  const kl = await lossOf(build(1), feeds), ce = await lossOf(build(0), feeds);
  assert.ok(kl > 0 && ce > 0);
  const mixed = await lossOf(build(0.3), feeds);
  assert.ok(Math.abs(mixed - (0.3 * kl + 0.7 * ce)) < 1e-5, `${mixed} vs ${0.3 * kl + 0.7 * ce}`);
  assert.equal(await lossOf(build(0.3, false), { x }), kl);

  const result = buildDistillModel(student, { teacher, labels: 'labels' });
  assert.equal(result.labels, 'labels');
  assert.deepEqual([...result.frozen].sort(), ['teacher/b1', 'teacher/w1', 'teacher/w2']);
  for (const name of ['w1', 'b1', 'w2']) {
    assert.equal(result.model.graph.initializers.get(name), student.graph.initializers.get(name), 'student weights are the same objects');
    assert.equal(result.model.graph.initializers.get(`teacher/${name}`), teacher.graph.initializers.get(name), 'teacher weights are not copied');
  }
  assert.deepEqual(result.model.graph.outputs.map((o) => o.name), [student.graph.outputs[0].name, 'loss']);
  assert.equal(result.model.graph.nodes.slice(0, student.graph.nodes.length).every((n, i) => n === student.graph.nodes[i]), true);
});

test('distill: last_param_nodes picks the logits before Softmax; default pairs are the outputs; the loss output name stays fresh', () => {
  const student = classifier(1);
  assert.deepEqual(buildDistillModel(student, { pairMode: 'last_param_nodes' }).pairs, [{ student: 'head_out0', teacher: 'teacher/head_out0' }]);
  assert.deepEqual(buildDistillModel(student).pairs, [{ student: 'Softmax_out0', teacher: 'teacher/Softmax_out0' }]);
  const taken = produce(student, (d) => { d.graph.outputs[0].name = 'loss'; d.graph.nodes[d.graph.nodes.length - 1].outputs[0] = 'loss'; });
  const r = buildDistillModel(taken);
  assert.match(r.loss, /^loss_\d+$/);
  assert.deepEqual(r.model.graph.outputs.map((o) => o.name), ['loss', r.loss]);
});

test('distill: teacher names never collide with student names already prefixed teacher/', async () => {
  const b = new GraphBuilder('student');
  const inp = b.input('in', DataType.FLOAT, [3]);
  b.node('Neg', [inp], {}, { name: 'teacher/h' });
  const g = b.build();
  // Student values teacher/h and teacher/h_1; teacher values h and h_1 (and the student's own names, prefixed).
  const student = makeModel(makeGraph({ ...g, nodes: [makeNode('Neg', ['in'], ['teacher/h']), makeNode('Relu', ['teacher/h'], ['teacher/h_1']), makeNode('Abs', ['teacher/h_1'], ['out'])], outputs: [makeValueInfo('out', DataType.FLOAT, [3])] }));
  const teacher = makeModel(makeGraph({ inputs: g.inputs, nodes: [makeNode('Sigmoid', ['in'], ['h']), makeNode('Neg', ['h'], ['h_1']), makeNode('Exp', ['h_1'], ['out'])], outputs: [makeValueInfo('out', DataType.FLOAT, [3])] }));
  const merged = mergeTeacher(student, teacher);
  const defined = merged.model.graph.nodes.flatMap((n) => n.outputs);
  assert.equal(new Set(defined).size, defined.length, `duplicate names in ${defined}`);
  assert.deepEqual(Object.fromEntries(merged.teacherNames), { in: 'in', h: 'teacher/h_2', h_1: 'teacher/h_1_1', out: 'teacher/out' });
  const built = buildDistillModel(student, { teacher, loss: 'mse' });
  const { model } = await compile(built.model, [], { verify: true });
  const feed = { in: floats([3], 5) };
  const got = await runModel(model, feed);
  const s = (await runModel(student, feed)).out.toFloat32(), t = (await runModel(teacher, feed)).out.toFloat32();
  const mse = s.reduce((acc, v, i) => acc + (v - t[i]) ** 2, 0) / 3;
  assert.ok(Math.abs(got.loss.toFloat32()[0] - mse) < 1e-6);
});

test('distill: a teacher If branch that captures an outer value reads it under its new name', async () => {
  const branch = (op: string): ReturnType<typeof makeGraph> => makeGraph({
    name: op, inputs: [], nodes: [makeNode(op, ['h'], [`${op}_y`])], outputs: [makeValueInfo(`${op}_y`, DataType.FLOAT, [3])],
  });
  const inputs = [makeValueInfo('in', DataType.FLOAT, [3]), makeValueInfo('cond', DataType.BOOL, [])];
  const teacher = makeModel(makeGraph({
    inputs,
    nodes: [makeNode('Sigmoid', ['in'], ['h']), makeNode('If', ['cond'], ['y'], { then_branch: { type: 'graph', value: branch('Neg') }, else_branch: { type: 'graph', value: branch('Exp') } })],
    outputs: [makeValueInfo('y', DataType.FLOAT, [3])],
  }));
  // The student defines `h` too: the teacher's capture must not read the student's h.
  const student = makeModel(makeGraph({ inputs, nodes: [makeNode('Relu', ['in'], ['h']), makeNode('Abs', ['h'], ['y'])], outputs: [makeValueInfo('y', DataType.FLOAT, [3])] }));
  const built = buildDistillModel(student, { teacher, loss: 'mse' });
  const exposed = produce(built.model, (d) => { d.graph.outputs.push(makeValueInfo(built.pairs[0].teacher, DataType.FLOAT, [3]) as never); });
  const { model } = await compile(exposed, [], { verify: true });
  for (const c of [true, false]) {
    const feed = { in: floats([3], 7), cond: Tensor.fromArray(DataType.BOOL, [], Uint8Array.of(c ? 1 : 0)) };
    const merged = await runModel(model, feed), alone = await runModel(teacher, feed);
    assert.deepEqual(Array.from(merged[built.pairs[0].teacher].toFloat32()), Array.from(alone.y.toFloat32()));
    assert.deepEqual(Array.from(merged.y.toFloat32()), Array.from((await runModel(student, feed)).y.toFloat32()));
  }
});

test('distill: last_param_nodes on real models skips the Softmax / Sigmoid tail', (t) => {
  if (!existsSync(REAL_MODELS.ppocrCls)) return t.skip('PP-OCR models not installed');
  assert.deepEqual(lastParamValues(loadModel(REAL_MODELS.ppocrCls)), ['p2o.Add.87'], 'fc bias Add before the Softmax');
  assert.deepEqual(lastParamValues(loadModel(REAL_MODELS.ppocrDet)), ['p2o.Add.281'], 'ConvTranspose bias Add (a [1] bias) before the Sigmoid');
});

test('distill: MNIST CNN (IR 3, opset 7 → 13) with a self-teacher: KL 0, loss = (1 − ratio) × CE of the student', async (t) => {
  const file = path.join(SHARED_MODELS_DIR, 'mnist/mnist.onnx');
  if (!existsSync(file)) return t.skip('shared models not present');
  const mnist = loadModel(file);
  assert.deepEqual(lastParamValues(mnist), ['Plus214_Output_0'], 'the output Add reads the bias Parameter194');
  const { model, reports } = await compile(mnist, [opset({ target: 13 }), distill({ pair_mode: 'last_param_nodes', labels: 'labels', temperature: 2, distill_loss_ratio: 0.25 })], { verify: true, ...quiet });
  assert.equal(reports[1].notes.pairs, 'Plus214_Output_0:teacher/Plus214_Output_0');
  assert.equal(reports[1].notes['frozen teacher initializers'], mnist.graph.initializers.size);
  const image = floats([1, 1, 28, 28], 3);
  const out = await runModel(model, { Input3: image, labels: Tensor.fromArray(DataType.INT64, [1], BigInt64Array.of(7n)) });
  const logits = Array.from((await runModel(mnist, { Input3: image })).Plus214_Output_0.toFloat32());
  assert.deepEqual(Array.from(out.Plus214_Output_0.toFloat32()), logits);
  const max = Math.max(...logits);
  const ce = max + Math.log(logits.reduce((a, v) => a + Math.exp(v - max), 0)) - logits[7];
  assert.ok(Math.abs(out.loss.toFloat32()[0] - 0.75 * ce) < 1e-4 * ce, `${out.loss.toFloat32()[0]} vs ${0.75 * ce}`);
});

test('distill: stories260K after cleanup, self-teacher at T = 2: KL over [1, seq, vocab] logits is 0', async (t) => {
  const file = path.join(SHARED_MODELS_DIR, 'stories260K/stories260K.onnx');
  if (!existsSync(file)) return t.skip('shared models not present');
  const { model: lm } = await compile(loadModel(file), [cleanup()], quiet);
  assert.deepEqual(lastParamValues(lm), ['logits']);
  const { model } = await compile(lm, [distill({ temperature: 2 })], { verify: true, ...quiet });
  const out = await runModel(model, { input_ids: Tensor.fromArray(DataType.INT64, [1, 6], BigInt64Array.of(1n, 40n, 300n, 7n, 2n, 511n)) });
  assert.deepEqual(out.logits.dims, [1, 6, 512]);
  assert.equal(out.loss.toFloat32()[0], 0);
});

test('distill: PaddleSlim Compress.Distillation keys resolve to the pass options', () => {
  mkdirSync(SCRATCH_DIR, { recursive: true });
  const file = path.join(SCRATCH_DIR, 'distill-config.yaml');
  writeFileSync(file, 'Compress:\n  Distillation:\n    Teacher: fp32.onnx\n    distillation_loss_type: mse\n    T: 2\n    distill_loss_ratio: 0.7\n    node: [logits]\n');
  const config = readConfig(file, new Map([['distill', distill as never]]));
  assert.deepEqual(config.passes, ['distill']);
  const o = distill(config.options.get('distill') as never).options;
  assert.deepEqual({ ...o, teacher_model: undefined }, {
    teacher: 'fp32.onnx', teacher_model: undefined, loss: 'mse', temperature: 2, distill_loss_ratio: 0.7, pairs: ['logits'], pair_mode: 'outputs', labels: '',
  });
  assert.deepEqual(parsePairs(['logits', 'a:teacher_b']), [{ student: 'logits', teacher: 'logits' }, { student: 'a', teacher: 'teacher_b' }]);
});

test('distill: bad inputs give one-line errors', () => {
  const student = classifier(1);
  const renamedInput = produce(classifier(2), (d) => { d.graph.inputs[0].name = 'pixels'; d.graph.nodes[0].inputs[0] = 'pixels'; });
  const feat = (width: number): Model => {
    const b = new GraphBuilder();
    b.output(b.op('Relu', [b.input('x', DataType.FLOAT, [2, 4])]), DataType.FLOAT, [2, 4]);
    const g = b.build();
    return width === 4 ? makeModel(g) : makeModel(makeGraph({ ...g, nodes: [makeNode('MatMul', ['x', 'w'], [g.outputs[0].name])], initializers: { w: floats([4, width], 1) }, outputs: [makeValueInfo(g.outputs[0].name, DataType.FLOAT, [2, width])] }));
  };
  const withFloatLabels = produce(student, (d) => { d.graph.inputs.push(makeValueInfo('labels', DataType.FLOAT, [2]) as never); });
  const cases: Array<[() => unknown, RegExp]> = [
    [() => buildDistillModel(student, { teacher: renamedInput }), /teacher input 'pixels' is not an input of the student \(student inputs: x\)/],
    [() => buildDistillModel(student, { pairs: parsePairs(['nope:head_out0']) }), /the student has no value 'nope'/],
    [() => buildDistillModel(student, { pairs: parsePairs(['head_out0:nope']) }), /the teacher has no value 'nope'/],
    [() => parsePairs(['a:b:c']), /pair 'a:b:c' should read student_value:teacher_value/],
    [() => buildDistillModel(classifier(1, 11)), /student imports opset 11: run the opset pass first/],
    [() => buildDistillModel(student, { teacher: classifier(2, 16) }), /student imports ai.onnx opset 17 but the teacher 16/],
    [() => buildDistillModel(feat(4), { teacher: feat(6), loss: 'token_wise_contrastive' }), /needs equal feature widths: student 'Relu_out0' has 4, teacher 'teacher\/Relu_out0' has 6 \(no projection layer yet\)/],
    [() => buildDistillModel(feat(4), { teacher: feat(6), loss: 'kl_div' }), /kl_div compares 'Relu_out0' \[2,4\] with 'teacher\/Relu_out0' \[2,6\]: the shapes differ/],
    [() => buildDistillModel(withFloatLabels, { labels: 'labels' }), /labels input 'labels' must be int64 class ids, it is FLOAT/],
    [() => buildDistillModel(student, { labels: 'head_out0' }), /labels 'head_out0' already names a value of the student/],
    [() => distill({ loss: 'cosine' as never }), /option loss of pass distill expects one of kl_div, mse, token_wise_contrastive/],
    [() => distill({ temperature: 2, T: 3 } as never), /pass distill got option temperature twice \(as temperature and T\)/],
    [() => distill({ distill_loss_ratio: 1.5 }), /option distill_loss_ratio of pass distill expects a number in \[0, 1\]/],
  ];
  for (const [run, expected] of cases) {
    assert.throws(run, (e: Error) => {
      assert.match(e.message, expected);
      assert.ok(!e.message.includes('\n'), `multi-line: ${e.message}`);
      return true;
    });
  }
});

test('distill: a teacher path that does not exist is a one-line error from the pass', async () => {
  await assert.rejects(compile(classifier(1), [distill({ teacher: path.join(SCRATCH_DIR, 'missing-teacher.onnx') })], quiet), /cannot read .*missing-teacher\.onnx: no such file$/);
});
