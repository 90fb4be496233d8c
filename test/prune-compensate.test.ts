// Compensation in the prune pass. Mean: removed channels that carry only a constant (zero weights, a nonzero bias
// through Relu) are replaced exactly by their mean folded into the consumer's bias — a MatMul sink without a bias
// gets an Add, a Conv sink without B gets one — while plain pruning changes the outputs. Least squares: removed
// channels that are linear combinations of kept ones are reproduced exactly (MatMul, Gemm, Conv with padding, strides,
// dilation, SAME_UPPER), sequential and one-shot; on calibration data it is never worse than mean compensation;
// cross-validation picks λ. Also: `skip` matches an unnamed producer by its first output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkContract, compile, DataType, GraphBuilder, makeModel, prune, runModel, Tensor, type Model } from '../src/index.js';
import { rng } from './helpers/feeds.js';
import { crossValidatedRidge, FoldedMoments } from '../passes/prune/ridge-cv.js';

const f32 = (dims: number[], values: ArrayLike<number>): Tensor => Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from(values));
const quiet = { print: () => {}, verify: true };
const wave = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(seed * 3.7 + i * 1.3));
/** Hidden channels 0, 1 read the input; 2, 3 read nothing (zero weights) and carry their bias: a constant 1 and 2. */
const HIDDEN_BIAS = [0.1, -0.1, 1, 2];

/** x [4, 3] → MatMul(fc1) + bias → Relu → MatMul(fc2, no bias) → y [4, 2]. */
function mlp(): Model {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', DataType.FLOAT, [4, 3]);
  const w1 = f32([3, 4], [3, -3, 0, 0, 2, 3, 0, 0, -3, 2, 0, 0]);
  const h = b.op('Add', [b.op('MatMul', [x, b.initializer('w1', w1)], {}, { name: 'fc1' }), b.initializer('b1', f32([4], HIDDEN_BIAS))]);
  const w2 = f32([4, 2], [2, -1, 1, 2, 0.3, -0.2, 0.1, 0.3]);
  b.output(b.op('MatMul', [b.op('Relu', [h]), b.initializer('w2', w2)], {}, { name: 'fc2' }), DataType.FLOAT, [4, 2]);
  return makeModel(b.build(), { opset: 17 });
}

/** x [1, 3, 6, 6] → Conv 1×1 (conv1, with bias) → Relu → Conv 3×3 (conv2, no bias, no padding) → y [1, 2, 4, 4]. */
function convs(): Model {
  const b = new GraphBuilder('conv');
  const x = b.input('x', DataType.FLOAT, [1, 3, 6, 6]);
  const w1 = f32([4, 3, 1, 1], [3, -2, 2, 2, 3, -3, 0, 0, 0, 0, 0, 0]);
  const c1 = b.op('Conv', [x, b.initializer('w1', w1), b.initializer('b1', f32([4], HIDDEN_BIAS))], {}, { name: 'conv1' });
  const w2 = f32([2, 4, 3, 3], wave(72, 1).map((v, i) => (Math.floor(i / 9) % 4 >= 2 ? v * 0.02 : v * 2)));
  b.output(b.op('Conv', [b.op('Relu', [c1]), b.initializer('w2', w2)], {}, { name: 'conv2' }), DataType.FLOAT, [1, 2, 4, 4]);
  return makeModel(b.build(), { opset: 17 });
}

const feedsOf = (dims: number[], count: number): Array<Record<string, Tensor>> =>
  Array.from({ length: count }, (_, k) => ({ x: f32(dims, wave(dims.reduce((a, b) => a * b, 1), k + 1)) }));

async function compare(m: Model, dims: number[]): Promise<{ compensated: Model; plain: Model; notes: Readonly<Record<string, number | string>>; exact?: string; plainDiff?: string }> {
  const calib = feedsOf(dims, 3);
  const plain = (await compile(m, [prune({ ratio: 0.5 })], quiet)).model;
  const { model: compensated, reports } = await compile(m, [prune({ ratio: 0.5, calib_data: calib })], quiet);
  const feed = feedsOf(dims, 5)[4];
  const [ref, a, b] = [await runModel(m, feed), await runModel(compensated, feed), await runModel(plain, feed)];
  const contract = { kind: 'allclose', rtol: 1e-5, atol: 1e-5 } as const;
  return { compensated, plain, notes: reports[0].notes, exact: checkContract(contract, ref, a), plainDiff: checkContract(contract, ref, b) };
}

test('prune compensate: a MatMul sink without bias gets an Add holding the removed constants; outputs stay allclose', async () => {
  const m = mlp();
  const r = await compare(m, [4, 3]);
  assert.equal(r.compensated.graph.initializers.get('w2')!.dims[0], 2, 'half the hidden units went');
  assert.equal(r.exact, undefined, 'compensated outputs match the unpruned model');
  assert.notEqual(r.plainDiff, undefined, 'without compensation the constants are lost');
  const add = r.compensated.graph.nodes.find((n) => n.opType === 'Add' && n.outputs[0] === m.graph.outputs[0].name);
  assert.ok(add, 'the MatMul sink got a bias Add');
  assert.deepEqual([...r.compensated.graph.initializers.get(add.inputs[1])!.toFloat32()].map((v) => +v.toFixed(5)), [0.5, 0.4]);
  assert.match(String(r.notes.compensated), /^1 of 1 /);
});

test('prune compensate: a Conv sink gets a B input summing the kernel taps; without data nothing is compensated', async () => {
  const m = convs();
  const r = await compare(m, [1, 3, 6, 6]);
  const conv2 = r.compensated.graph.nodes.find((n) => n.name === 'conv2')!;
  assert.equal(conv2.inputs.length, 3, 'conv2 got a bias');
  assert.equal(r.exact, undefined);
  assert.notEqual(r.plainDiff, undefined);
  assert.equal(r.plain.graph.nodes.find((n) => n.name === 'conv2')!.inputs.length, 2, 'no data: no bias added');
});

test('prune compensate: a Gemm sink (transB, alpha 1.5, beta 0.5) without C gets one', async () => {
  const b = new GraphBuilder('gemm');
  const x = b.input('x', DataType.FLOAT, [4, 3]);
  const w1 = f32([3, 4], [3, -3, 0, 0, 2, 3, 0, 0, -3, 2, 0, 0]);
  const h = b.op('Relu', [b.op('Gemm', [x, b.initializer('w1', w1), b.initializer('b1', f32([4], HIDDEN_BIAS))], {}, { name: 'fc1' })]);
  const w2 = f32([2, 4], [2, 1, 0.3, 0.1, -1, 2, -0.2, 0.3]);
  b.output(b.op('Gemm', [h, b.initializer('w2', w2)], { transB: 1, alpha: 1.5, beta: 0.5 }, { name: 'fc2' }), DataType.FLOAT, [4, 2]);
  const r = await compare(makeModel(b.build(), { opset: 17 }), [4, 3]);
  assert.equal(r.compensated.graph.nodes.find((n) => n.name === 'fc2')!.inputs.length, 3, 'fc2 got a C');
  assert.equal(r.exact, undefined);
  assert.notEqual(r.plainDiff, undefined);
});

test('prune compensate: compensate false leaves the pruned model as without data', async () => {
  const m = mlp();
  const off = (await compile(m, [prune({ ratio: 0.5, compensate: false, calib_data: feedsOf([4, 3], 2) })], quiet)).model;
  assert.equal(off.graph.nodes.length, m.graph.nodes.length);
});

test('prune: skip matches an unnamed producer by its first output name', async () => {
  const b = new GraphBuilder('unnamed');
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const h = b.op('Relu', [b.op('MatMul', [x, b.initializer('w1', f32([3, 4], wave(12, 1)))])]);
  b.output(b.op('MatMul', [h, b.initializer('w2', f32([4, 2], wave(8, 2)))]), DataType.FLOAT, [2, 2]);
  const named = makeModel(b.build(), { opset: 17 });
  const m: Model = { ...named, graph: { ...named.graph, nodes: named.graph.nodes.map((n) => ({ ...n, name: '' })) } };
  const producer = m.graph.nodes[0];
  assert.equal(producer.name, '');
  const { model, reports } = await compile(m, [prune({ ratio: 0.5, skip: [producer.outputs[0]] })], quiet);
  assert.equal(model.graph.initializers.get('w1')!.dims[1], 4);
  assert.ok(Object.keys(reports[0].notes).some((k) => k === `skipped ${producer.outputs[0]}`));
});

// ---------------------------------------------------------------- least-squares reconstruction (compensation lstsq)

/** Seeded values in [-1, 1]. */
const noise = (n: number, seed: number): number[] => { const next = rng(seed); return Array.from({ length: n }, () => next() * 2 - 1); };
const randomFeeds = (dims: number[], count: number, seed: number): Array<Record<string, Tensor>> =>
  Array.from({ length: count }, (_, k) => ({ x: f32(dims, noise(dims.reduce((a, b) => a * b, 1), seed * 101 + k)) }));
/** Least squares with a negligible ridge (0 would mean: chosen by cross-validation). */
const lstsq = (extra: { sequential?: boolean; ridge?: number } = {}) => ({ compensation: 'lstsq' as const, ridge: 1e-9, ...extra });

/**
 * x [8, 3] → MatMul(fc1) + bias → h [8, 6] → MatMul(fc2) + bias → y [8, 2]: no activation, so h spans only x and a
 * constant, and any 3 of its 6 channels with the constant reproduce the other 3 exactly.
 */
function linearMlp(seed: number): Model {
  const b = new GraphBuilder('linear');
  const x = b.input('x', DataType.FLOAT, [8, 3]);
  const h = b.op('Add', [b.op('MatMul', [x, b.initializer('w1', f32([3, 6], noise(18, seed)))], {}, { name: 'fc1' }), b.initializer('b1', f32([6], noise(6, seed + 1)))]);
  const y = b.op('Add', [b.op('MatMul', [h, b.initializer('w2', f32([6, 2], noise(12, seed + 2)))], {}, { name: 'fc2' }), b.initializer('b2', f32([2], noise(2, seed + 3)))]);
  b.output(y, DataType.FLOAT, [8, 2]);
  return makeModel(b.build(), { opset: 17 });
}

/**
 * x [1, 2, 7, 7] → Conv 1×1 (conv1, no bias) → h [1, 4, 7, 7] → Conv 3×2 (conv2: pads, strides and dilation, or
 * SAME_UPPER with stride 2: uneven padding) → y.
 * h is linear in x's 2 channels with no constant, so 2 kept channels reproduce the removed ones tap by tap, padded
 * borders included (zero there on both sides).
 */
function linearConvs(seed: number, window: 'padded' | 'same' = 'padded'): Model {
  const b = new GraphBuilder('linear-conv');
  const x = b.input('x', DataType.FLOAT, [1, 2, 7, 7]);
  const h = b.op('Conv', [x, b.initializer('w1', f32([4, 2, 1, 1], noise(8, seed)))], {}, { name: 'conv1' });
  const attrs: Record<string, number[] | string> = window === 'padded' ? { pads: [2, 1, 2, 1], strides: [2, 2], dilations: [2, 1] } : { auto_pad: 'SAME_UPPER', strides: [2, 1] };
  const y = b.op('Conv', [h, b.initializer('w2', f32([3, 4, 3, 2], noise(72, seed + 1))), b.initializer('b2', f32([3], noise(3, seed + 2)))], attrs, { name: 'conv2' });
  b.output(y, DataType.FLOAT, window === 'padded' ? [1, 3, 4, 4] : [1, 3, 4, 7]);
  return makeModel(b.build(), { opset: 17 });
}

/** x [8, 3] → Gemm(fc1, transB) → h [8, 6] → Gemm(fc2, alpha 1.5, beta 0.5, C) → y [8, 2]; linear as linearMlp. */
function linearGemms(seed: number): Model {
  const b = new GraphBuilder('linear-gemm');
  const x = b.input('x', DataType.FLOAT, [8, 3]);
  const h = b.op('Gemm', [x, b.initializer('w1', f32([6, 3], noise(18, seed))), b.initializer('b1', f32([6], noise(6, seed + 1)))], { transB: 1 }, { name: 'fc1' });
  const y = b.op('Gemm', [h, b.initializer('w2', f32([6, 2], noise(12, seed + 2))), b.initializer('b2', f32([2], noise(2, seed + 3)))], { alpha: 1.5, beta: 0.5 }, { name: 'fc2' });
  b.output(y, DataType.FLOAT, [8, 2]);
  return makeModel(b.build(), { opset: 17 });
}

const sameConvs = (seed: number): Model => linearConvs(seed, 'same');
for (const [label, build, dims] of [
  ['MatMul', linearMlp, [8, 3]], ['Conv 3×2 padded, strided, dilated', linearConvs, [1, 2, 7, 7]], ['Conv SAME_UPPER', sameConvs, [1, 2, 7, 7]], ['Gemm', linearGemms, [8, 3]],
] as const) {
  for (const sequential of [true, false]) {
    test(`prune lstsq (${sequential ? 'sequential' : 'one-shot'}): a ${label} sink whose removed channels are combinations of kept ones reproduces the outputs`, async () => {
      const m = build(7);
      const { model, reports } = await compile(m, [prune({ ratio: 0.5, calib_data: randomFeeds([...dims], 3, 1), ...lstsq({ sequential }) })], quiet);
      const plain = (await compile(m, [prune({ ratio: 0.5 })], quiet)).model;
      const feed = randomFeeds([...dims], 1, 9)[0];
      const [ref, out, cut] = [await runModel(m, feed), await runModel(model, feed), await runModel(plain, feed)];
      const contract = { kind: 'allclose', rtol: 1e-3, atol: 1e-4 } as const;
      assert.equal(checkContract(contract, ref, out), undefined, 'reconstructed outputs match the unpruned model');
      assert.notEqual(checkContract(contract, ref, cut), undefined, 'plain pruning changes them');
      assert.deepEqual(Object.values(out).map((t) => t.dims), Object.values(ref).map((t) => t.dims));
      assert.ok(model.graph.initializers.get(model.graph.nodes.find((n) => n.name.endsWith('2'))!.inputs[1])!.size < m.graph.initializers.get(m.graph.nodes.find((n) => n.name.endsWith('2'))!.inputs[1])!.size);
      assert.match(String(reports[0].notes.compensated), /least-squares/);
    });
  }
}

/** x → MatMul + b → Relu → MatMul + b → Relu → MatMul → y: two sinks, nonlinear, random weights. */
function reluMlp(seed: number): Model {
  const b = new GraphBuilder('relu');
  const x = b.input('x', DataType.FLOAT, [16, 5]);
  let h = b.op('Relu', [b.op('Add', [b.op('MatMul', [x, b.initializer('w1', f32([5, 8], noise(40, seed)))]), b.initializer('b1', f32([8], noise(8, seed + 1)))])]);
  h = b.op('Relu', [b.op('Add', [b.op('MatMul', [h, b.initializer('w2', f32([8, 8], noise(64, seed + 2)))]), b.initializer('b2', f32([8], noise(8, seed + 3)))])]);
  b.output(b.op('MatMul', [h, b.initializer('w3', f32([8, 3], noise(24, seed + 4)))]), DataType.FLOAT, [16, 3]);
  return makeModel(b.build(), { opset: 17 });
}

/** Mean squared difference of the first outputs over the feeds. */
async function mse(a: Model, b: Model, feeds: ReadonlyArray<Record<string, Tensor>>): Promise<number> {
  let sum = 0, n = 0;
  for (const feed of feeds) {
    const [x, y] = [Object.values(await runModel(a, feed))[0].toFloat32(), Object.values(await runModel(b, feed))[0].toFloat32()];
    for (let i = 0; i < x.length; i++) sum += (x[i] - y[i]) ** 2;
    n += x.length;
  }
  return sum / n;
}

test('prune lstsq: on the calibration data the output MSE is never above mean compensation\'s (last sink, one-shot, no ridge)', async () => {
  for (let seed = 1; seed <= 6; seed++) {
    const m = reluMlp(seed * 13);
    const calib = randomFeeds([16, 5], 4, seed);
    // Only the last layer's inputs are pruned (the first group skipped): its least-squares solution contains the mean one.
    const base = { ratio: 0.5, calib_data: calib, skip: [m.graph.nodes[0].outputs[0]] };
    const mean = (await compile(m, [prune(base)], quiet)).model;
    const ls = (await compile(m, [prune({ ...base, ...lstsq({ sequential: false }) })], quiet)).model;
    const [errMean, errLs] = [await mse(m, mean, calib), await mse(m, ls, calib)];
    assert.ok(errLs <= errMean * (1 + 1e-4) + 1e-9, `seed ${seed}: lstsq ${errLs} vs mean ${errMean}`);
  }
});

test('prune lstsq: both groups pruned, sequential and one-shot run through the verifier, keep shapes, and beat plain pruning', async () => {
  const m = reluMlp(5);
  const calib = randomFeeds([16, 5], 6, 2);
  const plain = (await compile(m, [prune({ ratio: 0.5 })], quiet)).model;
  for (const sequential of [true, false]) {
    const { model, reports } = await compile(m, [prune({ ratio: 0.5, calib_data: calib, ...lstsq({ sequential, ridge: 1e-3 }) })], quiet);
    assert.match(String(reports[0].notes.compensated), new RegExp(`^2 of 2 .*${sequential ? 'sequential, 2 stages' : 'one-shot'}`));
    assert.ok(await mse(m, model, calib) < await mse(m, plain, calib));
    const out = await runModel(model, calib[0]);
    assert.deepEqual(Object.values(out)[0].dims, [16, 3]);
  }
});

test('prune lstsq: untouched weights stay the very same objects; solved ones are new Float32 tensors', async () => {
  const m = linearConvs(3);
  const { model } = await compile(m, [prune({ ratio: 0.5, calib_data: randomFeeds([1, 2, 7, 7], 2, 4), ...lstsq() })], quiet);
  const conv2 = model.graph.nodes.find((n) => n.name === 'conv2')!;
  const w2 = model.graph.initializers.get(conv2.inputs[1])!;
  assert.equal(w2.dataType, DataType.FLOAT);
  assert.deepEqual(w2.dims, [3, 2, 3, 2]);
  assert.notEqual(w2, m.graph.initializers.get('w2'));
});

/** Rows of `width` seeded features, `samples` samples of `per` rows each. */
function rowsOf(samples: number, per: number, width: number, seed: number, make?: (r: number, j: number) => number) {
  const next = rng(seed);
  const count = samples * per;
  const data = Float32Array.from({ length: count * width }, (_, i) => (make ? make(Math.floor(i / width), i % width) : next() * 2 - 1));
  return { data, count, width, samples, sample: Int32Array.from({ length: count }, (_, r) => Math.floor(r / per)) };
}

test('prune lstsq: cross-validation picks the smallest ridge for an exact linear target and a large one for noise', () => {
  const s = rowsOf(12, 10, 6, 1);
  const prior = new Float64Array(2 * 6);
  const exact = new FoldedMoments(2, 6);
  exact.add({ ...s, data: Float32Array.from({ length: s.count * 2 }, (_, i) => s.data[Math.floor(i / 2) * 6 + (i % 2)] * 3 - s.data[Math.floor(i / 2) * 6 + 5]), width: 2 }, s);
  assert.equal(crossValidatedRidge(exact, prior), 0.01);
  const noisy = new FoldedMoments(2, 6);
  noisy.add(rowsOf(12, 10, 2, 2), s);
  assert.ok(crossValidatedRidge(noisy, prior) >= 1, 'a target unrelated to the inputs: stay near the prior');
});

test('prune lstsq: ridge 0 chooses λ per consumer by cross-validation and says so', async () => {
  const m = reluMlp(5);
  const calib = randomFeeds([16, 5], 6, 2);
  const { model, reports } = await compile(m, [prune({ ratio: 0.5, calib_data: calib, compensation: 'lstsq', ridge: 0 })], quiet);
  assert.match(String(reports[0].notes.compensated), /ridge by cross-validation: .*×/);
  const plain = (await compile(m, [prune({ ratio: 0.5 })], quiet)).model;
  assert.ok(await mse(m, model, calib) < await mse(m, plain, calib));
});
