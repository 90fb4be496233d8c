// The gradient driver: errors that name what is missing, paths (only nodes between wrt and loss are differentiated),
// accumulation over several uses, symbolic batch dims, output naming, the `grad` pass, and two real models (the MNIST
// CNN and stories260K) differentiated end to end and spot-checked against finite differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { castDraft, produce } from 'immer';
import {
  checkContract, cleanup, compile, DataType, GraphBuilder, loadModel, makeModel, makeNode, opset, runModel, Tensor, type Model,
} from '../src/index.js';
import { contractOf } from '../src/passes/pass.js';
import { differentiate, GradientError, gradName } from '../passes/grad/differentiate.js';
import { grad } from '../passes/grad.pass.js';
import { SHARED_MODELS_DIR } from './helpers/paths.js';
import { exposeAsInputs, finiteDifferences, gradientMismatch, toNumbers, type Tolerance } from './helpers/finite-diff.js';

const D = DataType.DOUBLE, F = DataType.FLOAT;
const doubles = (dims: readonly number[], f: (i: number) => number): Tensor =>
  Tensor.fromArray(D, dims, Float64Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)));

/** loss = ReduceSum(out) appended to a builder; returns the model. */
function withSumLoss(b: GraphBuilder, out: string, opsetVersion = 17, dtype = D): { model: Model; loss: string } {
  const loss = b.op('ReduceSum', [out], { keepdims: 0 });
  b.output(loss, dtype, []);
  return { model: makeModel(b.build(), { opset: opsetVersion }), loss };
}

test('an op on the path without a rule is a GradientError naming the op and node', () => {
  const b = new GraphBuilder();
  const x = b.input('x', D, [3]);
  const { model, loss } = withSumLoss(b, b.op('Cos', [x], {}, { name: 'the_cos' }));
  assert.throws(() => differentiate(model, { loss, wrt: ['x'] }), (e: unknown) => e instanceof GradientError && e.message === "no gradient rule for op 'Cos' (node 'the_cos')");
});

test('ops off the path need no rule: constant masks and shape arithmetic are not differentiated', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', D, [2, 3]);
  // Cos of a constant (no rule) and Shape arithmetic feed the path but do not depend on x.
  const mask = b.op('Cos', [b.initializer('c', doubles([2, 3], (i) => i))]);
  const flat = b.op('Reshape', [b.op('Mul', [x, mask]), b.op('Shape', [b.op('Cos', [b.initializer('c2', doubles([6], (i) => i))])])]);
  const { model, loss } = withSumLoss(b, flat);
  const out = await runModel(differentiate(model, { loss, wrt: ['x'] }), { x: doubles([2, 3], () => 0.5) });
  const expected = Array.from({ length: 6 }, (_, i) => Math.cos(i));
  assert.equal(gradientMismatch('x', toNumbers(out[gradName('x')]), expected, { eps: 0, rtol: 1e-12, atol: 1e-15 }), undefined);
});

test('a value read by several nodes sums its gradients', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', D, [4]);
  // y = x·x + sigmoid(x) + x: three readers of x (one reading it twice).
  const y = b.op('Add', [b.op('Add', [b.op('Mul', [x, x]), b.op('Sigmoid', [x])]), x]);
  const { model, loss } = withSumLoss(b, y);
  const diff = differentiate(model, { loss, wrt: ['x'] });
  assert.ok(diff.graph.nodes.some((n) => n.opType === 'Sum' && n.inputs.length >= 3), 'contributions are summed');
  const feeds = { x: doubles([4], (i) => i / 2 - 1) };
  const got = toNumbers((await runModel(diff, feeds))[gradName('x')]);
  const expected = Array.from(toNumbers(feeds.x), (v) => 2 * v + Math.exp(-v) / (1 + Math.exp(-v)) ** 2 + 1);
  assert.equal(gradientMismatch('x', got, expected, { eps: 0, rtol: 1e-12, atol: 1e-12 }), undefined);
});

test('a wrt value the loss does not depend on gets zeros; existing outputs are kept', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', D, [2]);
  const unused = b.input('unused', D, [3]);
  const { model, loss } = withSumLoss(b, b.op('Mul', [x, x]));
  const diff = differentiate(model, { loss, wrt: ['x', 'unused'] });
  assert.deepEqual(diff.graph.outputs.map((o) => o.name), [loss, 'x.grad', 'unused.grad']);
  const out = await runModel(diff, { x: doubles([2], (i) => i + 1), unused: doubles([3], () => 1) });
  assert.deepEqual(Array.from(toNumbers(out['unused.grad'])), [0, 0, 0]);
  assert.deepEqual(Array.from(toNumbers(out['x.grad'])), [2, 4]);
  assert.equal(unused, 'unused', 'the input kept its name');
});

test('symbolic and unknown dims: broadcast reductions computed at run time', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', D, ['batch', 3]);
  // An unknown leading dim: whether it broadcasts is only known at run time.
  const y = b.input('y', D, [undefined, 3]);
  const w = b.initializer('w', doubles([3, 2], (i) => (i - 2) / 3));
  const h = b.op('MatMul', [b.op('Sigmoid', [b.op('Add', [x, y])]), w]);
  const { model, loss } = withSumLoss(b, b.op('Mul', [h, h]));
  const diff = differentiate(model, { loss, wrt: ['x', 'y', 'w'] });
  for (const [batch, yRows] of [[3, 1], [2, 2], [1, 1]]) {
    const feeds = { x: doubles([batch, 3], (i) => Math.sin(i)), y: doubles([yRows, 3], (i) => Math.cos(i)), w: diff.graph.initializers.get('w')! };
    const got = await runModel(diff, feeds);
    const forward = exposeAsInputs(model, ['w']);
    for (const name of ['x', 'y', 'w']) {
      const numeric = await finiteDifferences(forward, feeds, loss, name, 1e-6);
      assert.equal(gradientMismatch(`${name} at batch ${batch}`, toNumbers(got[gradName(name)]), numeric, { eps: 1e-6, rtol: 1e-6, atol: 1e-8 }), undefined);
    }
  }
});

test('bad requests are GradientErrors: non-scalar loss, unknown wrt, integer wrt, old opset, half precision', () => {
  const b = new GraphBuilder();
  const x = b.input('x', D, [3]);
  const ids = b.input('ids', DataType.INT64, [3]);
  const y = b.op('Relu', [x]);
  b.output(y, D, [3]);
  const { model, loss } = withSumLoss(b, y);
  const fails = (options: { loss: string; wrt: string[] }, m: Model, pattern: RegExp): void => {
    assert.throws(() => differentiate(m, options), (e: unknown) => e instanceof GradientError && pattern.test(e.message));
  };
  fails({ loss: y, wrt: ['x'] }, model, /not a scalar/);
  fails({ loss: 'nope', wrt: ['x'] }, model, /not a value of the graph/);
  fails({ loss, wrt: [y] }, model, /neither a graph input nor an initializer/);
  fails({ loss, wrt: [ids] }, model, /not a float tensor/);
  fails({ loss, wrt: ['x'] }, { ...model, opsetImport: [{ domain: '', version: 11 }] }, /opset >= 13/);
  // Half precision: refused, rather than seeded or scaled with constants its rules cannot encode.
  const h = new GraphBuilder();
  const xh = h.input('xh', DataType.FLOAT16, [3]);
  const half = withSumLoss(h, h.op('Relu', [xh]), 17, DataType.FLOAT16);
  fails({ loss: half.loss, wrt: ['xh'] }, half.model, /gradients in FLOAT16 are not supported \(float and double are\)/);
});

test('gradName: `${value}.grad`, suffixed when the graph already uses that name', () => {
  assert.equal(gradName('w'), 'w.grad');
  assert.equal(gradName('w', new Set(['w.grad', 'w.grad_1'])), 'w.grad_2');
  const b = new GraphBuilder();
  const x = b.input('x', D, [2]);
  const taken = b.op('Identity', [x]);
  const model0 = withSumLoss(b, b.op('Mul', [x, x]));
  // Rename a value to 'x.grad' so the natural name collides.
  const model = produce(model0.model, (d) => {
    const n = d.graph.nodes.find((nd) => nd.outputs[0] === taken)!;
    n.outputs = castDraft(['x.grad']);
  });
  const diff = differentiate(model, { loss: model0.loss, wrt: ['x'] });
  assert.equal(diff.graph.outputs.at(-1)!.name, 'x.grad_1');
});

test('grad pass: all float initializers by default, outputsSuperset contract, verifier clean', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', D, [2, 3]);
  const w = b.initializer('w', doubles([3, 2], (i) => i / 5));
  const bias = b.initializer('bias', doubles([2], (i) => i));
  b.initializer('steps', Tensor.fromArray(DataType.INT64, [1], BigInt64Array.of(1n)));
  const logits = b.op('Add', [b.op('MatMul', [x, w]), bias]);
  b.output(logits, D, [2, 2]);
  const { model, loss } = withSumLoss(b, b.op('Tanh', [logits]));
  const pass = grad({ loss });
  const { model: out } = await compile(model, [pass], { verify: true });
  assert.deepEqual(out.graph.outputs.slice(-2).map((o) => o.name), ['w.grad', 'bias.grad']);
  const feeds = { x: doubles([2, 3], (i) => i / 6) };
  const failure = checkContract(contractOf(pass), await runModel(model, feeds), await runModel(out, feeds));
  assert.equal(failure, undefined, failure);
});

// ---- Real models ----

const MNIST = path.join(SHARED_MODELS_DIR, 'mnist', 'mnist.onnx');
const STORIES = path.join(SHARED_MODELS_DIR, 'stories260K', 'stories260K.onnx');

/** Entries to spot-check: the largest analytic gradients (FD is most reliable there) and one in the middle. */
function sampleEntries(analytic: ArrayLike<number>, count: number): number[] {
  const order = Array.from(analytic, (v, i) => [Math.abs(v), i] as const).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
  return [...order.slice(0, count - 1), order[Math.floor(order.length / 2)]];
}

async function spotCheck(model: Model, diff: Model, feeds: Record<string, Tensor>, loss: string, wrt: readonly string[], tol: Tolerance): Promise<void> {
  const got = await runModel(diff, feeds);
  for (const w of wrt) {
    const forward = exposeAsInputs(model, [w]);
    const g = got[gradName(w)];
    const base = model.graph.initializers.get(w)!;
    assert.deepEqual(g.dims, base.dims, `${w}.grad has ${w}'s shape`);
    const analytic = toNumbers(g);
    assert.ok(analytic.every(Number.isFinite), `${w}.grad is finite`);
    const picks = sampleEntries(analytic, 3);
    const numeric = await finiteDifferences(forward, { ...feeds, [w]: base }, loss, w, tol.eps, picks);
    const bad = gradientMismatch(w, picks.map((i) => analytic[i]), numeric, tol);
    assert.equal(bad, undefined, bad);
  }
}

/** Appends nodes and initializers to a model's graph, with `loss` as a new output. */
function appendLoss(model: Model, nodes: ReturnType<typeof makeNode>[], inits: Record<string, Tensor>, loss: string): Model {
  return produce(model, (d) => {
    d.graph.nodes.push(...castDraft(nodes));
    for (const [k, t] of Object.entries(inits)) (d.graph.initializers as unknown as Map<string, Tensor>).set(k, t);
    d.graph.outputs.push({ name: loss });
  });
}

test('MNIST CNN (cleanup, opset 17): cross-entropy gradients for all weights match finite differences', { skip: !existsSync(MNIST) }, async () => {
  const { model: base } = await compile(await loadModel(MNIST), [cleanup(), opset({ target: 17 })]);
  const logits = base.graph.outputs[0].name;
  const target = Tensor.fromArray(F, [1, 10], Float32Array.from({ length: 10 }, (_, i) => (i === 3 ? 1 : 0)));
  const model = appendLoss(base, [
    makeNode('LogSoftmax', [logits], ['logp'], { axis: 1 }),
    makeNode('Mul', ['logp', 'target'], ['picked']),
    makeNode('ReduceSum', ['picked'], ['nll'], { keepdims: 0 }),
    makeNode('Neg', ['nll'], ['loss']),
  ], { target }, 'loss');
  const wrt = [...base.graph.initializers].filter(([, t]) => t.dataType === F).map(([k]) => k);
  assert.equal(wrt.length, 6);
  const diff = differentiate(model, { loss: 'loss', wrt });
  const input = Tensor.fromArray(F, [1, 1, 28, 28], Float32Array.from({ length: 784 }, (_, i) => ((i * 7919) % 255) / 255));
  await spotCheck(model, diff, { Input3: input }, 'loss', wrt, { eps: 1e-2, rtol: 3e-2, atol: 2e-3 });
});

test('stories260K (cleanup): gradients of mean(logits²) for MatMul and RMSNorm weights match finite differences', { skip: !existsSync(STORIES) }, async () => {
  const { model: base } = await compile(await loadModel(STORIES), [cleanup()]);
  const logits = base.graph.outputs[0].name;
  const model = appendLoss(base, [
    makeNode('Mul', [logits, logits], ['logits_sq']),
    makeNode('ReduceMean', ['logits_sq'], ['loss'], { keepdims: 0 }),
  ], {}, 'loss');
  const matmuls = [...base.graph.initializers.keys()].filter((k) => base.graph.nodes.some((n) => n.opType === 'MatMul' && n.inputs.includes(k)));
  const norms = [...base.graph.initializers.keys()].filter((k) => /(^|\.)(an|fn|norm)\.weight$/.test(k) || k === 'norm.weight');
  assert.ok(matmuls.length === 36 && norms.length === 11, `${matmuls.length} MatMul weights, ${norms.length} RMSNorm weights`);
  const diff = differentiate(model, { loss: 'loss', wrt: [...matmuls, ...norms] });
  const ids = Tensor.fromArray(DataType.INT64, [1, 8], BigInt64Array.from([1, 403, 29, 84, 260, 12, 7, 333], (v) => BigInt(v)));
  // A sample across depth: the first and last projections, a feed-forward weight, the first and final norms.
  const sample = [matmuls[0], matmuls[5], matmuls.at(-1)!, norms[0], norms.at(-1)!];
  await spotCheck(model, diff, { input_ids: ids }, 'loss', sample, { eps: 1e-2, rtol: 3e-2, atol: 1e-3 });
});
