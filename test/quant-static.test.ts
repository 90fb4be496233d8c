// Static (QDQ) quantization: what onnxruntime runs after it (fused integer kernels, no stray Q/DQ around float ops;
// attention itself: test/quant-attention.test.ts),
// fidelity, the kernels onnxruntime refuses to fuse unless their output is quantized, QAT models and PACT clips,
// options and calibration data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  assertValid, cleanup, compile, DataType, GraphBuilder, loadModel, makeModel, OptionError, quant, runModel, Tensor, type Model,
} from '../src/index.js';
import { buildBert, BERT_TINY, normalArray, randomInputIds } from './helpers/transformer.js';
import { fusedOps } from './helpers/ort-fusion.js';
import { REAL_MODELS, SCRATCH_DIR } from './helpers/paths.js';
import { applyRules, RuleSet, type Rule } from '../src/index.js';
import { foldBatchNorm, removeClip, shareQuantize } from '../rules/quant/static/index.js';
import { clipParams } from '../src/quant/placement.js';
import { randomFeeds } from './helpers/feeds.js';
import { writeNpy } from './helpers/npy.js';

type Feed = Record<string, Tensor>;

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

const first = async (m: Model, feed: Feed): Promise<Float32Array> => Object.values(await runModel(m, feed))[0].toFloat32();
const weight = (b: GraphBuilder, name: string, dims: number[], std: number, seed: number): string =>
  b.initializer(name, Tensor.fromArray(DataType.FLOAT, dims, normalArray(dims.reduce((x, y) => x * y, 1), std, seed)));
const image = (seed: number, dims = [1, 3, 16, 16]): Feed => ({ image: Tensor.fromArray(DataType.FLOAT, dims, normalArray(dims.reduce((x, y) => x * y, 1), 1, seed)) });
const staticQuant = (calib: readonly Feed[], options: Parameters<typeof quant>[0] = {}) => quant({ mode: 'static', calib_data: calib, ...options });

/** Conv → Relu → Conv(stride 2) → GlobalAveragePool → Flatten → Gemm, as a small classifier exports. */
function smallCnn(opset = 17): Model {
  const b = new GraphBuilder('cnn');
  const x = b.input('image', DataType.FLOAT, [1, 3, 16, 16]);
  const c1 = b.op('Conv', [x, weight(b, 'conv1.w', [8, 3, 3, 3], 0.3, 1), weight(b, 'conv1.b', [8], 0.1, 2)], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
  const r1 = b.op('Relu', [c1], {}, { name: 'relu1' });
  const c2 = b.op('Conv', [r1, weight(b, 'conv2.w', [16, 8, 3, 3], 0.2, 3), weight(b, 'conv2.b', [16], 0.1, 4)], { pads: [1, 1, 1, 1], strides: [2, 2] }, { name: 'conv2' });
  const gap = b.op('GlobalAveragePool', [c2], {}, { name: 'gap' });
  const flat = b.op('Flatten', [gap], { axis: 1 }, { name: 'flatten' });
  b.output(b.op('Gemm', [flat, weight(b, 'fc.w', [10, 16], 0.3, 5), weight(b, 'fc.b', [10], 0.1, 6)], { transB: 1 }, { name: 'fc' }), DataType.FLOAT, [1, 10]);
  return makeModel(b.build(), { opset });
}

const cnnCalib = Array.from({ length: 4 }, (_, i) => image(100 + i));

test('a small CNN runs as QLinearConv, QLinearGlobalAveragePool and QGemm, with only its input quantized in float', async () => {
  const model = smallCnn();
  const { model: q, reports } = await compile(model, [staticQuant(cnnCalib)], { verify: true });
  const notes = reports[0].notes;
  assert.equal(notes['static: kernels'], 3);
  assert.equal(notes['quant/static-remove-clip'], 1, 'the Relu is absorbed by the quantizer after it');
  const ops = await fusedOps(q);
  assert.equal(ops['com.microsoft.QLinearConv'], 2, JSON.stringify(ops));
  assert.equal(ops['com.microsoft.QLinearGlobalAveragePool'], 1, JSON.stringify(ops));
  assert.equal(ops['com.microsoft.QGemm'], 1, JSON.stringify(ops));
  assert.equal(ops.QuantizeLinear, 1, JSON.stringify(ops)); // the image
  assert.equal(ops.DequantizeLinear, undefined, JSON.stringify(ops));
  for (const op of ['Conv', 'Gemm', 'Relu', 'GlobalAveragePool']) assert.equal(ops[op], undefined, `${op} left in float: ${JSON.stringify(ops)}`);
  for (const seed of [7, 8]) assert.ok(cosine(await first(model, image(seed)), await first(q, image(seed))) > 0.99);
  assert.ok(reports[0].after.bytes < reports[0].before.bytes);
});

test('a BERT runs every linear layer as QGemm (static shapes) or MatMulIntegerToFloat with its bias (dynamic shapes), attention as QAttention, the rest in float', async () => {
  const calib = Array.from({ length: 4 }, (_, i) => ({ input_ids: randomInputIds(BERT_TINY.vocab, 2, 16, 100 + i) }));
  const feed = { input_ids: randomInputIds(BERT_TINY.vocab, 2, 16, 5) };
  for (const shape of [{ batch: 2, seq: 16 }, {}]) {
    for (const fuse of [true, false]) {
      const model = buildBert({ ...BERT_TINY, seed: 11, ...shape });
      const { model: q, reports } = await compile(model, [cleanup(), staticQuant(calib, { fuse_attention: fuse })], { verify: true });
      const notes = reports[1].notes;
      // Fused, Q/K/V are one QAttention per layer; unfused, they share one quantizer.
      assert.equal(notes['static: kernels'], fuse ? 8 : 12);
      assert.equal(notes['quant/static-share-quantize'], fuse ? undefined : 4);
      const ops = await fusedOps(q);
      const fused = shape.seq ? 'com.microsoft.QGemm' : 'com.microsoft.MatMulIntegerToFloat';
      assert.equal(ops[fused], fuse ? 6 : 12, JSON.stringify(ops));
      assert.equal(ops['com.microsoft.QAttention'], fuse ? 2 : undefined, JSON.stringify(ops));
      assert.equal(ops.QuantizeLinear, 8, JSON.stringify(ops)); // 4 activations per layer
      // What stays: the dequantized embedding rows (quant/gather-weight), nothing around float ops.
      assert.equal(ops.DequantizeLinear, notes['quant/gather-weight'], JSON.stringify(ops));
      assert.equal(ops.Gemm, undefined, JSON.stringify(ops));
      // Biases inside the kernels (QGemm's C, MatMulIntegerToFloat's bias): the Adds left are the embedding sum and
      // the residuals, each before its LayerNormalization (static shapes: written over rows, so that onnxruntime
      // does not fuse its slower SkipLayerNormalization; dynamic shapes: never fused).
      assert.equal(ops.Add, 5, JSON.stringify(ops));
      assert.equal(ops['com.microsoft.SkipLayerNormalization'], undefined, JSON.stringify(ops));
      assert.equal(notes['quant/static-matmul-integer-to-float'], shape.seq ? undefined : ops['com.microsoft.MatMulIntegerToFloat']);
      assert.equal(ops.MatMul, fuse ? undefined : 2, JSON.stringify(ops)); // unfused attention: activations × activations stay float
      assert.ok(cosine(await first(model, feed), await first(q, feed)) > 0.999);
    }
  }
});

test('a MatMul + bias Add that cannot become a Gemm (dynamic shapes) runs as MatMulIntegerToFloat with the bias inside, within the rounding bound', async () => {
  const [K, N] = [8, 5];
  for (const biasFirst of [false, true]) {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['batch', 3, K]);
    const w = normalArray(K * N, 0.4, 1), bias = normalArray(N, 0.5, 2);
    const y = b.op('MatMul', [x, b.initializer('w', Tensor.fromArray(DataType.FLOAT, [K, N], w))], {}, { name: 'linear' });
    const bName = b.initializer('b', Tensor.fromArray(DataType.FLOAT, [N], bias));
    b.output(b.op('Add', biasFirst ? [bName, y] : [y, bName]), DataType.FLOAT, ['batch', 3, N]);
    const model = makeModel(b.build());
    const xs = normalArray(2 * 3 * K, 1, 3);
    const feed = { x: Tensor.fromArray(DataType.FLOAT, [2, 3, K], xs) };
    const { model: q, reports } = await compile(model, [staticQuant([feed], { algo: 'abs_max' })], { verify: true });
    assert.equal(reports[0].notes['quant/static-matmul-integer-to-float'], 1);
    const node = q.graph.nodes.find((n) => n.opType === 'MatMulIntegerToFloat')!;
    assert.equal(node.domain, 'com.microsoft');
    assert.equal(node.inputs[6], bName, 'the float bias as it was');
    const ops = await fusedOps(q);
    assert.deepEqual(ops, { QuantizeLinear: 1, 'com.microsoft.MatMulIntegerToFloat': 1 });
    const [sx, sw] = [q.graph.initializers.get(node.inputs[2])!.toFloat32()[0], q.graph.initializers.get(node.inputs[3])!.toFloat32()];
    const [exact, approx] = [await first(model, feed), await first(q, feed)];
    for (let i = 0; i < exact.length; i++) {
      const [row, col] = [Math.floor(i / N), i % N];
      let bound = 1e-5;
      for (let r = 0; r < K; r++) bound += Math.abs(xs[row * K + r]) * sw[col] / 2 + (Math.abs(w[r * N + col]) + sw[col] / 2) * sx / 2;
      assert.ok(Math.abs(exact[i] - approx[i]) <= bound, `y[${i}]: ${exact[i]} vs ${approx[i]} (bound ${bound})`);
    }
  }
});

test('a MatMul read by one Relu, or by a residual Add, quantizes its output so that onnxruntime still fuses it', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [4, 8]);
  const h = b.op('Relu', [b.op('MatMul', [x, weight(b, 'w1', [8, 8], 0.4, 1)])]);
  const y = b.op('Add', [b.op('MatMul', [h, weight(b, 'w2', [8, 8], 0.4, 2)]), x]);
  b.output(b.op('MatMul', [y, weight(b, 'w3', [8, 4], 0.4, 3)]), DataType.FLOAT, [4, 4]);
  const model = makeModel(b.build());
  const calib = [0, 1, 2].map((s) => ({ x: Tensor.fromArray(DataType.FLOAT, [4, 8], normalArray(32, 1, s)) }));
  const { model: q } = await compile(model, [staticQuant(calib)], { verify: true });
  const ops = await fusedOps(q);
  // w1 → Relu: QLinearMatMul with the Relu absorbed; w2 → residual Add: QLinearMatMul (not a float Gemm);
  // w3 → graph output: MatMulIntegerToFloat.
  assert.equal(ops.QLinearMatMul, 2, JSON.stringify(ops));
  assert.equal(ops['com.microsoft.MatMulIntegerToFloat'], 1, JSON.stringify(ops));
  for (const op of ['MatMul', 'Gemm', 'Relu']) assert.equal(ops[op], undefined, `${op}: ${JSON.stringify(ops)}`);
  assert.ok(cosine(await first(model, calib[0]), await first(q, calib[0])) > 0.99);
});

test('a QAT model keeps its quantizers; a PACT clip sets the range of the quantizer after it and disappears', async () => {
  const b = new GraphBuilder();
  const x = b.input('image', DataType.FLOAT, [1, 2, 6, 6]);
  const qatScale = b.initializer('qat.scale', Tensor.scalar(DataType.FLOAT, 0.05));
  const qatZero = b.initializer('qat.zero', Tensor.scalar(DataType.UINT8, 128));
  const deq = b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, qatScale, qatZero]), qatScale, qatZero]);
  const wq = b.initializer('qat.w', Tensor.fromArray(DataType.INT8, [3, 2, 1, 1], Int8Array.of(10, -20, 30, -40, 50, -60)));
  const wdq = b.op('DequantizeLinear', [wq, b.initializer('qat.w.scale', Tensor.scalar(DataType.FLOAT, 0.01))]);
  const outScale = b.initializer('qat.out.scale', Tensor.scalar(DataType.FLOAT, 0.1));
  const qatOut = b.op('QuantizeLinear', [b.op('Conv', [deq, wdq], {}, { name: 'qat_conv' }), outScale, qatZero]);
  b.output(b.op('DequantizeLinear', [qatOut, outScale, qatZero]), DataType.FLOAT, [1, 3, 6, 6]);
  const clipped = b.op('Clip', [x, b.initializer('lo', Tensor.scalar(DataType.FLOAT, 0)), b.initializer('hi', Tensor.scalar(DataType.FLOAT, 6))], {}, { name: 'pact' });
  b.output(b.op('Conv', [clipped, weight(b, 'w', [3, 2, 3, 3], 0.3, 1), weight(b, 'b', [3], 0.1, 2)], { pads: [1, 1, 1, 1] }, { name: 'float_conv' }), DataType.FLOAT, [1, 3, 6, 6]);
  const model = makeModel(b.build());
  const calib = [1, 2].map((s) => ({ image: Tensor.fromArray(DataType.FLOAT, [1, 2, 6, 6], normalArray(72, 2, s)) }));
  const { model: q, reports } = await compile(model, [staticQuant(calib)], { verify: true });
  assert.equal(reports[0].notes['static: kernels'], 1, 'the QAT Conv is left as it is');
  assert.equal(reports[0].notes['static: calibrated values'], 1, 'the clipped input takes the clip range, only the Conv output is calibrated');
  // The QAT quantizers: same nodes, same scale tensors.
  for (const name of ['qat.scale', 'qat.zero', 'qat.w', 'qat.w.scale', 'qat.out.scale']) assert.equal(q.graph.initializers.get(name), model.graph.initializers.get(name));
  assert.ok(q.graph.nodes.some((n) => n.name === 'qat_conv' && n.inputs[0] === deq));
  // PACT: the quantizer in front of the float Conv covers [0, 6] exactly and the Clip is gone.
  assert.equal(q.graph.nodes.filter((n) => n.opType === 'Clip').length, 0);
  const quantizer = q.graph.nodes.find((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === x && n.inputs[1] !== qatScale)!;
  assert.equal(q.graph.initializers.get(quantizer.inputs[1])!.toFloat32()[0], Math.fround(6 / 255));
  assert.equal(Number(q.graph.initializers.get(quantizer.inputs[2])!.toArray()[0]), 0);
  const ops = await fusedOps(q);
  assert.equal(ops['com.microsoft.QLinearConv'], 2, JSON.stringify(ops));
  assert.equal(ops.Clip, undefined, JSON.stringify(ops));
  const [a, c] = [await runModel(model, calib[0]), await runModel(q, calib[0])];
  for (const k of Object.keys(a)) assert.ok(cosine(a[k].toFloat32(), c[k].toFloat32()) > 0.99, k);
});

test('static mode needs calibration data: a clear error without, a folder of .npy files with --calib', async () => {
  const model = smallCnn();
  await assert.rejects(compile(model, [quant({ mode: 'static' })]), (e: Error) => e instanceof OptionError && /needs calibration data: --calib DIR/.test(e.message));
  const dir = path.join(SCRATCH_DIR, 'quant-static-npy');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeNpy(path.join(dir, 'image.npy'), '<f4', [3, 3, 16, 16], normalArray(3 * 768, 1, 9));
  const { model: q, reports } = await compile(model, [quant({ mode: 'static', calib: dir, algo: 'KL', batch_num: 2 })], { verify: true });
  assert.equal(reports[0].notes['static: calibration batches'], 2);
  assert.ok(cosine(await first(model, image(3)), await first(q, image(3))) > 0.98);
});

test('not_quant_pattern keeps nodes float, quantizing twice changes nothing, old opsets get per-tensor weights or a refusal', async () => {
  const model = smallCnn();
  const { model: partial } = await compile(model, [staticQuant(cnnCalib, { not_quant_pattern: ['conv2'] })], { verify: true });
  const conv2 = partial.graph.nodes.find((n) => n.name === 'conv2')!;
  assert.equal(partial.graph.initializers.get(conv2.inputs[1])?.dataType, DataType.FLOAT);
  const ops = await fusedOps(partial);
  assert.equal(ops['com.microsoft.QLinearConv'], 1, JSON.stringify(ops));
  assert.equal(ops['com.microsoft.QLinearGlobalAveragePool'], undefined, 'GlobalAveragePool stays float after a float Conv');

  const { model: once } = await compile(model, [staticQuant(cnnCalib)]);
  assert.equal((await compile(once, [staticQuant(cnnCalib)])).model, once);

  const { model: v11, reports } = await compile(smallCnn(11), [staticQuant(cnnCalib)], { verify: true });
  assert.ok(reports[0].notes['per-tensor weights (per-channel DequantizeLinear needs opset 13)']);
  assert.ok(v11.graph.nodes.filter((n) => n.opType === 'DequantizeLinear').every((n) => !n.attributes.some((a) => a.name === 'axis')));
  assert.equal((await fusedOps(v11))['com.microsoft.QLinearConv'], 2);
  await assert.rejects(compile(smallCnn(9), [staticQuant(cnnCalib)]), /opset 10 or later/);
  await assert.rejects(compile(model, [staticQuant(cnnCalib, { quantize_op_types: ['LSTM'] })]), /not LSTM/);
});

test('PP-OCRv4 det (opset 11): every Conv becomes QLinearConv', async () => {
  const model = (await compile(loadModel(REAL_MODELS.ppocrDet), [cleanup()])).model;
  const calib = [0, 1].map((seed) => randomFeeds(model, { seed, inputs: { x: { shape: [1, 3, 64, 64], range: [-1, 1] } } }));
  const { model: q } = await compile(model, [staticQuant(calib)], { verify: true });
  assertValid(q);
  const convs = model.graph.nodes.filter((n) => n.opType === 'Conv').length;
  const ops = await fusedOps(q);
  assert.equal(ops['com.microsoft.QLinearConv'], convs, JSON.stringify(ops));
});


// ---------------------------------------------------------------- the rules one by one: before → after

interface RuleCase {
  readonly name: string;
  readonly rule: Rule;
  readonly build: (b: GraphBuilder, x: string) => string;
  /** Op types after the rule, or 'unchanged'. */
  readonly after: readonly string[] | 'unchanged';
}

const scalar = (b: GraphBuilder, name: string, dataType: DataType, v: number): string => b.initializer(name, Tensor.scalar(dataType, v));
const quantizer = (b: GraphBuilder, x: string, scale: number, zero: number): string =>
  b.op('QuantizeLinear', [x, scalar(b, 's', DataType.FLOAT, scale), scalar(b, 'z', DataType.UINT8, zero)]);
const clip = (b: GraphBuilder, x: string, lo: number, hi: number): string =>
  b.op('Clip', [x, scalar(b, 'lo', DataType.FLOAT, lo), scalar(b, 'hi', DataType.FLOAT, hi)]);

const RULE_CASES: readonly RuleCase[] = [
  { name: 'Relu before a quantizer with zero point 0', rule: removeClip, build: (b, x) => quantizer(b, b.op('Relu', [x]), 0.1, 0), after: ['QuantizeLinear'] },
  { name: 'Relu before a quantizer with zero point 10', rule: removeClip, build: (b, x) => quantizer(b, b.op('Relu', [x]), 0.1, 10), after: 'unchanged' },
  { name: 'Clip(-1, 1) before the quantizer a PACT range [-1, 1] gets', rule: removeClip, build: (b, x) => quantizer(b, clip(b, x, -1, 1), clipParams(-1, 1, DataType.UINT8).scale, 128), after: ['QuantizeLinear'] },
  // float32(2/255) is a hair above 2/255: -1/scale rounds to -127, the quantizer does not reach -1.
  { name: 'Clip(-1, 1) before a quantizer of scale float32(2/255), zero point 128', rule: removeClip, build: (b, x) => quantizer(b, clip(b, x, -1, 1), Math.fround(2 / 255), 128), after: 'unchanged' },
  { name: 'Clip(0.5, 2) before a quantizer of [0, 2]', rule: removeClip, build: (b, x) => quantizer(b, clip(b, x, 0.5, 2), Math.fround(2 / 255), 0), after: 'unchanged' },
  { name: 'Clip(0, 6) read by a quantizer and a float op', rule: removeClip, build: (b, x) => { const c = clip(b, x, 0, 6); return b.op('Add', [quantizer(b, c, 6 / 255, 0), b.op('Cast', [c], { to: DataType.UINT8 })]); }, after: 'unchanged' },
  {
    name: 'two quantizers of one value with the same parameters', rule: shareQuantize,
    build: (b, x) => { const s = scalar(b, 's', DataType.FLOAT, 0.1), z = scalar(b, 'z', DataType.UINT8, 3); return b.op('Add', [b.op('QuantizeLinear', [x, s, z]), b.op('QuantizeLinear', [x, s, z])]); },
    after: ['QuantizeLinear', 'Add'],
  },
  {
    name: 'two quantizers of one value with different scales', rule: shareQuantize,
    build: (b, x) => { const z = scalar(b, 'z', DataType.UINT8, 3); return b.op('Add', [b.op('QuantizeLinear', [x, scalar(b, 's', DataType.FLOAT, 0.1), z]), b.op('QuantizeLinear', [x, scalar(b, 's', DataType.FLOAT, 0.2), z])]); },
    after: 'unchanged',
  },
];

for (const c of RULE_CASES) {
  test(`${c.rule.name}: ${c.name} → ${c.after === 'unchanged' ? 'unchanged' : c.after.join(', ')}`, () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 3]);
    b.output(c.build(b, x), DataType.UINT8, [2, 3]);
    const model = makeModel(b.build());
    const { model: out } = applyRules(model, new RuleSet('case', [c.rule]));
    if (c.after === 'unchanged') assert.equal(out, model);
    else assert.deepEqual(out.graph.nodes.map((n) => n.opType), c.after);
    assertValid(out);
  });
}

test('quant/static-fold-batchnorm: Conv → BatchNormalization becomes one Conv computing the same', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [1, 3, 5, 5]);
  const conv = b.op('Conv', [x, weight(b, 'w', [4, 3, 3, 3], 0.3, 1), weight(b, 'cb', [4], 0.1, 2)], { pads: [1, 1, 1, 1] });
  const stats = (name: string, mean: number, std: number, seed: number): string => b.initializer(name, Tensor.fromArray(DataType.FLOAT, [4], normalArray(4, std, seed, mean)));
  const variance = b.initializer('var', Tensor.fromArray(DataType.FLOAT, [4], Float32Array.of(0.5, 2, 1e-3, 4)));
  b.output(b.op('BatchNormalization', [conv, stats('gamma', 1, 0.2, 3), stats('beta', 0, 0.2, 4), stats('mean', 0, 0.5, 5), variance], { epsilon: 1e-3 }), DataType.FLOAT, [1, 3, 5, 5]);
  const model = makeModel(b.build());
  const { model: out } = applyRules(model, new RuleSet('case', [foldBatchNorm(() => false)]));
  assert.deepEqual(out.graph.nodes.map((n) => n.opType), ['Conv']);
  const feed = { x: Tensor.fromArray(DataType.FLOAT, [1, 3, 5, 5], normalArray(75, 1, 9)) };
  const [a, c] = [await first(model, feed), await first(out, feed)];
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - c[i]) <= 1e-4 * (1 + Math.abs(a[i])), `${i}: ${a[i]} vs ${c[i]}`);
});

test('skip_sensitive keeps the layers that add the most noise float, measured on the calibration data', async () => {
  const model = smallCnn();
  const { model: q, reports } = await compile(model, [staticQuant(cnnCalib, { skip_sensitive: 1 })], { verify: true });
  const kept = Object.keys(reports[0].notes).filter((k) => k.startsWith('kept float as sensitive: '));
  assert.equal(kept.length, 1, JSON.stringify(reports[0].notes));
  const name = /sensitive: (\S+)/.exec(kept[0])![1];
  assert.equal(reports[0].notes['static: kernels'], 2);
  const floatNode = q.graph.nodes.find((n) => n.name === name);
  assert.ok(floatNode && ['Conv', 'Gemm'].includes(floatNode.opType), `${name} stays a float ${floatNode?.opType}`);
  for (const seed of [7, 8]) assert.ok(cosine(await first(model, image(seed)), await first(q, image(seed))) > 0.99);
});

test('skip_sensitive ranks the kernels static mode writes directly (MatMulIntegerToFloat, QAttention) too, and keeps them float', async () => {
  const model = buildBert({ ...BERT_TINY, seed: 11 });
  const calib = [0, 1].map((i) => ({ input_ids: randomInputIds(BERT_TINY.vocab, 2, 16, 100 + i) }));
  const { model: q, reports } = await compile(model, [staticQuant(calib, { skip_sensitive: 8 })], { verify: true });
  const kept = Object.keys(reports[0].notes).filter((k) => k.startsWith('kept float as sensitive: ')).map((k) => /sensitive: (\S+) \((-?[\d.]+) dB\)/.exec(k)!);
  assert.equal(kept.length, 8, JSON.stringify(reports[0].notes));
  // Measured from the kernel's own input, not from values the quantized model no longer computes.
  assert.ok(kept.every((m) => Number(m[2]) < 100), JSON.stringify(kept.map((m) => m[0])));
  for (const [, name] of kept) {
    const node = q.graph.nodes.find((n) => n.name === name)!;
    assert.ok(node && ['MatMul', 'Attention'].includes(node.opType) && q.graph.initializers.get(node.inputs[1])?.dataType === DataType.FLOAT, `${name} stays float`);
  }
  assert.equal(q.graph.nodes.filter((n) => n.opType === 'Attention').length, 2);
});

test('bias_correction removes the mean output shift quantization puts on each layer', async () => {
  const model = smallCnn();
  const meanShift = async (q: Model): Promise<number> => {
    let sum = 0, n = 0;
    for (const feed of cnnCalib) {
      const [a, b] = [await first(model, feed), await first(q, feed)];
      for (let i = 0; i < a.length; i++) { sum += a[i] - b[i]; n++; }
    }
    return Math.abs(sum / n);
  };
  const plain = (await compile(model, [staticQuant(cnnCalib, { algo: 'abs_max' })])).model;
  const { model: corrected, reports } = await compile(model, [staticQuant(cnnCalib, { algo: 'abs_max', bias_correction: true })], { verify: true });
  assert.ok((reports[0].notes['static: biases corrected'] as number) >= 2, JSON.stringify(reports[0].notes));
  assert.ok(await meanShift(corrected) < await meanShift(plain), `${await meanShift(corrected)} vs ${await meanShift(plain)}`);
});
