// End to end on tiny models: the step graph's layout, a linear regression and a 2-class MLP trained to (near) zero
// loss, seeded determinism, and exporting the trained weights into a plain inference model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../src/ir/dtype.js';
import { GraphBuilder, makeModel } from '../src/ir/builder.js';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { assertValid } from '../src/ir/verify.js';
import { createSession, ort, runModel } from '../src/runtime/ort.js';
import { crossEntropy } from '../passes/distill/losses.js';
import { exportTrained } from '../src/train/export.js';
import { heNormal, normalSampler, zeros } from '../src/train/init.js';
import { withLossHead } from '../src/train/loss-head.js';
import { rate, top1 } from '../src/train/metrics.js';
import { batchesOf, permutation, rng } from '../src/train/shuffle.js';
import { buildStepGraph } from '../src/train/step-graph.js';
import { train, type TrainFeed } from '../src/train/trainer.js';

const f32 = (dims: number[], values: ArrayLike<number>): Tensor => Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from(values));

/** pred = x·W + b, x [N,3]. */
function linearModel(): Model {
  const g = new GraphBuilder('linear');
  const x = g.input('x', DataType.FLOAT, ['N', 3]);
  const pred = g.op('Add', [g.op('MatMul', [x, g.initializer('W', zeros([3, 1]))]), g.initializer('b', zeros([1]))]);
  g.output(pred, DataType.FLOAT, ['N', 1]);
  return makeModel(g.build(), { opset: 17 });
}

/** 2 → 16 → 2 with ReLU; `fc2.scale` is a frozen initializer multiplying the logits. */
function mlp(seed: number): { model: Model; logits: string } {
  const normal = normalSampler(rng(seed));
  const g = new GraphBuilder('mlp');
  const x = g.input('x', DataType.FLOAT, ['N', 2]);
  const h = g.op('Relu', [g.op('Add', [g.op('MatMul', [x, g.initializer('fc1.weight', heNormal([2, 16], 2, normal))]), g.initializer('fc1.bias', zeros([16]))])]);
  const z = g.op('Add', [g.op('MatMul', [h, g.initializer('fc2.weight', heNormal([16, 2], 16, normal))]), g.initializer('fc2.bias', zeros([2]))]);
  const logits = g.op('Mul', [z, g.initializer('fc2.scale', f32([], [2]))]);
  g.output(logits, DataType.FLOAT, ['N', 2]);
  return { model: makeModel(g.build(), { opset: 17 }), logits };
}

const MLP_TRAINABLE = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'];

/** XOR quadrants: label 1 where x0·x1 > 0. Points keep 0.1 from the axes so the classes are separable with margin. */
function xorData(n: number): { x: Float32Array; y: BigInt64Array } {
  const next = rng(11);
  const x = new Float32Array(2 * n), y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const a = (0.1 + 0.9 * next()) * (next() < 0.5 ? -1 : 1), b = (0.1 + 0.9 * next()) * (next() < 0.5 ? -1 : 1);
    x[2 * i] = a; x[2 * i + 1] = b; y[i] = a * b > 0 ? 1n : 0n;
  }
  return { x, y };
}

function mlpTraining(seed: number) {
  const { model, logits } = mlp(seed);
  const training = withLossHead(model, (ext) => crossEntropy(ext, logits, ext.input('labels', DataType.INT64, ['N'])));
  return { inference: model, logits, training };
}

const xor = xorData(64);

/** Shuffled batches of 16 from the XOR set, in an order drawn from the trainer's seeded generator. */
function xorBatches(_epoch: number, next: () => number): TrainFeed[] {
  return [...batchesOf(permutation(64, next), 16)].map((idx) => ({
    x: new ort.Tensor('float32', Float32Array.from([...idx].flatMap((i) => [xor.x[2 * i], xor.x[2 * i + 1]])), [idx.length, 2]),
    labels: new ort.Tensor('int64', BigInt64Array.from([...idx].map((i) => xor.y[i])), [idx.length]),
  }));
}

async function trainXor(seed: number, shuffleSeed: number) {
  const { training, logits } = mlpTraining(seed);
  const step = buildStepGraph(training.model, { loss: training.loss, trainable: MLP_TRAINABLE, optimizer: { kind: 'adamw', weightDecay: 1e-4 }, keepOutputs: [logits] });
  return { step, result: await train({ step, batches: xorBatches, epochs: 75, lr: 0.02, seed: shuffleSeed, threads: 1, progress: 'off' }) };
}

test('the step graph takes parameters and state as inputs and returns loss, parameters and state', () => {
  const { training } = mlpTraining(1);
  const step = buildStepGraph(training.model, { loss: training.loss, trainable: MLP_TRAINABLE, optimizer: { kind: 'adamw' }, clipNorm: 1 });
  assertValid(step.model);
  const g = step.model.graph;
  const inputs = g.inputs.map((v) => v.name), outputs = g.outputs.map((v) => v.name);
  for (const w of MLP_TRAINABLE) {
    assert.ok(!g.initializers.has(w), `${w} should no longer be an initializer`);
    for (const name of [w, `${w}.m`, `${w}.v`]) assert.ok(inputs.includes(name), `missing input ${name}`);
    for (const name of [`${w}.next`, `${w}.m.next`, `${w}.v.next`]) assert.ok(outputs.includes(name), `missing output ${name}`);
  }
  assert.ok(g.initializers.has('fc2.scale'), 'the frozen initializer stays an initializer');
  assert.equal(outputs[0], training.loss);
  assert.equal(outputs.length, 1 + 3 * MLP_TRAINABLE.length + 1, `outputs: ${outputs.join(', ')}`);
  assert.equal(step.gradNorm, 'grad_norm');
  assert.deepEqual([...step.dataInputs].sort(), ['labels', 'x']);
  assert.throws(() => buildStepGraph(training.model, { loss: training.loss, trainable: ['x'], optimizer: { kind: 'sgd' } }), /trainable 'x' is not an initializer of the model/);
  assert.throws(() => buildStepGraph(training.model, { loss: training.loss, trainable: MLP_TRAINABLE, optimizer: { kind: 'sgd' }, keepOutputs: ['nope'] }), /keepOutputs: 'nope' is not a value of the model/);
});

test('a linear regression trained with SGD + momentum reaches near-zero loss and the true weights', async () => {
  const next = rng(5);
  const truth = [1, -2, 0.5], bias = 0.3;
  const x = Float32Array.from({ length: 3 * 64 }, () => 2 * next() - 1);
  const y = Float32Array.from({ length: 64 }, (_, i) => truth[0] * x[3 * i] + truth[1] * x[3 * i + 1] + truth[2] * x[3 * i + 2] + bias);
  const model = linearModel();
  const pred = model.graph.outputs[0].name;
  const training = withLossHead(model, (ext) => {
    const diff = ext.op('Sub', [pred, ext.input('y', DataType.FLOAT, ['N', 1])]);
    return ext.op('ReduceMean', [ext.op('Mul', [diff, diff])], { keepdims: 0 });
  });
  const batches = [{ x: f32([64, 3], x), y: f32([64, 1], y) }];
  const result = await train({
    step: { model: training.model, loss: training.loss, trainable: ['W', 'b'], optimizer: { kind: 'sgd', momentum: 0.9 } },
    batches, epochs: 200, lr: 0.1, threads: 1, progress: 'off',
  });
  assert.equal(result.steps, 200);
  assert.ok(result.losses[result.steps - 1] < 1e-8, `final loss ${result.losses[result.steps - 1]}`);
  const w = result.params.get('W')!;
  truth.forEach((t, i) => assert.ok(Math.abs(w[i] - t) < 1e-3, `W[${i}] = ${w[i]}, want ${t}`));
  assert.ok(Math.abs(result.params.get('b')![0] - bias) < 1e-3);
});

test('a 2-class MLP learns XOR perfectly, and the same seed gives bit-identical parameters', async () => {
  const a = await trainXor(1, 42);
  const last = a.result.losses[a.result.steps - 1];
  assert.equal(a.result.steps, 75 * 4);
  assert.ok(last < 0.05, `final loss ${last}`);
  const b = await trainXor(1, 42);
  const c = await trainXor(1, 43);
  for (const w of MLP_TRAINABLE) assert.deepEqual(b.result.params.get(w), a.result.params.get(w), `${w} differs between identical runs`);
  assert.notDeepEqual(c.result.params.get('fc1.weight'), a.result.params.get('fc1.weight'), 'another shuffle seed should give other weights');

  // Export: a plain inference model (no loss, no labels input) with the trained weights, classifying XOR perfectly.
  const { inference } = mlpTraining(1);
  const exported = exportTrained(inference, a.result.params);
  assertValid(exported);
  assert.deepEqual(exported.graph.inputs.map((v) => v.name), ['x']);
  assert.equal(exported.graph.nodes.length, inference.graph.nodes.length);
  const xs = f32([64, 2], xor.x);
  const out = await runModel(exported, { x: xs });
  const logits = out[exported.graph.outputs[0].name];
  assert.equal(rate(top1(logits, Tensor.fromArray(DataType.INT64, [64], xor.y))), 1);

  // Its outputs are the step graph's forward pass on the same parameters (run with lr 0).
  const session = await createSession(a.step.model);
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', Float32Array.from(xor.x), [64, 2]), labels: new ort.Tensor('int64', xor.y, [64]),
    lr: new ort.Tensor('float32', Float32Array.of(0), []), step: new ort.Tensor('float32', Float32Array.of(1), []),
  };
  for (const p of a.step.params) {
    feeds[p.input] = new ort.Tensor('float32', a.result.params.get(p.name)!, [...p.dims]);
    for (const s of p.state) feeds[s.input] = new ort.Tensor('float32', new Float32Array(p.dims.reduce((x, y) => x * y, 1)), [...p.dims]);
  }
  const stepOut = await session.run(feeds);
  assert.deepEqual(Float32Array.from(stepOut[a.step.keepOutputs[0]].data as Float32Array), logits.toFloat32());
  await session.release();
});

test('keepBest keeps the parameters of the best evaluation', async () => {
  const { training } = mlpTraining(2);
  let calls = 0;
  // A metric that peaks at the second evaluation: the best checkpoint must be that one, not the last.
  const result = await train({
    step: { model: training.model, loss: training.loss, trainable: MLP_TRAINABLE, optimizer: { kind: 'adamw' } },
    batches: xorBatches, epochs: 5, lr: 0.01, threads: 1, progress: 'off', evalIter: 4,
    evaluate: () => [0.1, 0.9, 0.5, 0.2, 0.3][calls++],
  });
  assert.equal(calls, 5);
  assert.deepEqual(result.evals.map((e) => e.step), [4, 8, 12, 16, 20]);
  assert.equal(result.best?.step, 8);
  assert.equal(result.best?.metric, 0.9);
  assert.notDeepEqual(result.best?.params.get('fc1.weight'), result.params.get('fc1.weight'));
});

test('ema: evaluation, checkpoint and result are the moving average of the parameters after each step', async () => {
  const { training } = mlpTraining(4);
  const step = buildStepGraph(training.model, { loss: training.loss, trainable: MLP_TRAINABLE, optimizer: { kind: 'adamw' } });
  const run = (extra: { trainIter: number; ema?: number; evaluate?: (p: ReadonlyMap<string, Float32Array>) => number }) =>
    train({ step, batches: xorBatches, epochs: 5, lr: 0.05, threads: 1, progress: 'off', seed: 3, ...extra });
  // The trainer is deterministic, so the parameters after step t are those of a run stopped at t.
  const after = await Promise.all([1, 2, 3, 4, 5, 6].map(async (t) => (await run({ trainIter: t })).params));
  const decay = 0.5;
  const expected = new Map([...step.initial].map(([name, t]) => [name, t.toFloat32().slice()]));
  after.forEach((params, t) => {
    const keep = Math.min(decay, (1 + t) / (10 + t));
    for (const [name, avg] of expected) {
      const now = params.get(name)!;
      for (let i = 0; i < avg.length; i++) avg[i] = keep * avg[i] + (1 - keep) * now[i];
    }
  });
  const seen: Array<ReadonlyMap<string, Float32Array>> = [];
  const averaged = await run({ trainIter: 6, ema: decay, evaluate: (p) => { seen.push(p); return seen.length; } });
  for (const [name, avg] of expected) {
    assert.deepEqual(averaged.params.get(name), avg, name);
    assert.deepEqual(averaged.best?.params.get(name), avg, `${name} (best)`);
    assert.deepEqual(seen.at(-1)!.get(name), avg, `${name} (evaluated)`);
    assert.notDeepEqual(avg, after[5].get(name), `${name} differs from the last step's`);
  }
  // Checkpoints are copies: the average keeps moving after an evaluation without changing what was kept.
  assert.notDeepEqual(seen[0].get('fc1.weight'), seen.at(-1)!.get('fc1.weight'));
  await assert.rejects(run({ trainIter: 1, ema: 1 }), /moving-average decay must be in \[0, 1\), got 1/);
});

test('feeding the wrong inputs and exporting mismatched weights fail with one-line reasons', async () => {
  const { training, inference } = mlpTraining(3);
  const step = { model: training.model, loss: training.loss, trainable: MLP_TRAINABLE, optimizer: { kind: 'sgd' } as const };
  const bad = [{ x: f32([4, 2], new Float32Array(8)), label: Tensor.fromArray(DataType.INT64, [4], new BigInt64Array(4)) }];
  await assert.rejects(train({ step, batches: bad, lr: 0.1, threads: 1, progress: 'off' }), /batch 0 feeds 'label', which is not a data input of the step graph \(data inputs: x, labels\)/);
  await assert.rejects(train({ step, batches: [], lr: 0.1, threads: 1, progress: 'off' }), /no batch was fed/);
  assert.throws(() => exportTrained(inference, new Map([['fc9.weight', new Float32Array(4)]])), /'fc9.weight' is not an initializer of the inference model/);
  assert.throws(() => exportTrained(inference, new Map([['fc1.bias', new Float32Array(4)]])), /trained parameter 'fc1.bias' has 4 values, the initializer of shape \[16\] needs 16/);
});
