// Dynamic quantization: what onnxruntime runs after it, fidelity on a transformer, Gemm and Gather handling,
// exclusions, options, and idempotence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRules, assertValid, cleanup, compile, RuleSet, DataType, GraphBuilder, loadModel, makeModel, quant, runModel, Tensor, type Model } from '../src/index.js';
import { buildBert, BERT_TINY, randomInputIds } from './helpers/transformer.js';
import { mergeSiblingMatMuls } from '../rules/quant/merge-sibling-matmuls.js';
import { mergeSiblingLinears } from '../rules/quant/merge-sibling-linears.js';
import { fusedOps } from './helpers/ort-fusion.js';
import { REAL_MODELS } from './helpers/paths.js';
import { randomFeeds } from './helpers/feeds.js';

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

const first = async (m: Model, feed: Record<string, Tensor>): Promise<Float32Array> => Object.values(await runModel(m, feed))[0].toFloat32();

test('a BERT quantized dynamically runs fused integer kernels in onnxruntime and keeps its outputs', async () => {
  const model = buildBert({ ...BERT_TINY, seed: 11 });
  const feed = { input_ids: randomInputIds(BERT_TINY.vocab, 2, 16, 5) };
  for (const merge of [true, false]) {
    const { model: q, reports } = await compile(model, [cleanup(), quant({ merge_sibling_matmuls: merge, fuse_attention: false })], { verify: true });
    // Merged, Q/K/V run as one MatMul per layer; unmerged, they share one quantizer of their input.
    const matmuls = merge ? 8 : 12;
    assert.equal(reports[1].notes['quant/dynamic-matmul'], matmuls);
    assert.equal(reports[1].notes['quant/gather-weight'], 2);
    assert.equal(reports[1].notes['quant/share-dynamic-quantize'], merge ? undefined : 4);
    const ops = await fusedOps(q);
    assert.equal(ops.MatMulInteger, undefined, JSON.stringify(ops));
    assert.equal(ops.Cast, undefined, JSON.stringify(ops));
    assert.equal((ops['com.microsoft.MatMulIntegerToFloat'] ?? 0) + (ops['com.microsoft.DynamicQuantizeMatMul'] ?? 0), matmuls, JSON.stringify(ops));
    assert.ok(cosine(await first(model, feed), await first(q, feed)) > 0.999);
    assert.ok(reports[1].after.bytes < reports[1].before.bytes);
  }
});

test('quant/merge-sibling-matmuls and -linears keep outputs exact in float and merge each group once', async () => {
  for (const withBias of [false, true]) {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [3, 4]);
  const w = (seed: number, n: number) => b.initializer('w', Tensor.fromArray(DataType.FLOAT, [4, n], Float32Array.from({ length: 4 * n }, (_, i) => Math.sin(seed + i))));
  const linear = (seed: number, n: number) => {
    const y = b.op('MatMul', [x, w(seed, n)]);
    return withBias ? b.op('Add', [y, b.initializer('b', Tensor.fromArray(DataType.FLOAT, [n], Float32Array.from({ length: n }, (_, i) => i - seed)))]) : y;
  };
  const [y1, y2, y3] = [linear(1, 2), linear(2, 3), linear(3, 5)];
  b.output(b.op('Concat', [b.op('Relu', [y1]), y2, b.op('Neg', [y3])], { axis: 1 }), DataType.FLOAT, [3, 10]);
  const model = makeModel(b.build());
  const { model: merged, stats } = applyRules(model, new RuleSet('m', [mergeSiblingLinears(() => false), mergeSiblingMatMuls(() => false)]));
  assert.equal(stats.applied.get(withBias ? 'quant/merge-sibling-linears' : 'quant/merge-sibling-matmuls'), 1);
  assert.equal(stats.applied.size, 1);
  assert.equal(merged.graph.nodes.filter((n) => n.opType === 'MatMul').length, 1);
  assertValid(merged);
  const feed = { x: Tensor.fromArray(DataType.FLOAT, [3, 4], Float32Array.from({ length: 12 }, (_, i) => i / 3 - 2)) };
  const [a, c] = [await first(model, feed), await first(merged, feed)];
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - c[i]) <= 1e-6 * Math.max(1, Math.abs(a[i])), `${a[i]} vs ${c[i]}`);
  }
});

test('Gemm layers (openwakeword) become quantized MatMuls and stay close', async () => {
  const model = loadModel(REAL_MODELS.wakeword);
  const { model: q, reports } = await compile(model, [cleanup(), quant()], { verify: true });
  assert.ok((reports[1].notes['quant/gemm-to-matmul'] as number) > 0);
  const feed = randomFeeds(model, { seed: 3 });
  const [a, b] = [await first(model, feed), await first(q, feed)];
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 0.05, `${a[i]} vs ${b[i]}`);
});

test('not_quant_pattern keeps matching nodes float; quantize_op_types limits what is touched', async () => {
  const model = buildBert({ ...BERT_TINY, seed: 2 });
  const { model: q } = await compile(model, [quant({ not_quant_pattern: ['/layer\\.1\\//', 'attention/output'] })], { verify: true });
  const floatMatMuls = q.graph.nodes.filter((n) => n.opType === 'MatMul' && q.graph.initializers.get(n.inputs[1])?.dataType === DataType.FLOAT);
  assert.ok(floatMatMuls.length > 0);
  assert.ok(floatMatMuls.every((n) => /layer\.1\/|attention\/output/.test(n.name)), floatMatMuls.map((n) => n.name).join(', '));
  const { model: onlyGather } = await compile(model, [quant({ quantize_op_types: ['Gather'] })]);
  assert.equal(onlyGather.graph.nodes.filter((n) => n.opType === 'MatMulInteger').length, 0);
  await assert.rejects(compile(model, [quant({ quantize_op_types: ['Conv'] })]), /not Conv/);
});

test('quantizing twice changes nothing the second time', async () => {
  const once = (await compile(buildBert({ ...BERT_TINY, seed: 4 }), [quant()])).model;
  assert.equal((await compile(once, [quant()])).model, once);
});

test('tied weights are quantized once', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2, 4]);
  const w = b.initializer('w', Tensor.fromArray(DataType.FLOAT, [4, 4], Float32Array.from({ length: 16 }, (_, i) => i / 7 - 1)));
  b.output(b.op('MatMul', [b.op('Relu', [b.op('MatMul', [x, w])]), w]), DataType.FLOAT, [2, 4]);
  const { model } = await compile(makeModel(b.build()), [quant()], { verify: true });
  assertValid(model);
  const codes = model.graph.nodes.filter((n) => n.opType === 'MatMulInteger').map((n) => n.inputs[1]);
  assert.equal(codes.length, 2);
  assert.equal(new Set(codes.map((c) => model.graph.initializers.get(c))).size, 1);
});
