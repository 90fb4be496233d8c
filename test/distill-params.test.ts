// What `onnx-slim distill` trains: float weights; never scalars, Slice-read tables, or quantizer scales and zero points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../src/ir/dtype.js';
import { GraphBuilder, makeModel } from '../src/ir/builder.js';
import { Tensor } from '../src/ir/tensor.js';
import { trainableParameters } from '../src/cli/distill-params.js';

const f32 = (dims: number[]): Tensor => Tensor.fromArray(DataType.FLOAT, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5));
const i64 = (values: number[]): Tensor => Tensor.fromArray(DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt)));

test('trainable: float weights, not scalars, Slice-read tables or Q/DQ scales and zero points', () => {
  const b = new GraphBuilder('mixed');
  const x = b.input('x', DataType.FLOAT, [2, 4]);
  // A fake-quantized weight: the float weight trains, its per-channel scale does not.
  const wq = b.op('QuantizeLinear', [b.initializer('w', f32([4, 3])), b.initializer('w_scale', f32([3])), b.initializer('w_zero', Tensor.fromArray(DataType.INT8, [3], new Int8Array(3)))], { axis: 1 });
  const wdq = b.op('DequantizeLinear', [wq, 'w_scale', 'w_zero'], { axis: 1 });
  const y = b.op('Add', [b.op('MatMul', [x, wdq]), b.initializer('bias', f32([3]))]);
  const table = b.op('Slice', [b.initializer('cos', f32([8, 3])), b.initializer('starts', i64([0])), b.initializer('ends', i64([2])), b.initializer('axes', i64([0]))]);
  const z = b.op('Mul', [b.op('Mul', [y, table]), b.initializer('eps', f32([1]))]);
  // A scale read both as a scale and as a plain operand is trainable through the plain read.
  const shared = b.op('Mul', [z, b.initializer('gain', f32([3]))]);
  b.output(b.op('DequantizeLinear', [b.op('QuantizeLinear', [shared, 'gain']), 'gain']), DataType.FLOAT, [2, 3]);
  assert.deepEqual(trainableParameters(makeModel(b.build(), { opset: 13 })).sort(), ['bias', 'gain', 'w']);
});
