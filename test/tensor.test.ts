// Tensors: typed views over file bytes (aligned or not), sub-byte packing, float16 conversion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType, floatToHalf, halfToFloat, Tensor } from '../src/index.js';

test('a misaligned raw view decodes to the right values (copied once)', () => {
  const file = Buffer.alloc(16);
  file.writeFloatLE(-Infinity, 1);
  file.writeFloatLE(2.5, 5);
  const bytes = file.subarray(1, 9);
  const t = new Tensor(DataType.FLOAT, [2], { kind: 'raw', bytes });
  assert.deepEqual(Array.from(t.toArray() as Float32Array), [-Infinity, 2.5]);
});

test('an aligned raw view is not copied', () => {
  const file = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const t = new Tensor(DataType.FLOAT, [2], { kind: 'raw', bytes: file.subarray(8, 16) });
  const values = t.toArray() as Float32Array;
  assert.equal(values.buffer, file.buffer);
  assert.deepEqual(Array.from(values), [3, 4]);
});

test('int4 values pack two per byte and unpack with their sign', () => {
  const t = Tensor.fromArray(DataType.INT4, [5], Int8Array.of(-8, 7, -1, 0, 3));
  assert.equal(t.rawBytes().length, 3);
  assert.deepEqual(Array.from(t.toArray() as Int8Array), [-8, 7, -1, 0, 3]);
});

test('int32_data carries narrow types one element per entry', () => {
  const t = new Tensor(DataType.UINT8, [3], { kind: 'int32_data', values: Int32Array.of(1, 200, 255) });
  assert.deepEqual(Array.from(t.toArray() as Uint8Array), [1, 200, 255]);
  assert.deepEqual(Array.from(t.rawBytes()), [1, 200, 255]);
});

test('float16 conversion rounds to nearest even and keeps specials', () => {
  for (const x of [0, -0, 1, -2.5, 65504, 6.1035156e-5, 5.96e-8, Infinity, -Infinity]) {
    assert.equal(halfToFloat(floatToHalf(x)), Math.fround(x) === x && Math.abs(x) <= 65504 ? x : halfToFloat(floatToHalf(x)));
  }
  assert.equal(halfToFloat(floatToHalf(1 + 2 ** -11)), 1); // tie → even
  assert.equal(halfToFloat(floatToHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  assert.equal(floatToHalf(1e6), 0x7c00);
  assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
});

test('filled and scalar tensors encode the value in the element type (half and bfloat16 as bit patterns)', () => {
  for (const dt of [DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]) {
    assert.deepEqual([...Tensor.filled(dt, [2, 2], 1.5).toFloat32()], [1.5, 1.5, 1.5, 1.5], DataType[dt]);
    assert.deepEqual([...Tensor.scalar(dt, -3).toFloat32()], [-3], DataType[dt]);
  }
  assert.deepEqual([...Tensor.filled(DataType.BFLOAT16, [1], 1 + 2 ** -8).toFloat32()], [1], 'tie → even');
  assert.deepEqual([...Tensor.filled(DataType.BFLOAT16, [1], 1 + 3 * 2 ** -8).toFloat32()], [1 + 2 ** -6]);
  assert.deepEqual(Tensor.filled(DataType.INT64, [3], 7).toArray(), BigInt64Array.from([7n, 7n, 7n]));
  assert.equal(Tensor.filled(DataType.FLOAT, [0, 4], 1).size, 0);
});

test('shape and element count checks', () => {
  assert.throws(() => Tensor.fromArray(DataType.FLOAT, [2, 2], new Float32Array(3)), /needs 4 values/);
  const t = new Tensor(DataType.FLOAT, [4], { kind: 'raw', bytes: new Uint8Array(8) });
  assert.throws(() => t.toArray(), /holds 8 bytes|needs/);
});
