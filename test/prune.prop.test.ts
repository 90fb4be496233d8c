// Property tests of the prune pass on planted mlp and conv groups with random activations, biases, BN and
// decoy readers: when the channels it removes carry all-zero weights the outputs stay allclose in onnxruntime
// (optimizations off), the verifier passes, output shapes never change, and a group with another reader is left
// alone (the input object comes back).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkContract, compile, DataType, GraphBuilder, makeModel, prune, runModel, Tensor, type Model } from '../src/index.js';
import { contractOf } from '../src/passes/pass.js';
import { rng } from './helpers/feeds.js';
import { PROP_RUNS, PROP_SEED } from './helpers/paths.js';

const params = { seed: PROP_SEED, numRuns: Math.max(1, Math.ceil(PROP_RUNS / 2)) };
console.log(`prune.prop: seed=${PROP_SEED} runs=${params.numRuns} (set FC_SEED / FC_RUNS to replay)`);

const scenario = fc.record({
  kind: fc.constantFrom('mlp' as const, 'gemm' as const, 'conv' as const),
  channels: fc.integer({ min: 2, max: 12 }),
  zeros: fc.nat(),
  act: fc.constantFrom('none', 'relu', 'gelu', 'swish', 'tanh', 'hardswish', 'clip'),
  bias: fc.boolean(),
  bn: fc.boolean(),
  decoy: fc.boolean(),
  seed: fc.nat(),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function plant(s: Scenario, zero: ReadonlySet<number>): Model {
  const next = rng(s.seed);
  const H = s.channels;
  const axisOf = (dims: number[], axis: number, i: number): number => Math.floor(i / dims.slice(axis + 1).reduce((a, b) => a * b, 1)) % dims[axis];
  // Nonzero weights (|w| in [0.1, 1]) except the planted zero channels.
  const weight = (dims: number[], axis: number): Tensor => {
    const n = dims.reduce((a, b) => a * b, 1);
    const v = Float32Array.from({ length: n }, (_, i) => (zero.has(axisOf(dims, axis, i)) ? 0 : (0.1 + 0.9 * next()) * (next() < 0.5 ? -1 : 1)));
    return Tensor.fromArray(DataType.FLOAT, dims, v);
  };
  const b = new GraphBuilder('planted');
  const conv = s.kind === 'conv';
  const inShape = conv ? [1, 3, 5, 5] : s.kind === 'gemm' ? [2, 4] : [2, 3, 4];
  const x = b.input('x', DataType.FLOAT, inShape);
  const pre = b.op('Tanh', [x]);
  let h: string;
  if (conv) h = b.op('Conv', [pre, b.initializer('w1', weight([H, 3, 3, 3], 0)), ...(s.bias ? [b.initializer('b1', weight([H], 0))] : [])], { pads: [1, 1, 1, 1] }, { name: 'producer' });
  else if (s.kind === 'gemm') h = b.op('Gemm', [pre, b.initializer('w1', weight([H, 4], 0)), ...(s.bias ? [b.initializer('b1', weight([H], 0))] : [])], { transB: 1 }, { name: 'producer' });
  else {
    h = b.op('MatMul', [pre, b.initializer('w1', weight([4, H], 1))], {}, { name: 'producer' });
    if (s.bias) h = b.op('Add', [h, b.initializer('b1', weight([H], 0))]);
  }
  if (conv && s.bn) {
    const pos = (): Tensor => Tensor.fromArray(DataType.FLOAT, [H], Float32Array.from({ length: H }, () => 0.5 + next()));
    h = b.op('BatchNormalization', [h, b.initializer('scale', weight([H], 0)), b.initializer('beta', weight([H], 0)), b.initializer('mean', weight([H], 0)), b.initializer('var', pos())]);
  }
  const sc = (v: number): string => b.initializer('c', Tensor.scalar(DataType.FLOAT, v));
  switch (s.act) {
    case 'relu': h = b.op('Relu', [h]); break;
    case 'tanh': h = b.op('Tanh', [h]); break;
    case 'swish': h = b.op('Mul', [h, b.op('Sigmoid', [h])]); break;
    case 'gelu': h = b.op('Mul', [b.op('Mul', [h, b.op('Add', [b.op('Erf', [b.op('Div', [h, sc(Math.SQRT2)])]), sc(1)])]), sc(0.5)]); break;
    case 'hardswish': h = b.op('Div', [b.op('Mul', [h, b.op('Clip', [b.op('Add', [h, sc(3)]), sc(0), sc(6)])]), sc(6)]); break;
    case 'clip': h = b.op('Clip', [h, sc(0), sc(6)]); break;
  }
  let y: string;
  if (conv) y = b.op('Conv', [h, b.initializer('w2', weight([2, H, 1, 1], 1))]);
  else if (s.kind === 'gemm') y = b.op('Gemm', [h, b.initializer('w2', weight([H, 3], 0))]);
  else y = b.op('MatMul', [h, b.initializer('w2', weight([H, 3], 0))]);
  b.output(y, DataType.FLOAT, conv ? [1, 2, 5, 5] : s.kind === 'gemm' ? [2, 3] : [2, 3, 3]);
  if (s.decoy) b.output(b.op('ReduceSum', [h], { keepdims: 0 }), DataType.FLOAT, []);
  return makeModel(b.build(), { opset: 17 });
}

test('prune: zero channels are removed with outputs allclose; verifier passes; shapes never change; decoys are left alone', async () => {
  await fc.assert(fc.asyncProperty(scenario, async (s) => {
    const z = s.zeros % s.channels; // fewer zero channels than channels
    const r = rng(s.seed + 1);
    const order = Array.from({ length: s.channels }, (_, i) => i).sort(() => r() - 0.5);
    const zero = new Set(order.slice(0, z));
    const model = plant(s, zero);
    const pass = prune({ ratio: (z + 0.5) / s.channels });
    const { model: out, reports } = await compile(model, [pass], { verify: true, print: () => {} });
    if (s.decoy || z === 0) assert.equal(out, model, `nothing pruned: ${JSON.stringify(reports[0].notes)}`);
    else {
      assert.notEqual(out, model, JSON.stringify(reports[0].notes));
      assert.equal(out.graph.initializers.get('w2')!.dims[s.kind === 'conv' ? 1 : 0], s.channels - z);
    }
    const feed = { x: Tensor.fromArray(DataType.FLOAT, model.graph.inputs[0].type ? (s.kind === 'conv' ? [1, 3, 5, 5] : s.kind === 'gemm' ? [2, 4] : [2, 3, 4]) : [], Float32Array.from({ length: s.kind === 'conv' ? 75 : s.kind === 'gemm' ? 8 : 24 }, () => r() * 4 - 2)) };
    const before = await runModel(model, feed);
    const after = await runModel(out, feed);
    const failure = checkContract(contractOf(pass), before, after);
    assert.equal(failure, undefined, failure);
  }), params);
});
