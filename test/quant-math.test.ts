// Quantization math: bit for bit against the ONNX backend suite, onnxruntime's quantizer formulas and kernels
// (reference numbers hard-coded below, with how they were made), and the block-wise int4 layouts run in onnxruntime.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { loadModel } from '../src/io/load.js';
import { DataType } from '../src/ir/dtype.js';
import { Tensor } from '../src/ir/tensor.js';
import { GraphBuilder, makeModel } from '../src/ir/builder.js';
import { attrInt, type Model, type Node } from '../src/ir/model.js';
import { runModel } from '../src/runtime/ort.js';
import {
  channelAbsMax, channelMinMax, dequantize, dynamicQuantize, quantize, roundHalfEven, tensorAbsMax, tensorMinMax, weightAxisFor,
} from '../src/quant/math.js';
import { isQuantType, paramsFromRange, paramsFromRanges, qRange, reducedQRange, type QuantParams, type QuantType } from '../src/quant/params.js';
import { quantizeBlockwise4, toBlockedDequantizeLinear, toMatMulNBits, type BlockQuantized } from '../src/quant/blockwise.js';
import { backendCases, readCaseData } from './helpers/backend-suite.js';
import { hasShared } from './helpers/paths.js';

/** Same bits (so -0 ≠ 0 and NaN payloads count), element by element; returns the first difference. */
function bitDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): string | undefined {
  if (actual.length !== expected.length) return `${actual.length} values, expected ${expected.length}`;
  for (let i = 0; i < expected.length; i++) if (!Object.is(actual[i], expected[i])) return `[${i}] is ${actual[i]}, expected ${expected[i]}`;
  return undefined;
}

/** xorshift32 in [-1, 1): deterministic weights without Math.random. */
function randomFloats(n: number, seed = 2463534242, spread = 1): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = (x / 2 ** 31 - 1) * spread;
  }
  return out;
}

describe('ONNX backend suite, bit for bit', { skip: !hasShared() && 'no shared backend suite' }, () => {
  const cases = backendCases().filter((c) => /^test_(quantizelinear|dequantizelinear|dynamicquantizelinear)/.test(c.name));
  const verified: string[] = [];
  const unsupported: string[] = [];

  const valueOf = (model: Model, inputs: Readonly<Record<string, Tensor>>, name: string | undefined): Tensor | undefined =>
    name ? inputs[name] ?? model.graph.initializers.get(name) : undefined;

  /** Params of a QuantizeLinear/DequantizeLinear node, or why this code does not take them. */
  function paramsOf(node: Node, scale: Tensor, zp: Tensor | undefined, dataType: DataType): QuantParams | string {
    if (scale.dataType !== DataType.FLOAT) return `${DataType[scale.dataType]} scale`;
    if (!isQuantType(dataType)) return `${DataType[dataType]} values`;
    const zeroPoint = zp ? Int32Array.from(zp.toArray() as ArrayLike<number>) : new Int32Array(scale.size);
    const blockSize = attrInt(node, 'block_size', 0);
    return { scale: scale.toFloat32(), zeroPoint, axis: attrInt(node, 'axis', 1), dataType, ...(blockSize ? { blockSize } : {}) };
  }

  for (const c of cases) {
    test(c.name, (t) => {
      const model = loadModel(c.modelPath);
      const data = readCaseData(c, model);
      assert.ok(data.ok, data.ok ? '' : data.reason);
      const { inputs, outputs } = data.data;
      const expected = outputs[model.graph.outputs[0].name];
      const x = inputs[model.graph.inputs[0].name];
      if (c.name.startsWith('test_dynamicquantizelinear')) {
        const r = dynamicQuantize(x.toFloat32());
        const [, scale, zp] = model.graph.outputs.map((o) => outputs[o.name]);
        assert.equal(bitDiff(r.q, expected.toArray() as Uint8Array), undefined);
        assert.ok(Object.is(r.scale, scale.toFloat32()[0]), `scale ${r.scale}, expected ${scale.toFloat32()[0]}`);
        assert.equal(r.zeroPoint, (zp.toArray() as Uint8Array)[0]);
        verified.push(c.name);
        return;
      }
      const node = model.graph.nodes.find((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear')!;
      const scale = valueOf(model, inputs, node.inputs[1])!;
      const zp = valueOf(model, inputs, node.inputs[2]);
      if (node.opType === 'QuantizeLinear') {
        const dataType = zp?.dataType ?? attrInt(node, 'output_dtype', DataType.UINT8);
        const params = paramsOf(node, scale, zp, dataType);
        if (typeof params === 'string') { unsupported.push(`${c.name} (${params})`); t.skip(params); return; }
        const q = quantize(x.toFloat32(), params, x.dims);
        const actual = Tensor.fromArray(dataType, x.dims, q);
        assert.equal(expected.dataType, dataType);
        assert.equal(bitDiff(actual.rawBytes(), expected.rawBytes()), undefined, 'packed bytes');
      } else {
        const params = paramsOf(node, scale, zp, x.dataType);
        if (typeof params === 'string') { unsupported.push(`${c.name} (${params})`); t.skip(params); return; }
        const y = dequantize(x.toArray() as ArrayLike<number>, params, x.dims);
        assert.equal(bitDiff(y, expected.toFloat32()), undefined);
      }
      verified.push(c.name);
    });
  }

  test('every integer case is verified; only float8/float4/float16-scale cases are left out', (t) => {
    t.diagnostic(`verified bit for bit (${verified.length}): ${verified.join(', ')}`);
    t.diagnostic(`not supported (${unsupported.length}): ${unsupported.join(', ')}`);
    assert.ok(verified.length >= 25, `only ${verified.length} cases verified`);
    for (const u of unsupported) assert.match(u, /FLOAT8|FLOAT4|FLOAT16/);
  });
});

describe('rounding and saturation', () => {
  test('roundHalfEven rounds ties to even, both signs, and leaves large values and specials alone', () => {
    const cases: Array<[number, number]> = [
      [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, -0], [-0.25, -0], [0.25, 0], [-1.5, -2], [-2.5, -2], [-3.5, -4], [0.49999997, 0], [-0.50000006, -1],
      [2 ** 51 + 0.5, 2 ** 51], [2 ** 51 + 1.5, 2 ** 51 + 2], [-(2 ** 51) - 0.5, -(2 ** 51)], [2 ** 52 + 1, 2 ** 52 + 1], [1e300, 1e300],
    ];
    for (const [v, r] of cases) assert.equal(roundHalfEven(v), r, `round(${v})`);
    assert.ok(Number.isNaN(roundHalfEven(NaN)));
    assert.equal(roundHalfEven(-Infinity), -Infinity);
  });

  test('QuantizeLinear ties round to even before the zero point is added', () => {
    const x = Float32Array.of(0.5, 1.5, 2.5, -0.5, -1.5, -2.5);
    const int8 = quantize(x, { scale: Float32Array.of(1), zeroPoint: Int32Array.of(0), dataType: DataType.INT8 }, [6]);
    assert.deepEqual(Array.from(int8), [0, 2, 2, 0, -2, -2]);
    const uint8 = quantize(x, { scale: Float32Array.of(1), zeroPoint: Int32Array.of(10), dataType: DataType.UINT8 }, [6]);
    assert.deepEqual(Array.from(uint8), [10, 12, 12, 10, 8, 8]);
    // x / scale lands on a tie only in float32: 0.3 / 0.2 is 1.4999999 in float64 and exactly 1.5 in float32.
    const tie = quantize(Float32Array.of(0.3), { scale: Float32Array.of(0.2), zeroPoint: Int32Array.of(0), dataType: DataType.INT8 }, [1]);
    assert.equal(Math.fround(Math.fround(0.3) / Math.fround(0.2)), 1.5);
    assert.equal(tie[0], 2);
  });

  test('values saturate to each type\'s range; NaN becomes the zero point', () => {
    const x = Float32Array.of(1e6, -1e6, Infinity, -Infinity, NaN, 3);
    const expected: Array<[QuantType, number[]]> = [
      [DataType.INT8, [127, -128, 127, -128, 1, 4]], [DataType.UINT8, [255, 0, 255, 0, 1, 4]],
      [DataType.INT16, [32767, -32768, 32767, -32768, 1, 4]], [DataType.UINT16, [65535, 0, 65535, 0, 1, 4]],
      [DataType.INT4, [7, -8, 7, -8, 1, 4]], [DataType.UINT4, [15, 0, 15, 0, 1, 4]],
      [DataType.INT2, [1, -2, 1, -2, 1, 1]], [DataType.UINT2, [3, 0, 3, 0, 1, 3]],
    ];
    for (const [dataType, want] of expected) {
      const q = quantize(x, { scale: Float32Array.of(1), zeroPoint: Int32Array.of(1), dataType }, [x.length]);
      assert.deepEqual(Array.from(q), want, DataType[dataType]);
      assert.deepEqual([Math.min(...q), Math.max(...q)].every((v) => v >= qRange(dataType)[0] && v <= qRange(dataType)[1]), true);
    }
    assert.deepEqual(reducedQRange(DataType.INT8), [-64, 64]);
    assert.deepEqual(reducedQRange(DataType.UINT8), [0, 127]);
  });

  test('dequantize computes (q - zp) * scale in float32, and int32 inputs round to float32 first', () => {
    const y = dequantize(Int8Array.of(-128, 0, 127), { scale: Float32Array.of(0.1), zeroPoint: Int32Array.of(-3) }, [3]);
    assert.deepEqual(Array.from(y), [-125, 3, 130].map((v) => Math.fround(v * Math.fround(0.1))));
    const big = dequantize(Int32Array.of(2 ** 30 + 1), { scale: Float32Array.of(3), zeroPoint: Int32Array.of(0) }, [1]);
    assert.equal(big[0], Math.fround(Math.fround(2 ** 30 + 1) * 3));
  });
});

describe('per-channel weights', () => {
  // One weight per op kind, with the shape its op gives it and the axis that indexes output channels.
  const kinds: Array<{ op: string; dims: number[]; attrs?: { transB: number }; axis: number }> = [
    { op: 'Conv', dims: [6, 3, 3, 3], axis: 0 },
    { op: 'ConvTranspose', dims: [3, 6, 2, 2], axis: 1 },
    { op: 'MatMul', dims: [16, 6], axis: 1 },
    { op: 'Gemm', dims: [6, 16], attrs: { transB: 1 }, axis: 0 },
    { op: 'Gemm', dims: [16, 6], attrs: { transB: 0 }, axis: 1 },
  ];

  test('weightAxisFor names the output-channel axis of each weight, and nothing for other inputs', () => {
    for (const k of kinds) assert.equal(weightAxisFor(k.op, 1, k.attrs, k.dims.length), k.axis, k.op);
    assert.equal(weightAxisFor('MatMul', 1, {}, 3), 2);
    assert.equal(weightAxisFor('Gemm', 1, { transB: 1n }), 0);
    assert.equal(weightAxisFor('Conv', 0), undefined);
    assert.equal(weightAxisFor('Conv', 2), undefined);
    assert.equal(weightAxisFor('Relu', 1), undefined);
  });

  for (const k of kinds) {
    test(`${k.op}${k.attrs ? ` transB=${k.attrs.transB}` : ''}: channel stats, params and codes match a per-element reference`, () => {
      const size = k.dims.reduce((a, b) => a * b, 1);
      const w = randomFloats(size, 7 + k.axis + size);
      const axis = weightAxisFor(k.op, 1, k.attrs, k.dims.length)!;
      const channels = k.dims[axis];
      const inner = k.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      const channelOf = (i: number): number => Math.floor(i / inner) % channels;
      const refMin = new Array<number>(channels).fill(Infinity), refMax = new Array<number>(channels).fill(-Infinity);
      w.forEach((v, i) => { refMin[channelOf(i)] = Math.min(refMin[channelOf(i)], v); refMax[channelOf(i)] = Math.max(refMax[channelOf(i)], v); });
      const { min, max } = channelMinMax(w, k.dims, axis);
      assert.deepEqual(Array.from(min), refMin);
      assert.deepEqual(Array.from(max), refMax);
      assert.deepEqual(Array.from(channelAbsMax(w, k.dims, axis)), refMin.map((lo, c) => Math.max(-lo, refMax[c])));
      for (const symmetric of [true, false]) {
        const params = paramsFromRanges(min, max, DataType.INT8, axis, { symmetric });
        const q = quantize(w, params, k.dims);
        const y = dequantize(q, params, k.dims);
        w.forEach((v, i) => {
          const c = channelOf(i);
          const one = quantize(Float32Array.of(v), { scale: params.scale.subarray(c, c + 1), zeroPoint: params.zeroPoint.subarray(c, c + 1), dataType: DataType.INT8 }, [1]);
          assert.equal(q[i], one[0], `element ${i}`);
          assert.ok(Math.abs(y[i] - v) <= params.scale[c] * 0.5000001, `element ${i}: ${v} → ${y[i]}`);
        });
        if (symmetric) assert.ok(params.zeroPoint.every((z) => z === 0));
      }
    });
  }

  test('tensor statistics skip NaN and are 0 for an empty array', () => {
    assert.deepEqual(tensorMinMax(Float32Array.of(NaN, -2, 5)), { min: -2, max: 5 });
    assert.deepEqual(tensorMinMax(new Float32Array(0)), { min: 0, max: 0 });
    assert.equal(tensorAbsMax(Float32Array.of(1, -7, 3)), 7);
  });
});

test('paramsFromRange matches onnxruntime\'s compute_scale_zp bit for bit', () => {
  // Produced once with onnxruntime 1.30.0 (python, numpy 2.4): qmin, qmax = get_qmin_qmax_for_qType(type, reduce_range,
  // symmetric); zp, scale = compute_scale_zp(np.float32(rmin), np.float32(rmax), qmin, qmax, symmetric); printed as
  // float(scale) (the float32 value, exactly) and int(zp).
  const reference: Array<[number, number, QuantType, { symmetric: boolean; reduceRange: boolean }, number, number]> = [
    [-1.0, 1.0, DataType.UINT8, { symmetric: false, reduceRange: false }, 0.007843137718737125, 128],
    [-0.3, 2.7, DataType.UINT8, { symmetric: false, reduceRange: false }, 0.0117647061124444, 26],
    [0.5, 3.1, DataType.UINT8, { symmetric: false, reduceRange: false }, 0.012156862765550613, 0],
    [-4.2, -0.1, DataType.UINT8, { symmetric: false, reduceRange: false }, 0.016470586881041527, 255],
    [-1.0, 1.0, DataType.UINT8, { symmetric: true, reduceRange: false }, 0.007843137718737125, 128],
    [-0.3, 2.7, DataType.UINT8, { symmetric: true, reduceRange: false }, 0.021176470443606377, 128],
    [-0.3, 2.7, DataType.INT8, { symmetric: false, reduceRange: false }, 0.0117647061124444, -102],
    [-0.3, 2.7, DataType.INT8, { symmetric: true, reduceRange: false }, 0.021259842440485954, 0],
    [-5.75, 1.1, DataType.INT8, { symmetric: true, reduceRange: false }, 0.04527559131383896, 0],
    [-0.3, 2.7, DataType.INT8, { symmetric: false, reduceRange: true }, 0.0234375, -51],
    [-0.3, 2.7, DataType.UINT8, { symmetric: false, reduceRange: true }, 0.023622047156095505, 13],
    [-0.3, 2.7, DataType.INT8, { symmetric: true, reduceRange: true }, 0.04218750074505806, 0],
    [-0.001, 0.0007, DataType.INT16, { symmetric: false, reduceRange: false }, 2.594033787772787e-08, 5782],
    [-0.001, 0.0007, DataType.INT16, { symmetric: true, reduceRange: false }, 3.0518510385491027e-08, 0],
    [-0.001, 0.0007, DataType.UINT16, { symmetric: false, reduceRange: false }, 2.594033787772787e-08, 38550],
    [-0.001, 0.0007, DataType.UINT16, { symmetric: true, reduceRange: false }, 3.0518044979999104e-08, 32768],
    [-0.77, 0.31, DataType.INT4, { symmetric: false, reduceRange: false }, 0.07199999690055847, 3],
    [-0.77, 0.31, DataType.INT4, { symmetric: true, reduceRange: false }, 0.10266666114330292, 0],
    [-0.77, 0.31, DataType.UINT4, { symmetric: false, reduceRange: false }, 0.07199999690055847, 11],
    [-0.77, 0.31, DataType.UINT4, { symmetric: true, reduceRange: false }, 0.10266666114330292, 8],
    [0.0, 0.0, DataType.UINT8, { symmetric: false, reduceRange: false }, 1.0, 0],
    [0.0, 0.0, DataType.UINT8, { symmetric: true, reduceRange: false }, 1.0, 0],
    [0.0, 0.0, DataType.INT8, { symmetric: true, reduceRange: false }, 1.0, 0],
    [-1e-40, 1e-40, DataType.INT8, { symmetric: false, reduceRange: false }, 1.0, 0],
    [0.1, 0.1, DataType.UINT8, { symmetric: false, reduceRange: false }, 0.0003921568568330258, 0],
    [-123456.7, 0.001, DataType.INT8, { symmetric: false, reduceRange: false }, 484.1439208984375, 127],
  ];
  for (const [rmin, rmax, dataType, options, scale, zeroPoint] of reference) {
    const p = paramsFromRange(rmin, rmax, dataType, options);
    assert.ok(Object.is(p.scale, scale) && p.zeroPoint === zeroPoint,
      `[${rmin}, ${rmax}] ${DataType[dataType]} ${JSON.stringify(options)}: got ${p.scale}, ${p.zeroPoint}; expected ${scale}, ${zeroPoint}`);
  }
});

describe('against onnxruntime kernels', () => {
  const ir10 = (b: GraphBuilder, opset: number): Model => makeModel(b.build(), { opset, irVersion: 10 });

  test('QuantizeLinear/DequantizeLinear per-axis and blocked: our codes and floats equal onnxruntime\'s bit for bit', async () => {
    const dims = [8, 12];
    const x = randomFloats(96, 99, 3);
    const perAxis: QuantParams = { scale: randomFloats(12, 5).map((v) => Math.abs(v) * 0.05 + 0.001), zeroPoint: Int32Array.from({ length: 12 }, (_, i) => i * 7 - 40), axis: 1, dataType: DataType.INT8 };
    const blocked: QuantParams = { scale: randomFloats(3 * 12, 6).map((v) => Math.abs(v) * 0.3 + 0.01), zeroPoint: Int32Array.from({ length: 36 }, (_, i) => i % 16), axis: 0, blockSize: 3, dataType: DataType.UINT4 };
    for (const p of [perAxis, blocked]) {
      const sDims = p.blockSize ? [3, 12] : [12];
      const b = new GraphBuilder();
      const xi = b.input('x', DataType.FLOAT, dims);
      const s = b.initializer('s', Tensor.fromArray(DataType.FLOAT, sDims, p.scale));
      const z = b.initializer('z', Tensor.fromArray(p.dataType, sDims, p.dataType === DataType.INT8 ? Int8Array.from(p.zeroPoint) : Uint8Array.from(p.zeroPoint)));
      const attrs = { axis: p.axis!, ...(p.blockSize ? { block_size: p.blockSize } : {}) };
      const q = b.op('QuantizeLinear', [xi, s, z], attrs);
      const y = b.op('DequantizeLinear', [q, s, z], attrs);
      // Codes come back through Cast: onnxruntime-node 1.30 aborts the process (out of memory) returning int4 outputs.
      const codes = b.op('Cast', [q], { to: p.dataType === DataType.INT8 ? DataType.INT8 : DataType.UINT8 });
      b.output(codes, p.dataType === DataType.INT8 ? DataType.INT8 : DataType.UINT8, dims);
      b.output(y, DataType.FLOAT, dims);
      const out = await runModel(ir10(b, 21), { [xi]: Tensor.fromArray(DataType.FLOAT, dims, x) });
      const ours = quantize(x, p, dims);
      assert.equal(bitDiff(ours, out[codes].toArray() as ArrayLike<number>), undefined, `${DataType[p.dataType]} codes`);
      assert.equal(bitDiff(dequantize(ours, p, dims), out[y].toFloat32()), undefined, `${DataType[p.dataType]} floats`);
    }
  });

  test('DynamicQuantizeLinear equals onnxruntime\'s on random data; all zeros give scale 1, zero point 0', async () => {
    const b = new GraphBuilder();
    const xi = b.input('x', DataType.FLOAT, [1000]);
    const [q, s, z] = b.node('DynamicQuantizeLinear', [xi], {}, { outputs: 3 });
    b.output(q, DataType.UINT8, [1000]); b.output(s, DataType.FLOAT, []); b.output(z, DataType.UINT8, []);
    for (const x of [randomFloats(1000, 3, 4), randomFloats(1000, 4, 4).map((v) => Math.abs(v) + 0.5), new Float32Array(1000)]) {
      const out = await runModel(makeModel(b.build(), { opset: 11 }), { [xi]: Tensor.fromArray(DataType.FLOAT, [1000], x) });
      const ours = dynamicQuantize(x);
      assert.equal(bitDiff(ours.q, out[q].toArray() as Uint8Array), undefined);
      assert.ok(Object.is(ours.scale, out[s].toFloat32()[0]), `scale ${ours.scale} vs ${out[s].toFloat32()[0]}`);
      assert.equal(ours.zeroPoint, (out[z].toArray() as Uint8Array)[0]);
    }
    const zeros = dynamicQuantize(new Float32Array(4));
    assert.deepEqual([zeros.scale, zeros.zeroPoint, ...zeros.q], [1, 0, 0, 0, 0, 0]);
  });
});

describe('block-wise int4 (MatMulNBits and blocked DequantizeLinear)', () => {
  /** The weight the reference below was computed from: xorshift32 values / 997 plus hand-placed ties and edge blocks. */
  function referenceWeight(): Float32Array {
    const K = 80, N = 5;
    const w = new Float32Array(K * N);
    let x = 2463534242;
    for (let i = 0; i < K * N; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; w[i] = (x % 2001 - 1000) / 997; }
    // Column 0, block 0 (asymmetric scale 1, zero point 1) and column 1, block 1 (symmetric scale 1): code ties.
    [-1, 14, 0.5, 1.5, 2.5, -0.5, 3.5, 12.5, 13.5, -0.25].forEach((v, r) => { w[r * N] = v; });
    [-8, 2.5, 3.5, -2.5, 0.5, -0.5, 7.5, 6.5, -7.5, 1.5].forEach((v, r) => { w[(32 + r) * N + 1] = v; });
    for (let r = 32; r < 64; r++) w[r * N + 2] = 0; // an all-zero block
    for (let r = 0; r < 32; r++) w[r * N + 3] = Math.abs(w[r * N + 3]); // an all-positive block
    return w;
  }

  // Produced once with onnxruntime 1.30.0 (python): quantize_matmul_4bits(packed, weight padded to K=96, scales,
  // zero_points, 32, 5, 96, is_symmetric) from onnxruntime.capi._pybind_state, what matmul_nbits_quantizer.py calls;
  // printed as packed.tobytes().hex(), [float(s) for s in scales.ravel()], zero_points.tobytes().hex().
  const MLAS = {
    asym: {
      B:
        'f03214e51f10020011012101212221127edacf98db2d1c09718541c933bae6516e4738109f522b9f8888888888888888a754' +
        'ac2f1dc710128aca0cb12d1d2f31a06b88ef917888888898889788788987c409f970bd0cbef77777777777777777b92a7eb1' +
        'af8c1e401205cc3f756ea0dd00000000000000000000000000000000cbf6253039e1391a7777777777777777ba7e7b48f424' +
        'ebaa63785091d6385546abf2d18fb45a6a1af58accc3423c8ef03bb3fbc10dd889fe8888888888888888ea21096305d4cfcd' +
        'ea84856c402de149fa780f6e3117e3fe8eaa21d4ba05db38460f5bdf7cc019328888888888888888',
      scales: [
        1.0, 0.12189903110265732, 0.13032430410385132, 0.12337010353803635, 1.0333333015441895, 0.12684720754623413,
        0.1229020431637764, 0.0, 0.12443998456001282, 0.06526245176792145, 0.13065864145755768, 0.13079237937927246,
        0.13186225295066833, 0.12056168913841248, 0.119491808116436,
      ],
      zp: '71888887078780888788',
    },
    sym: {
      B:
        '097887168088889888887898788788888125306724d2f3f68e7abe36cd4519af5f4738009f412baf8888888888888888a754' +
        'ac2f1dc710138aba0cb12d1d2f31b06c89ffa178888878988897887889872bf6068f42f34108888888888888888846d5804e' +
        '5073f1bfedfa33c08a915f22888888888888888888888888888888883309ebdfc61ed6f58888888888888888235042640676' +
        '02335644583715746565abf2e18fb45a6a1af48accc3423c8ef02bb3fbc10de889fe888888888888888805dff59cfa1b2021' +
        '157b7a92bfe11fb6fa780f6e3007e2ff8eaa21e4ba04db38460f5bdf7cc019328888888888888888',
      scales: [
        -1.75, -0.11935807764530182, 0.12224172800779343, 0.12437312304973602, 1.0, -0.1246238723397255,
        -0.11810431629419327, -0.0, -0.11710130423307419, -0.12236709892749786, 0.12487462162971497,
        0.12412236630916595, -0.12412236630916595, 0.11346539855003357, 0.11835506558418274,
      ],
    },
  };

  test('the MatMulNBits bytes, scales and zero points equal onnxruntime\'s quantizer\'s, ties included', () => {
    const w = referenceWeight();
    for (const [mode, ref] of Object.entries(MLAS) as Array<[string, { B: string; scales: number[]; zp?: string }]>) {
      const t = toMatMulNBits(quantizeBlockwise4(w, 80, 5, { blockSize: 32, symmetric: mode === 'sym' }));
      assert.equal(Buffer.from(t.B.rawBytes()).toString('hex'), ref.B, `${mode} B`);
      assert.equal(bitDiff(t.scales.toFloat32(), ref.scales), undefined, `${mode} scales`);
      assert.equal(t.zeroPoints ? Buffer.from(t.zeroPoints.rawBytes()).toString('hex') : undefined, ref.zp, `${mode} zero points`);
      assert.deepEqual(t.B.dims, [5, 3, 16]);
      assert.deepEqual(t.scales.dims, [5, 3]);
    }
  });

  const shapes = [{ k: 200, n: 24, blockSize: 32 }, { k: 256, n: 16, blockSize: 64 }, { k: 300, n: 8, blockSize: 128 }];

  for (const { k, n, blockSize } of shapes) {
    for (const symmetric of [false, true]) {
      test(`K=${k} N=${n} block ${blockSize} ${symmetric ? 'symmetric' : 'asymmetric'}: RTN error bound, and both layouts run in onnxruntime to our weights`, async (t) => {
        const w = randomFloats(k * n, k * 31 + n, 0.2);
        const q = quantizeBlockwise4(w, k, n, { blockSize, symmetric });
        assertErrorBound(w, q);
        const a = randomFloats(3 * k, 11);
        const expected = matmul(a, q.dequantized, 3, k, n);

        const nbits = toMatMulNBits(q);
        const b1 = new GraphBuilder();
        const ai = b1.input('a', DataType.FLOAT, ['M', k]);
        const inputs = [ai, b1.initializer('B', nbits.B), b1.initializer('scales', nbits.scales)];
        if (nbits.zeroPoints) inputs.push(b1.initializer('zero_points', nbits.zeroPoints));
        const y1 = b1.op('MatMulNBits', inputs, nbits.attributes, { domain: 'com.microsoft' });
        b1.output(y1, DataType.FLOAT, ['M', n]);
        const m1 = makeModel(b1.build(), { opset: [{ domain: '', version: 21 }, { domain: 'com.microsoft', version: 1 }], irVersion: 10 });
        assertClose((await runModel(m1, { [ai]: Tensor.fromArray(DataType.FLOAT, [3, k], a) }))[y1].toFloat32(), expected, 'MatMulNBits');
        // Times the identity, MatMulNBits returns the weights it dequantized: ours, bit for bit (up to the sign of zero).
        const eye = new Float32Array(k * k);
        for (let i = 0; i < k; i++) eye[i * k + i] = 1;
        const back = (await runModel(m1, { [ai]: Tensor.fromArray(DataType.FLOAT, [k, k], eye) }))[y1].toFloat32();
        assert.equal(bitDiff(back.map((v) => v + 0), q.dequantized.map((v) => v + 0)), undefined, 'MatMulNBits dequantizes to our weights');

        const dq = toBlockedDequantizeLinear(q);
        assert.equal(dq.weight.dataType, symmetric ? DataType.INT4 : DataType.UINT4);
        const b2 = new GraphBuilder();
        const a2 = b2.input('a', DataType.FLOAT, [3, k]);
        const dqInputs = [b2.initializer('w', dq.weight), b2.initializer('scale', dq.scale)];
        if (dq.zeroPoint) dqInputs.push(b2.initializer('zero_point', dq.zeroPoint));
        const wf = b2.op('DequantizeLinear', dqInputs, dq.attributes);
        const y2 = b2.op('MatMul', [a2, wf]);
        b2.output(y2, DataType.FLOAT, [3, n]);
        b2.output(wf, DataType.FLOAT, [k, n]);
        const out2 = await runModel(makeModel(b2.build(), { opset: 21, irVersion: 10 }), { [a2]: Tensor.fromArray(DataType.FLOAT, [3, k], a) });
        assert.equal(bitDiff(out2[wf].toFloat32(), q.dequantized), undefined, 'DequantizeLinear(int4, blocked) gives our dequantized weights bit for bit');
        assertClose(out2[y2].toFloat32(), expected, 'DequantizeLinear → MatMul');
        t.diagnostic(`max |w - dequantized| = ${maxAbsDiff(w, q.dequantized).toExponential(3)}`);
      });
    }
  }

  test('performance: 768×3072 weight, per-channel int8 and block-wise int4 (logged, not asserted)', (t) => {
    const k = 768, n = 3072;
    const w = randomFloats(k * n, 1234, 0.1);
    /** First run (cold JIT) and best of five, in ms. */
    const time = (f: () => void): string => {
      const runs = Array.from({ length: 6 }, () => { const t0 = performance.now(); f(); return performance.now() - t0; });
      return `${runs[0].toFixed(1)} cold, ${Math.min(...runs.slice(1)).toFixed(1)} warm`;
    };
    let params: QuantParams | undefined;
    const stats = time(() => { const { min, max } = channelMinMax(w, [k, n], 1); params = paramsFromRanges(min, max, DataType.INT8, 1, { symmetric: true }); });
    const q = quantize(w, params!, [k, n]);
    t.diagnostic(`per-channel int8 (axis 1), 768×3072: min/max + params ${stats}; quantize ${time(() => quantize(w, params!, [k, n], q))}; ` +
      `dequantize ${time(() => dequantize(q, params!, [k, n]))} ms`);
    t.diagnostic(`block-wise int4 (block 32), 768×3072: quantize ${time(() => quantizeBlockwise4(w, k, n, { blockSize: 32, symmetric: false }))} ms`);
  });
});

/**
 * Round-to-nearest keeps each weight within half a step, up to float32 rounding of w / scale. The symmetric scheme
 * maps the largest magnitude to -8, so values of the other sign above 7.5 steps saturate at 7: within one step.
 */
function assertErrorBound(w: Float32Array, q: BlockQuantized): void {
  for (let r = 0; r < q.k; r++) {
    for (let c = 0; c < q.n; c++) {
      const i = r * q.n + c, p = Math.floor(r / q.blockSize) * q.n + c;
      const step = Math.abs(q.scales[p]);
      const saturated = q.symmetric && q.codes[i] === 15;
      const bound = (saturated ? 1 : 0.5) * step * (1 + 1e-5) + 1e-12;
      assert.ok(Math.abs(w[i] - q.dequantized[i]) <= bound, `w[${r}, ${c}] = ${w[i]} → ${q.dequantized[i]} (scale ${q.scales[p]})`);
    }
  }
}

function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
    const av = a[i * k + p];
    for (let j = 0; j < n; j++) y[i * n + j] += av * b[p * n + j];
  }
  return y;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Within 1e-4 of the largest output: float32 accumulation order differs from the float64 reference. */
function assertClose(actual: Float32Array, expected: Float64Array, what: string): void {
  const scale = Math.max(...Array.from(expected, Math.abs));
  const diff = maxAbsDiff(actual, expected);
  assert.ok(diff <= 1e-4 * scale, `${what}: max difference ${diff} vs largest output ${scale}`);
}
