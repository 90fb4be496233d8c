// The constant evaluator against ONNX's own backend test suite (every single-node case of a foldable op must
// match bit for bit, or be declined), plus edge cases the suite does not pin down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MAX_ELEMENTS, FOLDABLE_OPS, evaluateNode } from '../src/eval/index.js';
import { type AttributeInput, attr, makeAttributes, makeGraph, makeModel, makeValueInfo } from '../src/ir/builder.js';
import { tensorFromProto } from '../src/ir/convert.js';
import { DataType, type NumericArray } from '../src/ir/dtype.js';
import { type Attribute, type Node, opsetVersion } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { loadModel } from '../src/io/load.js';
import { decodeMessage } from '../src/proto/codec.js';
import { messageSpec } from '../src/proto/schema.js';
import { runModel } from '../src/runtime/ort.js';
import { BACKEND_TESTS_DIR, hasShared } from './helpers/paths.js';

// ---------------------------------------------------------------- helpers

function readTensor(file: string): Tensor {
  return tensorFromProto(decodeMessage(readFileSync(file), messageSpec('TensorProto')), {}, true);
}

const isFloatArray = (a: NumericArray): boolean => a instanceof Float32Array || a instanceof Float64Array;

/** Why `actual` differs from `expected` (dtype, dims, then values bitwise; NaN equals NaN), or undefined. */
function difference(actual: Tensor, expected: Tensor): string | undefined {
  if (actual.dataType !== expected.dataType) return `dtype ${DataType[actual.dataType]} != ${DataType[expected.dataType]}`;
  if (actual.dims.join() !== expected.dims.join()) return `dims [${actual.dims}] != [${expected.dims}]`;
  const a = actual.toArray();
  const e = expected.toArray();
  const floats = isFloatArray(e);
  for (let i = 0; i < e.length; i++) {
    const same = floats ? Object.is(a[i], e[i]) || (Number.isNaN(a[i]) && Number.isNaN(e[i])) : a[i] === e[i];
    if (!same) return `element ${i}: ${a[i]} != ${e[i]}`;
  }
  return undefined;
}

const node = (opType: string, inputs: number, attributes: Attribute[] = [], outputs = 1): Node => ({
  name: '', opType, domain: '',
  inputs: Array.from({ length: inputs }, (_, i) => `x${i}`),
  outputs: Array.from({ length: outputs }, (_, i) => `y${i}`),
  attributes,
});
const int = (name: string, value: number): Attribute => ({ name, type: 'int', value });
const i64 = (values: readonly (number | bigint)[], dims = [values.length]): Tensor =>
  Tensor.fromArray(DataType.INT64, dims, BigInt64Array.from(values, (v) => BigInt(v)));
const i32 = (values: readonly number[], dims = [values.length]): Tensor => Tensor.fromArray(DataType.INT32, dims, Int32Array.from(values));
const f32 = (values: readonly number[], dims = [values.length]): Tensor => Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from(values));
const u8 = (values: readonly number[], dims = [values.length]): Tensor => Tensor.fromArray(DataType.UINT8, dims, Uint8Array.from(values));
const i8 = (values: readonly number[], dims = [values.length]): Tensor => Tensor.fromArray(DataType.INT8, dims, Int8Array.from(values));
const f64 = (values: readonly number[], dims = [values.length]): Tensor => Tensor.fromArray(DataType.DOUBLE, dims, Float64Array.from(values));
const bool = (values: readonly boolean[], dims = [values.length]): Tensor => Tensor.fromArray(DataType.BOOL, dims, Uint8Array.from(values, Number));

/** Evaluates and returns the single output's values as numbers, with its dims. */
function run(n: Node, inputs: (Tensor | undefined)[], opset = 21): { dims: readonly number[]; values: number[]; dataType: DataType } | undefined {
  const out = evaluateNode(n, inputs, opset);
  return out && { dims: out[0].dims, values: out[0].toNumbers(), dataType: out[0].dataType };
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

// ---------------------------------------------------------------- the backend suite

test('every single-node backend case of a foldable op evaluates exactly or is declined', { skip: !hasShared() && 'shared corpora absent' }, () => {
  const foldable = new Set(FOLDABLE_OPS);
  let evaluated = 0;
  let matched = 0;
  const declined: string[] = [];
  const mismatches: string[] = [];
  for (const name of readdirSync(BACKEND_TESTS_DIR).sort()) {
    const dir = path.join(BACKEND_TESTS_DIR, name);
    const dataDir = path.join(dir, 'test_data_set_0');
    if (!existsSync(path.join(dir, 'model.onnx')) || !existsSync(dataDir)) continue;
    const model = loadModel(path.join(dir, 'model.onnx'));
    const { graph } = model;
    const [n] = graph.nodes;
    if (graph.nodes.length !== 1 || n.domain !== '' || !foldable.has(n.opType)) continue;
    // Sequence and optional values (test_identity_sequence, ...) are outside a tensor evaluator.
    if (![...graph.inputs, ...graph.outputs].every((v) => v.type?.tensor_type)) continue;

    // Graph inputs come from input_<i>.pb in graph-input order; initializers are given too.
    const given = new Map<string, Tensor>(graph.initializers);
    graph.inputs.filter((v) => !graph.initializers.has(v.name)).forEach((v, i) => {
      const file = path.join(dataDir, `input_${i}.pb`);
      if (existsSync(file)) given.set(v.name, readTensor(file));
    });
    const inputs = n.inputs.map((name) => (name === '' ? undefined : given.get(name)));
    const outputs = evaluateNode(n, inputs, opsetVersion(model) ?? 1, { maxElements: 1e7 });
    if (!outputs) {
      declined.push(name);
      continue;
    }
    evaluated++;
    const problems = graph.outputs.flatMap((v, i) => {
      const k = n.outputs.indexOf(v.name);
      const why = k < 0 ? 'output not produced by the node' : difference(outputs[k], readTensor(path.join(dataDir, `output_${i}.pb`)));
      return why ? [`${name} output ${i}: ${why}`] : [];
    });
    if (problems.length) mismatches.push(...problems);
    else matched++;
  }
  console.log(`eval backend suite: ${evaluated} cases evaluated, ${matched} matched, ${declined.length} not evaluated`);
  console.log(`not evaluated: ${declined.join(' ')}`);
  assert.deepEqual(mismatches, []);
  assert.ok(evaluated > 300, `only ${evaluated} cases evaluated`);
});

// ---------------------------------------------------------------- edge cases

test('FOLDABLE_OPS lists the ops evaluateNode dispatches', () => {
  for (const op of ['Shape', 'Gather', 'Slice', 'Reshape', 'Cast', 'Div', 'Where', 'Range', 'ReduceProd', 'Squeeze', 'Unsqueeze']) {
    assert.ok(FOLDABLE_OPS.includes(op), op);
  }
  assert.equal(evaluateNode(node('Conv', 2), [f32([1]), f32([1])], 17), undefined);
  assert.equal(evaluateNode({ ...node('Add', 2), domain: 'com.microsoft' }, [f32([1]), f32([1])], 17), undefined);
});

test('Slice clamps INT64_MAX/INT64_MIN bounds and steps backwards', () => {
  const data = i64([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const slice = node('Slice', 5);
  assert.deepEqual(run(slice, [data, i64([1]), i64([INT64_MAX]), i64([0]), i64([1])])?.values, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(run(slice, [data, i64([INT64_MAX]), i64([INT64_MIN]), i64([0]), i64([-1])])?.values, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  assert.deepEqual(run(slice, [data, i64([-2]), i64([INT64_MIN]), i64([0]), i64([-3])])?.values, [8, 5, 2]);
  assert.deepEqual(run(slice, [data, i64([5]), i64([2])])?.values, []);
  assert.equal(run(slice, [data, i64([0]), i64([5]), i64([0]), i64([0])]), undefined, 'step 0 is invalid');
  // Slice-1: attributes, no steps.
  const slice1 = node('Slice', 1, [{ name: 'starts', type: 'ints', value: [-3] }, { name: 'ends', type: 'ints', value: [INT64_MAX] }]);
  assert.deepEqual(run(slice1, [data], 9)?.values, [7, 8, 9]);
});

test('Reshape copies 0 dims and infers -1; allowzero keeps a literal 0', () => {
  const x = f32(new Array(24).fill(0).map((_, i) => i), [2, 3, 4]);
  assert.deepEqual(run(node('Reshape', 2), [x, i64([0, -1])])?.dims, [2, 12]);
  assert.deepEqual(run(node('Reshape', 2), [x, i64([-1, 0, 2])])?.dims, [4, 3, 2]);
  assert.equal(run(node('Reshape', 2), [x, i64([-1, -1])]), undefined);
  assert.equal(run(node('Reshape', 2), [x, i64([5, -1])]), undefined);
  const empty = f32([], [0, 3]);
  assert.deepEqual(run(node('Reshape', 2, [int('allowzero', 1)]), [empty, i64([3, 0])])?.dims, [3, 0]);
  assert.equal(run(node('Reshape', 2, [int('allowzero', 1)]), [empty, i64([0, -1])]), undefined, '0 with -1 is ambiguous under allowzero');
});

test('integer Div truncates toward zero; Mod follows the divisor (fmod=0) or the dividend (fmod=1)', () => {
  const a = [-7, 7, -7, 7];
  const b = [2, -2, -2, 2];
  assert.deepEqual(run(node('Div', 2), [i32(a), i32(b)])?.values, [-3, -3, 3, 3]);
  assert.deepEqual(run(node('Div', 2), [i64(a), i64(b)])?.values, [-3, -3, 3, 3]);
  assert.deepEqual(run(node('Mod', 2), [i32(a), i32(b)])?.values, [1, -1, -1, 1]);
  assert.deepEqual(run(node('Mod', 2, [int('fmod', 1)]), [i64(a), i64(b)])?.values, [-1, 1, -1, 1]);
  assert.equal(run(node('Div', 2), [i32([1]), i32([0])]), undefined, 'integer division by zero is left alone');
  assert.equal(run(node('Div', 2), [i8([-128]), i8([-1])]), undefined, 'MIN / -1 overflows');
  assert.deepEqual(run(node('Div', 2), [i32([-128]), i32([-1])])?.values, [128]);
  assert.equal(run(node('Div', 2), [i64([INT64_MIN]), i64([-1])]), undefined);
  assert.equal(run(node('Mod', 2), [f32([1]), f32([2])]), undefined, 'fmod=0 is for integers only');
});

test('Min/Max of 0 and -0 are left unevaluated: runtimes keep either', () => {
  assert.equal(run(node('Max', 2), [f32([-0, 1]), f32([0, 2])]), undefined, 'Max of 0 and -0 is up to the runtime');
  assert.equal(run(node('Min', 2), [f32([0]), f32([-0])]), undefined, 'so is Min');
  assert.ok(Object.is(run(node('Max', 2), [f32([-0]), f32([-0])])?.values[0], -0), 'equal zeros fold');
});

test('Cast float → int truncates toward zero and declines out-of-range values', () => {
  const to = (t: DataType): Attribute => int('to', t);
  const r = run(node('Cast', 1, [to(DataType.INT8)]), [f32([-1.7, 1.7, -0.5, 127.9])]);
  assert.deepEqual(r?.values, [-1, 1, 0, 127]);
  assert.equal(r?.dataType, DataType.INT8);
  assert.equal(run(node('Cast', 1, [to(DataType.INT8)]), [f32([128])]), undefined);
  assert.equal(run(node('Cast', 1, [to(DataType.INT32)]), [f32([NaN])]), undefined);
  assert.deepEqual(run(node('Cast', 1, [to(DataType.INT8)]), [i32([200, -129])])?.values, [-56, 127], 'int → int wraps');
  assert.deepEqual(run(node('Cast', 1, [to(DataType.BOOL)]), [f32([0, -0, NaN, 0.1])])?.values, [0, 0, 1, 1]);
  // 2^60 + 2^36 + 1 is just above the float32 midpoint 2^60 + 2^36; rounding via double would land on the tie.
  const out = evaluateNode(node('Cast', 1, [to(DataType.FLOAT)]), [i64([2n ** 60n + 2n ** 36n + 1n])], 21);
  assert.equal((out?.[0].toArray() as Float32Array)[0], 2 ** 60 + 2 ** 37);
  assert.equal(run(node('Cast', 1, [to(DataType.FLOAT16)]), [f32([1])]), undefined, 'float16 arithmetic is not offered');
});

test('Gather takes negative indices from the end and declines out-of-range ones', () => {
  assert.deepEqual(run(node('Gather', 2), [i64([10, 20, 30]), i64([-1, 0])])?.values, [30, 10]);
  const m = i32([1, 2, 3, 4, 5, 6], [2, 3]);
  const r = run(node('Gather', 2, [int('axis', -1)]), [m, i32([-3], [])]);
  assert.deepEqual(r?.dims, [2]);
  assert.deepEqual(r?.values, [1, 4]);
  assert.equal(run(node('Gather', 2), [i64([10, 20, 30]), i64([3])]), undefined);
});

test('elementwise ops broadcast numpy-style: [2,1] with [3] gives [2,3]', () => {
  const r = run(node('Add', 2), [i64([10, 20], [2, 1]), i64([1, 2, 3])]);
  assert.deepEqual(r?.dims, [2, 3]);
  assert.deepEqual(r?.values, [11, 12, 13, 21, 22, 23]);
  assert.equal(run(node('Add', 2), [i64([1, 2], [2]), i64([1, 2, 3])]), undefined, 'incompatible shapes');
  // Before opset 7, B broadcasts onto A only with broadcast=1, aligned at `axis`.
  const legacy = node('Add', 2, [int('broadcast', 1), int('axis', 0)]);
  assert.deepEqual(run(legacy, [f32([1, 2, 3, 4, 5, 6], [2, 3]), f32([10, 20])], 6)?.values, [11, 12, 13, 24, 25, 26]);
  assert.equal(run(node('Add', 2), [f32([1, 2, 3, 4, 5, 6], [2, 3]), f32([10, 20, 30])], 6), undefined);
});

test('int64 arithmetic is exact past 2^53 and wraps like two\'s complement', () => {
  const out = evaluateNode(node('Add', 2), [i64([2n ** 62n + 1n, INT64_MAX]), i64([2n ** 62n, 1n])], 21);
  assert.deepEqual([...(out?.[0].toArray() as BigInt64Array)], [2n ** 63n + 1n - 2n ** 64n, INT64_MIN]);
  const mul = evaluateNode(node('Mul', 2), [i32([65537]), i32([65537])], 21);
  assert.deepEqual([...(mul?.[0].toArray() as Int32Array)], [(65537 * 65537) | 0]);
});

test('float32 results are rounded to float32', () => {
  const out = evaluateNode(node('Add', 2), [f32([0.1]), f32([0.2])], 21)![0];
  assert.equal((out.toArray() as Float32Array)[0], Math.fround(Math.fround(0.1) + Math.fround(0.2)));
  assert.ok(out.toArray() instanceof Float32Array);
});

test('Shape honours start/end from opset 15; limits decline big tensors', () => {
  const x = f32(new Array(24).fill(0), [2, 3, 4]);
  assert.deepEqual(run(node('Shape', 1, [int('start', -2)]), [x])?.values, [3, 4]);
  assert.deepEqual(run(node('Shape', 1, [int('start', -2)]), [x], 13)?.values, [2, 3, 4]);
  assert.deepEqual(run(node('Shape', 1, [int('start', 2), int('end', 1)]), [x])?.values, []);
  const big = f32(new Array(5000).fill(1));
  assert.equal(evaluateNode(node('Neg', 1), [big], 21), undefined, 'input over the default limit');
  assert.ok(evaluateNode(node('Neg', 1), [big], 21, { maxElements: 5000 }));
  assert.deepEqual(run(node('Shape', 1), [big])?.values, [5000], 'Shape reads no data, so size is free');
  assert.equal(evaluateNode(node('ConstantOfShape', 1), [i64([1e6, 1e6])], 21), undefined, 'output over the limit');
  assert.ok(DEFAULT_MAX_ELEMENTS === 4096);
});

test('Squeeze/Unsqueeze/ReduceSum take axes as attributes before opset 13 and as inputs from 13', () => {
  const x = f32([1, 2, 3], [1, 3, 1]);
  const axesAttr: Attribute = { name: 'axes', type: 'ints', value: [0] };
  assert.deepEqual(run(node('Squeeze', 1, [axesAttr]), [x], 11)?.dims, [3, 1]);
  assert.deepEqual(run(node('Squeeze', 2), [x, i64([-1])], 13)?.dims, [1, 3]);
  assert.deepEqual(run(node('Squeeze', 1), [x], 13)?.dims, [3]);
  assert.equal(run(node('Squeeze', 2), [x, i64([1])], 13), undefined, 'a squeezed axis must have size 1');
  assert.deepEqual(run(node('Unsqueeze', 2), [f32([1, 2, 3]), i64([0, -1])], 13)?.dims, [1, 3, 1]);
  assert.deepEqual(run(node('Unsqueeze', 1, [axesAttr]), [f32([1, 2, 3])], 11)?.dims, [1, 3]);
  const m = i64([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(run(node('ReduceSum', 2, [int('keepdims', 0)]), [m, i64([1])], 13)?.values, [6, 15]);
  assert.deepEqual(run(node('ReduceProd', 1, [axesAttr]), [m], 13)?.values, [4, 10, 18]);
  assert.deepEqual(run(node('ReduceProd', 2), [m, i64([0])], 18)?.values, [4, 10, 18]);
  assert.deepEqual(run(node('ReduceSum', 1, [int('noop_with_empty_axes', 1)]), [m], 13)?.dims, [2, 3]);
  // Integer overflow: onnxruntime saturates an int32 ReduceProd where a C loop would wrap, so it is declined.
  assert.equal(run(node('ReduceProd', 1), [i32([65536, 3, 65537])], 13), undefined);
  assert.deepEqual(run(node('ReduceSum', 1), [i64([INT64_MAX, -1n, 1n])], 13)?.values, [Number(INT64_MAX)]);
  // Float sums are given only when no summation order could change them.
  assert.deepEqual(run(node('ReduceSum', 1), [f32([0.5, 1.25, -3, 2 ** 20])], 13)?.values, [2 ** 20 - 1.25]);
  assert.equal(run(node('ReduceSum', 1), [f32([0.1, 0.2, 0.3])], 13), undefined);
});

test('Range counts exactly for integers and declines float ranges where the spec\'s two definitions disagree', () => {
  assert.deepEqual(run(node('Range', 3), [i64([10], []), i64([4], []), i64([-2], [])])?.values, [10, 8, 6]);
  assert.deepEqual(run(node('Range', 3), [i32([3], []), i32([9], []), i32([3], [])])?.values, [3, 6]);
  assert.deepEqual(run(node('Range', 3), [f32([1], []), f32([2], []), f32([0.25], [])])?.values, [1, 1.25, 1.5, 1.75]);
  assert.equal(run(node('Range', 3), [f32([0], []), f32([1], []), f32([0.1], [])]), undefined);
});

// ---------------------------------------------------------------- against onnxruntime, across opsets

interface RuntimeCase {
  readonly op: string;
  readonly opset: number;
  readonly inputs: readonly (Tensor | undefined)[];
  readonly attrs?: Readonly<Record<string, AttributeInput>>;
  readonly outputs?: number;
}

const scalarI64 = (v: number | bigint): Tensor => i64([v], []);
const grid = (dims: number[], f: (i: number) => number = (i) => i): number[] => Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i));

// Attribute-vs-input forms and edge values the backend suite (latest opsets only) does not reach.
const RUNTIME_CASES: readonly RuntimeCase[] = [
  { op: 'Slice', opset: 9, inputs: [i64(grid([3, 4]), [3, 4])], attrs: { starts: [1, -3], ends: [1000, -1], axes: [0, 1] } },
  { op: 'Slice', opset: 10, inputs: [f32(grid([3, 4]), [3, 4]), i32([-1, 10]), i32([-1000, 0]), i32([0, 1]), i32([-2, -3])] },
  { op: 'Slice', opset: 13, inputs: [i64(grid([10])), i64([INT64_MAX]), i64([INT64_MIN]), undefined, i64([-4])] },
  { op: 'Squeeze', opset: 11, inputs: [f32(grid([1, 3, 1]), [1, 3, 1])], attrs: { axes: [-1] } },
  { op: 'Unsqueeze', opset: 11, inputs: [f32(grid([2, 3]), [2, 3])], attrs: { axes: [0, 3] } },
  { op: 'Unsqueeze', opset: 13, inputs: [i64([7], []), i64([-1, 0])] },
  { op: 'ReduceSum', opset: 11, inputs: [i64(grid([2, 3, 2]), [2, 3, 2])], attrs: { axes: [1], keepdims: 0 } },
  { op: 'ReduceSum', opset: 13, inputs: [i32(grid([2, 3]), [2, 3]), i64([-1])] },
  { op: 'ReduceProd', opset: 17, inputs: [i32([65536, 3, 5, -5, 7, 11], [2, 3])], attrs: { axes: [1] } },
  { op: 'ReduceProd', opset: 13, inputs: [f32([0.5, 3, -2, 0.25, 8, 1.5], [2, 3])], attrs: { axes: [0, 1], keepdims: 0 } },
  { op: 'ReduceMax', opset: 18, inputs: [f32(grid([2, 3]), [2, 3])], attrs: { noop_with_empty_axes: 1 } },
  { op: 'ReduceMin', opset: 13, inputs: [i64([5, -2, 9, 4, 4, -7], [3, 2])], attrs: { axes: [0] } },
  { op: 'ReduceSum', opset: 13, inputs: [f32([1.5, -2, 4, 0.25, 1024, 3], [2, 3])], attrs: { keepdims: 0 } },
  { op: 'Split', opset: 11, inputs: [i64(grid([3, 4]), [3, 4])], attrs: { axis: -1, split: [1, 3] }, outputs: 2 },
  { op: 'Split', opset: 13, inputs: [f32(grid([6])), i64([2, 0, 4])], outputs: 3 },
  { op: 'Split', opset: 11, inputs: [f32(grid([6, 2]), [6, 2])], outputs: 3 },
  { op: 'Split', opset: 18, inputs: [i32(grid([7]))], attrs: { num_outputs: 3 }, outputs: 3 },
  { op: 'Pad', opset: 2, inputs: [f32(grid([2, 3]), [2, 3])], attrs: { pads: [0, 1, 1, 2], value: attr.float(-1.5) } },
  { op: 'Pad', opset: 11, inputs: [i64(grid([2, 3]), [2, 3]), i64([1, 0, 0, 2]), scalarI64(9)] },
  { op: 'Pad', opset: 13, inputs: [f32(grid([3, 4]), [3, 4]), i64([0, 2, 1, 3])], attrs: { mode: 'reflect' } },
  { op: 'Pad', opset: 13, inputs: [i32(grid([2, 3]), [2, 3]), i64([2, 1, 1, 0])], attrs: { mode: 'edge' } },
  { op: 'Pad', opset: 18, inputs: [f32(grid([2, 3]), [2, 3]), i64([1, 2]), undefined, i64([-1])] },
  { op: 'Pad', opset: 19, inputs: [f32(grid([2, 3]), [2, 3]), i64([1, 2, 1, 2])], attrs: { mode: 'wrap' } },
  { op: 'Pad', opset: 13, inputs: [f32(grid([3, 4]), [3, 4]), i64([-1, 1, 0, -2])] },
  { op: 'Clip', opset: 6, inputs: [f32([-3, -0.5, 0, 2.5, 7])], attrs: { min: attr.float(-1), max: attr.float(2) } },
  { op: 'Clip', opset: 11, inputs: [f32([-3, -0.5, 0, 2.5, 7]), f32([0.5], [])] },
  { op: 'Clip', opset: 12, inputs: [i32([-3, 0, 5, 100]), undefined, i32([4], [])] },
  { op: 'Clip', opset: 13, inputs: [i64([-3, 0, 5, 100]), scalarI64(-1), scalarI64(50)] },
  { op: 'Reshape', opset: 5, inputs: [f32(grid([2, 3, 4]), [2, 3, 4]), i64([0, -1, 2])] },
  { op: 'Reshape', opset: 14, inputs: [f32([], [0, 3]), i64([3, 0])], attrs: { allowzero: 1 } },
  { op: 'Concat', opset: 4, inputs: [i64(grid([2, 1]), [2, 1]), i64(grid([2, 3]), [2, 3])], attrs: { axis: 1 } },
  { op: 'Concat', opset: 11, inputs: [i64([1, 2]), i64([], [0]), i64([3])], attrs: { axis: -1 } },
  { op: 'Cast', opset: 9, inputs: [f32([-2.9, -1.5, -0.5, 0.5, 1.5, 2.9, 100.99])], attrs: { to: DataType.INT32 } },
  { op: 'Cast', opset: 13, inputs: [i64([2n ** 60n + 2n ** 36n + 1n, -(2n ** 62n) - 12345n, 16777217n])], attrs: { to: DataType.FLOAT } },
  { op: 'Cast', opset: 13, inputs: [f64([0.1, 1e40, -1e-50, 3.4028235677973366e38])], attrs: { to: DataType.FLOAT } },
  { op: 'Cast', opset: 13, inputs: [i32([200, -129, 256, 65535])], attrs: { to: DataType.UINT8 } },
  { op: 'Cast', opset: 13, inputs: [i64([2n ** 40n + 5n, -1n])], attrs: { to: DataType.INT16 } },
  { op: 'Cast', opset: 13, inputs: [f32([0, -0, 0.25, -3])], attrs: { to: DataType.BOOL } },
  { op: 'Cast', opset: 13, inputs: [bool([true, false])], attrs: { to: DataType.DOUBLE } },
  { op: 'Cast', opset: 13, inputs: [u8([0, 200, 255])], attrs: { to: DataType.INT64 } },
  { op: 'Gather', opset: 11, inputs: [f32(grid([2, 3]), [2, 3]), i32([-1, 0, -3, 2], [2, 2])], attrs: { axis: 1 } },
  { op: 'Gather', opset: 13, inputs: [i64([7, 8, 9]), i64([-2], [])] },
  { op: 'Mod', opset: 10, inputs: [i32([-7, 7, -7, 7, 0]), i32([3, -3, -3, 3, 5])] },
  { op: 'Mod', opset: 13, inputs: [i64([-7, 7, -7, 7]), i64([3, -3, -3, 3])], attrs: { fmod: 1 } },
  { op: 'Mod', opset: 13, inputs: [f32([-7.5, 7.5, 5.25]), f32([2, -2, 0.5])], attrs: { fmod: 1 } },
  { op: 'Div', opset: 7, inputs: [i32([-7, 7, -7, 2147483647]), i32([2, -2, -2, 3])] },
  { op: 'Div', opset: 14, inputs: [i64([-9n, 2n ** 62n + 3n]), i64([4n, -3n])] },
  { op: 'Div', opset: 14, inputs: [u8([200, 7]), u8([3, 2])] },
  { op: 'Mul', opset: 7, inputs: [i32([65537, -2147483648, 123456789]), i32([65537, -1, 1000])] },
  { op: 'Add', opset: 14, inputs: [i8([100, -128]), i8([100, -1])] },
  { op: 'Sub', opset: 14, inputs: [i64([INT64_MIN, 0n]), i64([1n, INT64_MIN])] },
  { op: 'Add', opset: 14, inputs: [f32([0.1, 1e30, -0]), f32([0.2], [1])] },
  { op: 'Neg', opset: 13, inputs: [i8([-128, 5, 0])] },
  { op: 'Abs', opset: 13, inputs: [i32([-2147483648, -5, 5])] },
  { op: 'Expand', opset: 8, inputs: [i64([1, 2, 3], [3, 1]), i64([2, 1, 4])] },
  { op: 'Tile', opset: 6, inputs: [f32(grid([2, 2]), [2, 2]), i64([2, 3])] },
  { op: 'Range', opset: 11, inputs: [i32([10], []), i32([-3], []), i32([-4], [])] },
  { op: 'Range', opset: 11, inputs: [scalarI64(-5), scalarI64(2n ** 40n), scalarI64(2n ** 38n)] },
  { op: 'ConstantOfShape', opset: 9, inputs: [i64([2, 3])], attrs: { value: i64([7n]) } },
  { op: 'ConstantOfShape', opset: 9, inputs: [i64([], [0])] },
  { op: 'Shape', opset: 15, inputs: [f32(grid([2, 3, 4]), [2, 3, 4])], attrs: { start: -2, end: 10 } },
  { op: 'Shape', opset: 13, inputs: [i64([], [0, 5])] },
  { op: 'Size', opset: 13, inputs: [i64(grid([2, 3]), [2, 3])] },
  { op: 'Flatten', opset: 9, inputs: [f32(grid([2, 3, 4]), [2, 3, 4])], attrs: { axis: 0 } },
  { op: 'Flatten', opset: 13, inputs: [f32(grid([2, 3, 4]), [2, 3, 4])], attrs: { axis: -1 } },
  { op: 'Transpose', opset: 13, inputs: [i64(grid([2, 3, 4]), [2, 3, 4])], attrs: { perm: [1, 2, 0] } },
  { op: 'Transpose', opset: 13, inputs: [i32(grid([2, 3]), [2, 3])] },
  { op: 'Where', opset: 9, inputs: [bool([true, false, true], [3, 1]), i64([1, 2]), i64([-1], [1])] },
  { op: 'Equal', opset: 11, inputs: [i32([1, 2, 3]), i32([2], [])] },
  { op: 'Less', opset: 9, inputs: [i64([INT64_MIN, 5n]), i64([INT64_MAX, 5n])] },
  { op: 'LessOrEqual', opset: 12, inputs: [f32([1, 2, NaN]), f32([2, 2, 2])] },
  { op: 'Not', opset: 1, inputs: [bool([true, false])] },
  { op: 'Or', opset: 7, inputs: [bool([true, false, false, true], [2, 2]), bool([false, false])] },
  { op: 'Min', opset: 13, inputs: [i64([5, -3]), i64([1], [1]), i64([4, 4], [1, 2])] },
  { op: 'Max', opset: 13, inputs: [u8([5, 200]), u8([7, 100])] },
  { op: 'Sqrt', opset: 13, inputs: [f32([2, 0.5, 1e-30, -0])] },
  { op: 'Reciprocal', opset: 13, inputs: [f64([3, -7, 0.1])] },
  { op: 'Floor', opset: 13, inputs: [f32([-1.5, -0.2, 2.7])] },
  { op: 'Ceil', opset: 13, inputs: [f32([-1.5, -0.2, 2.7])] },
  { op: 'Identity', opset: 13, inputs: [i64([3, 4])] },
];

test('old-opset attribute forms and edge values agree with onnxruntime bit for bit', async () => {
  const mismatches: string[] = [];
  for (const c of RUNTIME_CASES) {
    const label = `${c.op}-${c.opset}(${c.inputs.map((t) => (t ? `[${t.dims}]` : '_')).join(', ')})`;
    const inputNames = c.inputs.map((t, i) => (t ? `x${i}` : ''));
    const n: Node = { name: 'n', opType: c.op, domain: '', inputs: inputNames, outputs: Array.from({ length: c.outputs ?? 1 }, (_, i) => `y${i}`), attributes: makeAttributes(c.attrs) };
    const ours = evaluateNode(n, c.inputs, c.opset);
    if (!ours) {
      mismatches.push(`${label}: not evaluated`);
      continue;
    }
    const feeds: Record<string, Tensor> = {};
    c.inputs.forEach((t, i) => { if (t) feeds[`x${i}`] = t; });
    const graph = makeGraph({
      nodes: [n],
      inputs: c.inputs.flatMap((t, i) => (t ? [makeValueInfo(`x${i}`, t.dataType, t.dims)] : [])),
      outputs: ours.map((t, i) => makeValueInfo(`y${i}`, t.dataType)),
    });
    let theirs: Record<string, Tensor>;
    try {
      theirs = await runModel(makeModel(graph, { opset: c.opset, irVersion: 10 }), feeds);
    } catch (e) {
      mismatches.push(`${label}: onnxruntime failed: ${(e as Error).message}`);
      continue;
    }
    ours.forEach((t, i) => {
      const why = difference(t, theirs[`y${i}`]);
      if (why) mismatches.push(`${label} output ${i}: ${why}`);
    });
  }
  assert.deepEqual(mismatches, []);
});
