// Mean-activation compensation in the prune pass: removed channels that carry only a constant (zero weights, a
// nonzero bias through Relu) are replaced exactly by their mean folded into the consumer's bias — a MatMul sink
// without a bias gets an Add, a Conv sink without B gets one — while plain pruning changes the outputs. Also: `skip`
// matches an unnamed producer by its first output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkContract, compile, DataType, GraphBuilder, makeModel, prune, runModel, Tensor, type Model } from '../src/index.js';

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
