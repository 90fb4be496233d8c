// Quantization-aware training (quant mode qat): the fake-quant model starts exactly at static PTQ, distillation from
// the float model lowers its loss, the export is static mode's QDQ form (same onnxruntime fusions) and computes what
// the trained fake-quant model computed; with PACT the clip level learns and the exported scale is α/255.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, DataType, GraphBuilder, makeModel, quant, runModel, Tensor, type Model } from '../src/index.js';
import { exportTrained } from '../src/train/index.js';
import { buildDistillModel } from '../passes/distill/head.js';
import { toFakeQuant, type FakeQuantModel } from '../passes/quant/qat-fake.js';
import { distillPairs, trainFakeQuant } from '../passes/quant/qat.js';
import { exportQat } from '../passes/quant/qat-export.js';
import { normalArray } from './helpers/transformer.js';
import { fusedOps } from './helpers/ort-fusion.js';

type Feed = Record<string, Tensor>;

const weight = (b: GraphBuilder, name: string, dims: number[], std: number, seed: number): string =>
  b.initializer(name, Tensor.fromArray(DataType.FLOAT, dims, normalArray(dims.reduce((x, y) => x * y, 1), std, seed)));
const image = (seed: number): Feed => ({ image: Tensor.fromArray(DataType.FLOAT, [1, 3, 12, 12], normalArray(3 * 12 * 12, 1, seed)) });

/** Conv → Relu → Conv(stride 2) → GlobalAveragePool → Flatten → Gemm → Softmax: a small classifier. */
function smallCnn(): Model {
  const b = new GraphBuilder('cnn');
  const x = b.input('image', DataType.FLOAT, [1, 3, 12, 12]);
  const c1 = b.op('Conv', [x, weight(b, 'conv1.w', [8, 3, 3, 3], 0.3, 1), weight(b, 'conv1.b', [8], 0.1, 2)], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
  const r1 = b.op('Relu', [c1], {}, { name: 'relu1' });
  const c2 = b.op('Conv', [r1, weight(b, 'conv2.w', [16, 8, 3, 3], 0.2, 3), weight(b, 'conv2.b', [16], 0.1, 4)], { pads: [1, 1, 1, 1], strides: [2, 2] }, { name: 'conv2' });
  const flat = b.op('Flatten', [b.op('GlobalAveragePool', [c2], {}, { name: 'gap' })], { axis: 1 }, { name: 'flatten' });
  const logits = b.op('Gemm', [flat, weight(b, 'fc.w', [10, 16], 0.6, 5), weight(b, 'fc.b', [10], 0.1, 6)], { transB: 1 }, { name: 'fc' });
  b.output(b.op('Softmax', [logits], { axis: -1 }, { name: 'softmax' }), DataType.FLOAT, [1, 10]);
  return makeModel(b.build(), { opset: 13 });
}

const model = smallCnn();
const calib = Array.from({ length: 8 }, (_, i) => image(100 + i));
const trainFeeds = Array.from({ length: 24 }, (_, i) => image(200 + i));
const heldOut = Array.from({ length: 8 }, (_, i) => image(300 + i));
// A coarse calibration (abs_max) leaves QAT something to recover.
const ptq = (await compile(model, [quant({ mode: 'static', calib_data: calib, algo: 'abs_max' })])).model;

const output = async (m: Model, feed: Feed): Promise<Float32Array> => Object.values(await runModel(m, feed))[0].toFloat32();
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const opTypes = (m: Model): string => m.graph.nodes.map((n) => n.opType).sort().join(',');

/** Mean distillation loss of the fake-quant student with `params` over `feeds`. */
async function distillLoss(fake: FakeQuantModel, params: ReadonlyMap<string, Float32Array>, feeds: readonly Feed[]): Promise<number> {
  const distill = buildDistillModel(fake.model, { teacher: model, ...distillPairs(fake.model, model) });
  const trained = exportTrained(distill.model, params);
  let sum = 0;
  for (const feed of feeds) sum += (await runModel(trained, feed))[distill.loss].toFloat32()[0];
  return sum / feeds.length;
}

const initialParams = (fake: FakeQuantModel): Map<string, Float32Array> =>
  new Map(fake.trainable.map((n) => [n, fake.model.graph.initializers.get(n)!.toFloat32()]));

test('QAT starts at PTQ, lowers the distillation loss, and exports the static QDQ form that fuses and runs', async () => {
  const fake = toFakeQuant(ptq, { pact: false });
  assert.equal(fake.weights.size, 3);
  assert.equal(fake.biases.size, 3);
  for (const feed of heldOut.slice(0, 2)) assert.ok(maxDiff(await output(fake.model, feed), await output(ptq, feed)) < 1e-5, 'fake quant computes the PTQ model');

  const { params, losses } = await trainFakeQuant(model, fake, trainFeeds, { epochs: 4, lr: 3e-3, train_threads: 1 });
  assert.equal(losses.length, 4 * trainFeeds.length);
  const before = await distillLoss(fake, initialParams(fake), heldOut), after = await distillLoss(fake, params, heldOut);
  assert.ok(after < 0.8 * before, `held-out distillation loss ${before} → ${after}`);

  const trained = exportTrained(fake.model, params);
  const exported = exportQat(trained, fake);
  assert.equal(opTypes(exported), opTypes(ptq), 'the same QDQ form as static mode');
  for (const [, w] of fake.weights) assert.equal(exported.graph.initializers.get(w.codes)?.dataType, DataType.INT8);
  assert.deepEqual(await fusedOps(exported), await fusedOps(ptq));
  for (const feed of heldOut.slice(0, 2)) {
    // Up to an output quantum of the Gemm, as the int32 bias rounds.
    assert.ok(maxDiff(await output(exported, feed), await output(trained, feed)) < 2e-3, 'the export computes the trained fake-quant model');
  }
});

test('PACT: the clip level gets a gradient and moves; the exported activation scale is α/255 and the clip goes', async () => {
  const fake = toFakeQuant(ptq, { pact: true });
  assert.ok(fake.alphas.size >= 1, 'the Relu output quantizer gets a PACT clip');
  assert.ok(fake.model.graph.nodes.some((n) => n.opType === 'Clip'));
  const { params } = await trainFakeQuant(model, fake, trainFeeds, { epochs: 2, lr: 3e-2, train_threads: 1 });
  const [alpha, scaleName] = [...fake.alphas][0];
  const a0 = fake.model.graph.initializers.get(alpha)!.toFloat32()[0], a1 = params.get(alpha)![0];
  assert.ok(Math.abs(a1 - a0) > 1e-3, `α ${a0} → ${a1}`);
  const exported = exportQat(exportTrained(fake.model, params), fake);
  assert.equal(exported.graph.initializers.get(scaleName)!.toFloat32()[0], Math.fround(a1 / 255));
  assert.ok(!exported.graph.nodes.some((n) => n.opType === 'Clip'));
  assert.equal(opTypes(exported), opTypes(ptq));
  assert.deepEqual(await fusedOps(exported), await fusedOps(ptq));
});

test('quant mode qat runs end to end as a pass', async () => {
  const { model: q, reports } = await compile(model, [quant({ mode: 'qat', calib_data: calib, train_data: trainFeeds, epochs: 1, lr: 1e-3, train_threads: 1 })], { verify: true, print: () => {} });
  assert.equal(reports[0].notes['qat: steps'], trainFeeds.length);
  assert.equal(opTypes(q), opTypes((await compile(model, [quant({ mode: 'static', calib_data: calib })])).model));
  assert.ok((await output(q, heldOut[0])).every(Number.isFinite));
});
