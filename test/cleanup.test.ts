// Before/after fixtures for the cleanup pass, one per rule or transform: each builds a small graph, states the
// ops expected afterwards, and checks outputs stay bitwise equal in onnxruntime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dedupeNodes } from '../passes/cleanup/dedupe-nodes.js';
import {
  attr, checkContract, cleanup, compile, DataType, exact, GraphBuilder, makeModel, makeNode, runModel, Tensor, type Model,
} from '../src/index.js';

const f32 = (dims: number[], values: number[]): Tensor => Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from(values));
const i64 = (values: number[]): Tensor => Tensor.fromArray(DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt)));

interface Fixture {
  readonly name: string;
  readonly build: () => Model;
  /** Op types of the main graph after cleanup, in order. */
  readonly after: readonly string[];
  readonly initializersAfter?: number;
  readonly feed: Record<string, Tensor>;
  readonly options?: Parameters<typeof cleanup>[0];
}

const x23 = { x: f32([2, 3], [1, -2, 3, -4, 5, -6]) };

const fixtures: Fixture[] = [
  {
    name: 'cleanup/remove-identity: readers of Identity(x) read x; an Identity feeding a graph output stays',
    build: () => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      const y = b.op('Relu', [b.op('Identity', [b.op('Identity', [x])])]);
      b.output(b.op('Identity', [y]), DataType.FLOAT, [2, 3]);
      return makeModel(b.build());
    },
    after: ['Relu', 'Identity'],
    feed: x23,
  },
  {
    name: 'cleanup/remove-dropout: inference Dropout goes, a Dropout whose mask is used stays',
    build: () => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      const y = b.op('Relu', [b.op('Dropout', [x])]);
      const [z, mask] = b.node('Dropout', [y], {}, { outputs: 2 });
      b.output(z, DataType.FLOAT, [2, 3]);
      b.output(mask, DataType.BOOL, [2, 3]);
      return makeModel(b.build());
    },
    after: ['Relu', 'Dropout'],
    feed: x23,
  },
  {
    name: 'Constant nodes become initializers (Paddle exports)',
    build: () => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      const w = b.op('Constant', [], { value: f32([3], [1, 2, 3]) });
      b.output(b.op('Mul', [x, w]), DataType.FLOAT, [2, 3]);
      return makeModel(b.build());
    },
    after: ['Mul'],
    initializersAfter: 1,
    feed: x23,
  },
  {
    name: 'cleanup/fold-constant + cleanup/fold-shape: Reshape target computed from Shape arithmetic becomes a constant',
    build: () => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      const rows = b.op('Gather', [b.op('Shape', [x]), b.initializer('zero', i64([0]))], { axis: 0 });
      const target = b.op('Concat', [rows, b.op('Constant', [], { value_ints: attr.ints([3, 1]) })], { axis: 0 });
      b.output(b.op('Reshape', [x, target]), DataType.FLOAT, [2, 3, 1]);
      return makeModel(b.build());
    },
    after: ['Reshape'],
    initializersAfter: 1,
    feed: x23,
  },
  {
    name: 'dead code and unused initializers are removed',
    build: () => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      b.op('Sigmoid', [b.op('Mul', [x, b.initializer('unused_weight', f32([3], [1, 2, 3]))])]);
      b.output(b.op('Relu', [x]), DataType.FLOAT, [2, 3]);
      return makeModel(b.build());
    },
    after: ['Relu'],
    initializersAfter: 0,
    feed: x23,
  },
  {
    name: 'identical initializers are merged',
    build: () => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      const a = b.op('Add', [x, b.initializer('bias_a', f32([3], [0.5, 1, 2]))]);
      b.output(b.op('Add', [a, b.initializer('bias_b', f32([3], [0.5, 1, 2]))]), DataType.FLOAT, [2, 3]);
      return makeModel(b.build());
    },
    after: ['Add', 'Add'],
    initializersAfter: 1,
    feed: x23,
  },
  {
    name: 'dedupe_nodes: duplicate nodes merge, chains included; a duplicate that is a graph output lends the kept node its name',
    build: () => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      const read = b.op('Transpose', [x], { perm: [1, 0] });
      const shown = b.op('Transpose', [x], { perm: [1, 0] });
      const other = b.op('Transpose', [x]); // the same permutation by default, but other attributes: kept apart
      b.output(shown, DataType.FLOAT, [3, 2]);
      b.output(other, DataType.FLOAT, [3, 2]);
      b.output(b.op('MatMul', [read, x]), DataType.FLOAT, [3, 3]);
      const twice = b.op('Sigmoid', [b.op('Relu', [x])]), again = b.op('Sigmoid', [b.op('Relu', [x])]);
      b.output(b.op('Add', [twice, again]), DataType.FLOAT, [2, 3]);
      return makeModel(b.build());
    },
    after: ['Transpose', 'Transpose', 'MatMul', 'Relu', 'Sigmoid', 'Add'],
    feed: x23,
    options: { dedupe_nodes: true },
  },
];

for (const f of fixtures) {
  test(f.name, async () => {
    const before = f.build();
    const { model: after } = await compile(before, [cleanup(f.options ?? {})], { verify: true });
    assert.deepEqual(after.graph.nodes.map((n) => n.opType), f.after);
    if (f.initializersAfter !== undefined) assert.equal(after.graph.initializers.size, f.initializersAfter);
    const failure = checkContract(exact, await runModel(before, f.feed), await runModel(after, f.feed));
    assert.equal(failure, undefined, failure);
  });
}

test('IR 3 models get a graph input for every new initializer', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  b.output(b.op('Mul', [x, b.op('Constant', [], { value: f32([3], [1, 2, 3]) })]), DataType.FLOAT, [2, 3]);
  const { model } = await compile(makeModel(b.build(), { irVersion: 3, opset: 8 }), [cleanup()], { verify: true });
  const [name] = model.graph.initializers.keys();
  assert.ok(model.graph.inputs.some((v) => v.name === name));
});

test('model-local functions and the nodes that call them survive cleanup', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const y = b.op('Identity', [b.op('DoubleRelu', [x], {}, { domain: 'local' })]);
  b.output(b.op('Neg', [y]), DataType.FLOAT, [2, 3]);
  const fn = {
    name: 'DoubleRelu', domain: 'local', inputs: ['a'], outputs: ['c'],
    nodes: [makeNode('Relu', ['a'], ['b']), makeNode('Add', ['b', 'b'], ['c'])],
    opsetImport: [{ domain: '', version: 17 }], rest: {},
  };
  const model: Model = { ...makeModel(b.build(), { opset: [{ domain: '', version: 17 }, { domain: 'local', version: 1 }] }), functions: [fn] };
  const { model: out } = await compile(model, [cleanup()], { verify: true });
  assert.equal(out.functions[0], fn);
  assert.deepEqual(out.graph.nodes.map((n) => n.opType), ['DoubleRelu', 'Neg']);
  const failure = checkContract(exact, await runModel(model, x23), await runModel(out, x23));
  assert.equal(failure, undefined, failure);
});

test('random draws and dequantizers never merge, nor do nodes whose outputs are two graph outputs', () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  // One DequantizeLinear per reader is what onnxruntime fuses into each reader's quantized kernel.
  const q = b.op('QuantizeLinear', [x, b.initializer('s', f32([], [0.1]))]);
  b.output(b.op('Mul', [b.op('DequantizeLinear', [q, 's']), b.op('DequantizeLinear', [q, 's'])]), DataType.FLOAT, [2, 3]);
  b.output(b.op('Add', [b.op('RandomUniformLike', [x]), b.op('RandomUniformLike', [x])]), DataType.FLOAT, [2, 3]);
  b.output(b.op('Relu', [x]), DataType.FLOAT, [2, 3]);
  b.output(b.op('Relu', [x]), DataType.FLOAT, [2, 3]);
  const graph = b.build();
  assert.equal(dedupeNodes(graph), graph);
});
