// Unit tests for shape inference: symbolic dims, broadcasting, shape arithmetic through values, windowed ops,
// opset-dependent inputs, control flow, and the model-level helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { DataType } from '../src/ir/dtype.js';
import { Tensor } from '../src/ir/tensor.js';
import { GraphBuilder, attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../src/ir/builder.js';
import type { Graph } from '../src/ir/model.js';
import { type Dim, type TensorType, tensorTypeOf } from '../src/ir/types.js';
import { loadModel } from '../src/io/load.js';
import { broadcastShapes, inferGraphTypes, inferModelTypes, withValueInfo } from '../src/shape/index.js';
import { REAL_MODELS } from './helpers/paths.js';

const { FLOAT, INT64, BOOL, UINT8, FLOAT16, INT32 } = DataType;

const i64 = (values: readonly number[], dims: readonly number[] = [values.length]): Tensor =>
  Tensor.fromArray(INT64, dims, BigInt64Array.from(values, (v) => BigInt(v)));
const f32 = (values: readonly number[], dims: readonly number[] = [values.length]): Tensor =>
  Tensor.fromArray(FLOAT, dims, Float32Array.from(values));

/** Builds a graph with `build`, infers it at `opset`, and returns the type of the value `build` returned. */
function infer(opset: number, build: (b: GraphBuilder) => string): TensorType | undefined {
  const b = new GraphBuilder();
  const out = build(b);
  return inferGraphTypes(b.build(), [{ domain: '', version: opset }]).types.get(out);
}

const shapeOf = (opset: number, build: (b: GraphBuilder) => string): readonly Dim[] | undefined => infer(opset, build)?.shape;

test('MatMul keeps symbolic batch dims', () => {
  const t = infer(17, (b) => b.op('MatMul', [b.input('x', FLOAT, ['N', 128]), b.initializer('w', f32(new Array(128 * 64).fill(0), [128, 64]))]));
  assert.deepEqual(t, { elemType: FLOAT, shape: ['N', 64] });
  assert.deepEqual(shapeOf(17, (b) => b.op('MatMul', [b.input('a', FLOAT, ['B', 1, 'S', 8]), b.input('b', FLOAT, [4, 8, 'T'])])), ['B', 4, 'S', 'T']);
  assert.deepEqual(shapeOf(17, (b) => b.op('MatMul', [b.input('a', FLOAT, [8]), b.input('b', FLOAT, ['B', 8, 3])])), ['B', 3]);
});

test('broadcasting keeps symbols where the result provably is that symbol', () => {
  assert.deepEqual(broadcastShapes([['N', 1, 8], [4, 1]]), ['N', 4, 8]);
  assert.deepEqual(broadcastShapes([['N'], ['N']]), ['N']);
  assert.deepEqual(broadcastShapes([['N'], [1]]), ['N']);
  assert.deepEqual(broadcastShapes([['N'], [3]]), [3]);
  assert.deepEqual(broadcastShapes([['N'], ['M']]), [undefined]);
  assert.deepEqual(broadcastShapes([['N'], [undefined]]), [undefined]);
  assert.equal(broadcastShapes([['N'], undefined]), undefined);
  const t = infer(17, (b) => b.op('Less', [b.input('a', FLOAT, ['N', 1]), b.input('c', FLOAT, [5])]));
  assert.deepEqual(t, { elemType: BOOL, shape: ['N', 5] });
  const w = infer(17, (b) => b.op('Where', [b.input('c', BOOL, [1, 'S']), b.input('x', FLOAT16, ['B', 1]), b.input('y', FLOAT16, [])]));
  assert.deepEqual(w, { elemType: FLOAT16, shape: ['B', 'S'] });
});

test('Reshape: 0 copies, -1 is inferred (symbols cancel), allowzero keeps 0', () => {
  const x = (b: GraphBuilder): string => b.input('x', FLOAT, ['N', 12, 64]);
  assert.deepEqual(shapeOf(17, (b) => b.op('Reshape', [x(b), b.initializer('s', i64([0, -1]))])), ['N', 768]);
  assert.deepEqual(shapeOf(17, (b) => b.op('Reshape', [b.input('x', FLOAT, ['N', 768]), b.initializer('s', i64([-1, 12, 64]))])), ['N', 12, 64]);
  assert.deepEqual(shapeOf(17, (b) => b.op('Reshape', [b.input('x', FLOAT, [2, 3, 4]), b.initializer('s', i64([-1, 4]))])), [6, 4]);
  assert.deepEqual(shapeOf(17, (b) => b.op('Reshape', [b.input('x', FLOAT, [0, 3]), b.initializer('s', i64([0, 3]))], { allowzero: 1 })), [0, 3]);
  // Two unknowns in the product: -1 cannot be resolved.
  assert.deepEqual(shapeOf(17, (b) => b.op('Reshape', [b.input('x', FLOAT, ['N', 'M']), b.initializer('s', i64([-1, 2]))])), [undefined, 2]);
  // Opset 1-4 read the shape attribute.
  assert.deepEqual(shapeOf(4, (b) => b.op('Reshape', [b.input('x', FLOAT, [2, 6])], { shape: [3, -1] })), [3, 4]);
});

test('Reshape through Shape → Gather → Unsqueeze → Concat infers [N, 768]', () => {
  const t = infer(13, (b) => {
    const x = b.input('x', FLOAT, ['N', 12, 64]);
    const shape = b.op('Shape', [x]);
    const n = b.op('Gather', [shape, b.initializer('zero', i64([0], []))], { axis: 0 });
    const n1 = b.op('Unsqueeze', [n, b.initializer('axes', i64([0]))]);
    const target = b.op('Concat', [n1, b.initializer('hidden', i64([768]))], { axis: 0 });
    return b.op('Reshape', [x, target]);
  });
  assert.deepEqual(t, { elemType: FLOAT, shape: ['N', 768] });
});

test('shape arithmetic: Slice and Mul of a Shape value, ConstantOfShape, Size, Range', () => {
  const flat = shapeOf(13, (b) => {
    const x = b.input('x', FLOAT, ['B', 'S', 12, 64]);
    const shape = b.op('Shape', [x]);
    const lead = b.op('Slice', [shape, b.initializer('s0', i64([0])), b.initializer('e0', i64([2]))]);
    const heads = b.op('Slice', [shape, b.initializer('s1', i64([2])), b.initializer('e1', i64([3]))]);
    const size = b.op('Slice', [shape, b.initializer('s2', i64([-1])), b.initializer('e2', i64([2 ** 31 - 1]))]);
    const hidden = b.op('Mul', [heads, size]);
    return b.op('Reshape', [x, b.op('Concat', [lead, hidden], { axis: 0 })]);
  });
  assert.deepEqual(flat, ['B', 'S', 768]);
  const ones = infer(13, (b) => b.op('ConstantOfShape', [b.op('Shape', [b.input('x', FLOAT, ['N', 3])])], { value: i64([1], [1]) }));
  assert.deepEqual(ones, { elemType: INT64, shape: ['N', 3] });
  assert.deepEqual(infer(13, (b) => b.op('Size', [b.input('x', FLOAT, ['N', 1])])), { elemType: INT64, shape: [] });
  const range = infer(13, (b) => b.op('Range', [b.initializer('a', i64([1], [])), b.initializer('l', i64([10], [])), b.initializer('d', i64([3], []))]));
  assert.deepEqual(range, { elemType: INT64, shape: [3] });
  // Shape with start/end (opset 15).
  assert.deepEqual(infer(15, (b) => b.op('Shape', [b.input('x', FLOAT, [1, 2, 3, 4])], { start: 1, end: -1 })), { elemType: INT64, shape: [2] });
});

test('exporter shape idioms keep symbols: Where(Equal(shape, -1), 1, shape), Split of a shape, table[:seq]', () => {
  // Sizes are never negative, so comparing a symbol with -1 is decided.
  const expanded = shapeOf(13, (b) => {
    const x = b.input('x', FLOAT, ['B', 'S', 1, 8]);
    const target = b.op('Concat', [b.op('Slice', [b.op('Shape', [x]), b.initializer('s', i64([0])), b.initializer('e', i64([2]))]),
      b.initializer('tail', i64([4, 8]))], { axis: 0 });
    const unset = b.op('Equal', [target, b.initializer('minus1', i64([-1, -1, -1, -1]))]);
    return b.op('Expand', [x, b.op('Where', [unset, b.initializer('ones', i64([1, 1, 1, 1])), target])]);
  });
  assert.deepEqual(expanded, ['B', 'S', 4, 8]);
  const merged = shapeOf(13, (b) => {
    const x = b.input('x', FLOAT, ['B', 'S', 2, 8]);
    const [lead] = b.node('Split', [b.op('Shape', [x]), b.initializer('sizes', i64([2, 2]))], {}, { outputs: 2 });
    return b.op('Reshape', [x, b.op('Concat', [lead, b.initializer('rest', i64([-1]))], { axis: 0 })]);
  });
  assert.deepEqual(merged, ['B', 'S', 16]);
  // A table sliced to a symbolic length is taken to be long enough.
  const rows = shapeOf(13, (b) => {
    const seq = b.op('Gather', [b.op('Shape', [b.input('ids', INT64, ['B', 'S'])]), b.initializer('one', i64([1]))]);
    return b.op('Slice', [b.initializer('table', f32(new Array(2048).fill(0), [512, 4])), b.initializer('zero', i64([0])), seq]);
  });
  assert.deepEqual(rows, ['S', 4]);
});

test('Conv: pads, strides, dilations, auto_pad, symbolic batch', () => {
  const conv = (x: readonly Dim[], attrs: Record<string, number[] | string | number>): readonly Dim[] | undefined =>
    shapeOf(17, (b) => b.op('Conv', [b.input('x', FLOAT, x), b.input('w', FLOAT, [8, 3, 3, 3])], attrs));
  assert.deepEqual(conv(['N', 3, 32, 32], { pads: [1, 1, 1, 1], strides: [2, 2] }), ['N', 8, 16, 16]);
  assert.deepEqual(conv([1, 3, 32, 32], { dilations: [2, 2] }), [1, 8, 28, 28]);
  assert.deepEqual(conv([1, 3, 33, 33], { auto_pad: 'SAME_UPPER', strides: [2, 2] }), [1, 8, 17, 17]);
  assert.deepEqual(conv([1, 3, 'H', 32], { auto_pad: 'SAME_LOWER' }), [1, 8, 'H', 32]);
  assert.deepEqual(conv([1, 3, 10, 9], { auto_pad: 'VALID', strides: [1, 2] }), [1, 8, 8, 4]);
  assert.deepEqual(conv([1, 3, 'H', 'W'], {}), [1, 8, undefined, undefined]);
  const t = shapeOf(17, (b) => b.op('ConvTranspose', [b.input('x', FLOAT, [1, 4, 5, 5]), b.input('w', FLOAT, [4, 2, 3, 3])],
    { strides: [2, 2], group: 2, output_padding: [1, 1] }));
  assert.deepEqual(t, [1, 4, 12, 12]);
});

test('pools: ceil_mode drops a window starting in the padding; global pools; indices output', () => {
  const pool = (x: readonly Dim[], attrs: Record<string, number[] | number | string>): (TensorType | undefined)[] => {
    const b = new GraphBuilder();
    const [y, i] = b.node('MaxPool', [b.input('x', FLOAT, x)], attrs, { outputs: 2 });
    const types = inferGraphTypes(b.build(), [{ domain: '', version: 12 }]).types;
    return [types.get(y), types.get(i)];
  };
  assert.deepEqual(pool([1, 1, 32, 32], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }).map((t) => t?.shape), [[1, 1, 16, 16], [1, 1, 16, 16]]);
  assert.deepEqual(pool([1, 1, 32, 32], { kernel_shape: [3, 3], strides: [2, 2] })[0]?.shape, [1, 1, 15, 15]);
  assert.equal(pool([1, 1, 4, 4], { kernel_shape: [2, 2] })[1]?.elemType, INT64);
  assert.deepEqual(shapeOf(17, (b) => b.op('GlobalAveragePool', [b.input('x', FLOAT, ['N', 64, 7, 7])])), ['N', 64, 1, 1]);
});

test('Squeeze/Unsqueeze: axes attribute before opset 13, input from 13', () => {
  assert.deepEqual(shapeOf(11, (b) => b.op('Squeeze', [b.input('x', FLOAT, ['N', 1, 4, 1])], { axes: [1, -1] })), ['N', 4]);
  assert.deepEqual(shapeOf(13, (b) => b.op('Squeeze', [b.input('x', FLOAT, ['N', 1, 4, 1]), b.initializer('a', i64([1, -1]))])), ['N', 4]);
  // Without axes, every static 1 goes; a symbolic dim might be 1, so the shape is unknown.
  assert.deepEqual(shapeOf(13, (b) => b.op('Squeeze', [b.input('x', FLOAT, [1, 4, 1])])), [4]);
  assert.equal(shapeOf(13, (b) => b.op('Squeeze', [b.input('x', FLOAT, ['N', 4, 1])])), undefined);
  assert.deepEqual(shapeOf(11, (b) => b.op('Unsqueeze', [b.input('x', FLOAT, ['N', 4])], { axes: [0, -1] })), [1, 'N', 4, 1]);
  assert.deepEqual(shapeOf(13, (b) => b.op('Unsqueeze', [b.input('x', FLOAT, ['N', 4]), b.initializer('a', i64([1]))])), ['N', 1, 4]);
  // An axes input that is not constant leaves the dims unknown.
  assert.equal(shapeOf(13, (b) => b.op('Unsqueeze', [b.input('x', FLOAT, ['N', 4]), b.input('a', INT64, [1])])), undefined);
});

test('Slice keeps whole-axis symbolic dims and handles negative steps', () => {
  const slice = (starts: number[], ends: number[], axes: number[], steps?: number[]): readonly Dim[] | undefined =>
    shapeOf(13, (b) => b.op('Slice', [b.input('x', FLOAT, ['N', 10, 'T']), b.initializer('s', i64(starts)), b.initializer('e', i64(ends)),
      b.initializer('a', i64(axes)), ...(steps ? [b.initializer('st', i64(steps))] : [])]));
  assert.deepEqual(slice([2], [8], [1]), ['N', 6, 'T']);
  assert.deepEqual(slice([0, -3], [2 ** 62, 100], [0, 1]), ['N', 3, 'T']);
  assert.deepEqual(slice([-1], [-11], [1], [-2]), ['N', 5, 'T']);
  assert.deepEqual(slice([1], [5], [2]), ['N', 10, undefined]);
  assert.deepEqual(shapeOf(9, (b) => b.op('Slice', [b.input('x', FLOAT, [4, 6])], { starts: [1], ends: [-1], axes: [1] })), [4, 4]);
});

test('Split: attribute sizes (opset 11), input sizes (13), uneven num_outputs (18)', () => {
  const split = (opset: number, inputs: (b: GraphBuilder) => string[], attrs: Record<string, number | number[]>, n: number): (readonly Dim[] | undefined)[] => {
    const b = new GraphBuilder();
    const outs = b.node('Split', inputs(b), attrs, { outputs: n });
    const types = inferGraphTypes(b.build(), [{ domain: '', version: opset }]).types;
    return outs.map((o) => types.get(o)?.shape);
  };
  assert.deepEqual(split(11, (b) => [b.input('x', FLOAT, ['N', 6])], { axis: 1, split: [2, 4] }, 2), [['N', 2], ['N', 4]]);
  assert.deepEqual(split(13, (b) => [b.input('x', FLOAT, ['N', 6]), b.initializer('s', i64([1, 5]))], { axis: -1 }, 2), [['N', 1], ['N', 5]]);
  assert.deepEqual(split(18, (b) => [b.input('x', FLOAT, [7, 'C'])], { num_outputs: 3 }, 3), [[3, 'C'], [3, 'C'], [1, 'C']]);
});

test('reductions: axes attribute vs input, keepdims, noop_with_empty_axes', () => {
  assert.deepEqual(shapeOf(13, (b) => b.op('ReduceMean', [b.input('x', FLOAT, ['N', 'S', 8])], { axes: [-1] })), ['N', 'S', 1]);
  assert.deepEqual(shapeOf(18, (b) => b.op('ReduceMean', [b.input('x', FLOAT, ['N', 'S', 8]), b.initializer('a', i64([1]))], { keepdims: 0 })), ['N', 8]);
  assert.deepEqual(shapeOf(13, (b) => b.op('ReduceSum', [b.input('x', FLOAT, ['N', 8]), b.initializer('a', i64([0]))], { keepdims: 0 })), [8]);
  assert.deepEqual(shapeOf(18, (b) => b.op('ReduceMax', [b.input('x', FLOAT, ['N', 8])], { keepdims: 0 })), []);
  assert.deepEqual(shapeOf(18, (b) => b.op('ReduceMax', [b.input('x', FLOAT, ['N', 8])], { noop_with_empty_axes: 1 })), ['N', 8]);
  assert.deepEqual(infer(13, (b) => b.op('ArgMax', [b.input('x', FLOAT, ['N', 8])], { axis: 1, keepdims: 0 })), { elemType: INT64, shape: ['N'] });
  const topk = infer(11, (b) => b.node('TopK', [b.input('x', FLOAT, ['N', 8]), b.initializer('k', i64([3]))], {}, { outputs: 2 })[1]);
  assert.deepEqual(topk, { elemType: INT64, shape: ['N', 3] });
});

test('element types: Cast, CastLike, QuantizeLinear defaults, integer matmuls, LayerNormalization stats', () => {
  assert.deepEqual(infer(13, (b) => b.op('Cast', [b.input('x', FLOAT, ['N'])], { to: FLOAT16 })), { elemType: FLOAT16, shape: ['N'] });
  assert.deepEqual(infer(15, (b) => b.op('CastLike', [b.input('x', FLOAT, ['N']), b.input('y', INT32, [])])), { elemType: INT32, shape: ['N'] });
  assert.equal(infer(13, (b) => b.op('QuantizeLinear', [b.input('x', FLOAT, ['N']), b.initializer('s', f32([0.1], []))]))?.elemType, UINT8);
  assert.equal(infer(13, (b) => b.op('MatMulInteger', [b.input('a', UINT8, ['N', 4]), b.input('b', UINT8, [4, 2])]))?.elemType, INT32);
  const stats = infer(17, (b) => b.node('LayerNormalization', [b.input('x', FLOAT16, ['N', 'S', 8]), b.input('g', FLOAT16, [8])], {}, { outputs: 3 })[1]);
  assert.deepEqual(stats, { elemType: FLOAT, shape: ['N', 'S', 1] });
});

test('Einsum, Gemm, Expand, Tile, Pad, Resize', () => {
  assert.deepEqual(shapeOf(12, (b) => b.op('Einsum', [b.input('a', FLOAT, ['B', 3, 4]), b.input('c', FLOAT, ['B', 4, 5])], { equation: 'bij,bjk->bik' })), ['B', 3, 5]);
  assert.deepEqual(shapeOf(12, (b) => b.op('Einsum', [b.input('a', FLOAT, [2, 3, 4])], { equation: '...ij' })), [2, 3, 4]);
  assert.deepEqual(shapeOf(12, (b) => b.op('Einsum', [b.input('a', FLOAT, [3, 4]), b.input('c', FLOAT, [4, 5])], { equation: 'ij,jk' })), [3, 5]);
  assert.deepEqual(shapeOf(13, (b) => b.op('Gemm', [b.input('a', FLOAT, [4, 'M']), b.input('c', FLOAT, [7, 4])], { transA: 1, transB: 1 })), ['M', 7]);
  assert.deepEqual(shapeOf(13, (b) => b.op('Expand', [b.input('x', FLOAT, ['N', 1]), b.initializer('s', i64([2, 1, 5]))])), [2, 'N', 5]);
  assert.deepEqual(shapeOf(13, (b) => b.op('Tile', [b.input('x', FLOAT, ['N', 3]), b.initializer('r', i64([1, 2]))])), ['N', 6]);
  assert.deepEqual(shapeOf(11, (b) => b.op('Pad', [b.input('x', FLOAT, ['N', 3, 4]), b.initializer('p', i64([0, 1, 2, 0, 1, -1]))])), ['N', 5, 5]);
  assert.deepEqual(shapeOf(2, (b) => b.op('Pad', [b.input('x', FLOAT, [3, 4])], { pads: [1, 1, 1, 1] })), [5, 6]);
  assert.deepEqual(shapeOf(13, (b) => b.op('Resize', [b.input('x', FLOAT, ['N', 3, 5, 8]), '', b.initializer('s', f32([1, 1, 0.6, 2]))])), ['N', 3, 3, 16]);
  assert.deepEqual(shapeOf(18, (b) => b.op('Resize', [b.input('x', FLOAT, [1, 3, 20, 10]), '', '', b.initializer('z', i64([8, 8]))],
    { axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' })), [1, 3, 8, 4]);
});

test('unknown ops are reported and leave their outputs unknown', () => {
  const b = new GraphBuilder();
  const y = b.op('FancyOp', [b.input('x', FLOAT, ['N'])], {}, { domain: 'com.example' });
  const z = b.op('Relu', [y]);
  const r = inferGraphTypes(b.build(), [{ domain: '', version: 17 }, { domain: 'com.example', version: 1 }]);
  assert.deepEqual([...r.uncovered], ['com.example:FancyOp']);
  assert.equal(r.types.get(y), undefined);
  assert.equal(r.types.get(z), undefined);
});

/** A one-output branch graph computing `op(input)` from an outer value. */
function branch(name: string, op: string, input: string, attrs: Record<string, number[]> = {}): Graph {
  return makeGraph({ name, nodes: [makeNode(op, [input], [`${name}_out`], attrs)], inputs: [], outputs: [makeValueInfo(`${name}_out`, FLOAT)] });
}

test('If: a constant condition picks its branch; otherwise what both branches agree on', () => {
  const run = (cond: (b: GraphBuilder) => string, elseOp: string): TensorType | undefined => infer(13, (b) => {
    const x = b.input('x', FLOAT, ['N', 4]);
    return b.op('If', [cond(b)], { then_branch: attr.graph(branch('then', 'Relu', x)), else_branch: attr.graph(branch('else', elseOp, x)) });
  });
  const flat = (b: GraphBuilder): string => b.input('c', BOOL, []);
  assert.deepEqual(run(flat, 'Sigmoid'), { elemType: FLOAT, shape: ['N', 4] });
  assert.deepEqual(run(flat, 'Transpose'), { elemType: FLOAT, shape: [undefined, undefined] });
  const constFalse = (b: GraphBuilder): string => b.initializer('c', Tensor.fromArray(BOOL, [], Uint8Array.of(0)));
  assert.deepEqual(run(constFalse, 'Transpose'), { elemType: FLOAT, shape: [4, 'N'] });
});

test('Loop: carried values that change shape become unknown; scan outputs gain the trip count', () => {
  const body = makeGraph({
    name: 'body',
    nodes: [
      makeNode('Identity', ['cond_in'], ['cond_out']),
      makeNode('Concat', ['acc_in', 'one'], ['acc_out'], { axis: 0 }),
      makeNode('Relu', ['state_in'], ['state_out']),
      makeNode('Identity', ['state_out'], ['scan_out']),
    ],
    inputs: [makeValueInfo('i', INT64, []), makeValueInfo('cond_in', BOOL, []), makeValueInfo('acc_in', FLOAT), makeValueInfo('state_in', FLOAT)],
    outputs: [makeValueInfo('cond_out', BOOL, []), makeValueInfo('acc_out', FLOAT), makeValueInfo('state_out', FLOAT), makeValueInfo('scan_out', FLOAT)],
  });
  const b = new GraphBuilder();
  b.initializer('one', f32([1]));
  const outs = b.node('Loop', [b.initializer('m', i64([5], [])), '', b.input('acc', FLOAT, [0]), b.input('state', FLOAT, ['N', 3])],
    { body: attr.graph(body) }, { outputs: 3 });
  const types = inferGraphTypes(b.build(), [{ domain: '', version: 13 }]).types;
  assert.deepEqual(outs.map((o) => types.get(o)), [
    { elemType: FLOAT, shape: [undefined] },
    { elemType: FLOAT, shape: ['N', 3] },
    { elemType: FLOAT, shape: [5, 'N', 3] },
  ]);
});

test('Scan: slices along the scan axis and stacks outputs', () => {
  const body = makeGraph({
    name: 'body',
    nodes: [makeNode('Add', ['s_in', 'x_t'], ['s_out']), makeNode('Identity', ['s_out'], ['y_t'])],
    inputs: [makeValueInfo('s_in', FLOAT), makeValueInfo('x_t', FLOAT)],
    outputs: [makeValueInfo('s_out', FLOAT), makeValueInfo('y_t', FLOAT)],
  });
  const b = new GraphBuilder();
  const outs = b.node('Scan', [b.input('s', FLOAT, [4]), b.input('x', FLOAT, [4, 'T'])],
    { body: attr.graph(body), num_scan_inputs: 1, scan_input_axes: [1], scan_output_axes: [-1] }, { outputs: 2 });
  const types = inferGraphTypes(b.build(), [{ domain: '', version: 16 }]).types;
  assert.deepEqual(outs.map((o) => types.get(o)?.shape), [[4], [4, 'T']]);
});

test('outer scope types reach subgraphs through inferGraphTypes', () => {
  const g = branch('g', 'Softmax', 'outer_x');
  const r = inferGraphTypes(g, [{ domain: '', version: 13 }], 8, new Map([['outer_x', { elemType: FLOAT, shape: ['B', 10] }]]));
  assert.deepEqual(r.types.get('g_out'), { elemType: FLOAT, shape: ['B', 10] });
});

test('withValueInfo annotates intermediate values once and is a no-op when nothing is new', () => {
  const b = new GraphBuilder();
  const x = b.input('x', FLOAT, ['N', 4]);
  const h = b.op('Relu', [x]);
  const y = b.op('Transpose', [h]);
  b.output(y, FLOAT);
  const model = makeModel(b.build(), { opset: 17 });
  const annotated = withValueInfo(model);
  assert.notEqual(annotated, model);
  assert.deepEqual(annotated.graph.valueInfo.map((vi) => [vi.name, tensorTypeOf(vi.type)]), [[h, { elemType: FLOAT, shape: ['N', 4] }]]);
  assert.equal(withValueInfo(annotated), annotated);
  assert.deepEqual(inferModelTypes(annotated).types.get(y), { elemType: FLOAT, shape: [4, 'N'] });
});

test('a real model keeps its symbolic batch dim end to end', { skip: !existsSync(REAL_MODELS.ppocrCls) && 'model not installed' }, () => {
  const model = loadModel(REAL_MODELS.ppocrCls);
  const r = inferModelTypes(model);
  assert.equal(r.uncovered.size, 0);
  const out = model.graph.outputs[0].name;
  const batch = tensorTypeOf(model.graph.inputs[0].type)?.shape?.[0];
  assert.deepEqual(r.types.get(out), { elemType: FLOAT, shape: [batch, 2] });
});
