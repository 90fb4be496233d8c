// Weight-only 4-bit quantization: both layouts run in onnxruntime, GPTQ beats round-to-nearest on the output
// error it minimizes, and on a real LM's perplexity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, DataType, GraphBuilder, loadModel, makeModel, quant, runModel, Tensor, cleanup } from '../src/index.js';
import { quantizeBlockwise4 } from '../src/quant/blockwise.js';
import { gptqBlockwise4 } from '../src/quant/gptq.js';
import { HessianAccumulator } from '../src/calib/hessian.js';
import { buildGpt, GPT_TINY, randomInputIds } from './helpers/transformer.js';
import { fusedOps } from './helpers/ort-fusion.js';
import { rng } from './helpers/feeds.js';
import { hasShared } from './helpers/paths.js';
import { perplexity, STORIES_MODEL, validationStories } from './helpers/perplexity.js';
import { sampleSequences, sequenceFeeds } from './helpers/lm-sampling.js';

const first = async (m: Parameters<typeof runModel>[0], feed: Record<string, Tensor>): Promise<Float32Array> => Object.values(await runModel(m, feed))[0].toFloat32();

test('MatMulNBits: a GPT with 4-bit weights runs the fused kernel and stays close', async () => {
  const model = buildGpt({ ...GPT_TINY, seed: 3 });
  const { model: q, reports } = await compile(model, [quant({ mode: 'weight-only', block_size: 16 })], { verify: true });
  assert.ok((reports[0].notes['quant/weight-only-matmul'] as number) > 0);
  assert.ok(reports[0].after.bytes < reports[0].before.bytes);
  const ops = await fusedOps(q);
  assert.ok((ops['com.microsoft.MatMulNBits'] ?? 0) > 0, JSON.stringify(ops));
  const feed = { input_ids: randomInputIds(GPT_TINY.vocab, 1, 8, 1) };
  const [a, b] = [await first(model, feed), await first(q, feed)];
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst < 0.1, `max error ${worst}`);
});

test('opset-21 blocked int4 DequantizeLinear → MatMul; older opsets are left float with the reason noted', async () => {
  const w = Float32Array.from({ length: 64 * 8 }, (_, i) => Math.sin(i));
  const build = (opset: number) => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 64]);
    b.output(b.op('MatMul', [x, b.initializer('w', Tensor.fromArray(DataType.FLOAT, [64, 8], w))]), DataType.FLOAT, [2, 8]);
    return makeModel(b.build(), { opset, irVersion: 10 });
  };
  const { model: q } = await compile(build(21), [quant({ mode: 'weight-only', weight_only_format: 'qdq' })], { verify: true });
  assert.deepEqual(q.graph.nodes.map((n) => n.opType), ['DequantizeLinear', 'MatMul']);
  assert.equal([...q.graph.initializers.values()].find((t) => t.dims.join() === '64,8')?.dataType, DataType.INT4);
  const feed = { x: Tensor.fromArray(DataType.FLOAT, [2, 64], Float32Array.from({ length: 128 }, (_, i) => Math.cos(i))) };
  // onnxruntime must compute x · Ŵ with exactly the weights the quantizer produced.
  const dq = quantizeBlockwise4(w, 64, 8, { blockSize: 32, symmetric: true }).dequantized;
  const xs = feed.x.toFloat32();
  const got = await first(q, feed);
  for (let r = 0; r < 2; r++) for (let c = 0; c < 8; c++) {
    let want = 0;
    for (let i = 0; i < 64; i++) want += xs[r * 64 + i] * dq[i * 8 + c];
    assert.ok(Math.abs(got[r * 8 + c] - want) < 1e-4, `y[${r},${c}] ${got[r * 8 + c]} vs ${want}`);
  }
  const old = await compile(build(17), [quant({ mode: 'weight-only', weight_only_format: 'qdq' })]);
  assert.equal(old.reports[0].changed, false);
  assert.equal(old.reports[0].notes['left float (int4 DequantizeLinear needs opset 21 or later (use format matmulnbits))'], 1);
});

test('GPTQ has a smaller output error ‖XW − XŴ‖ than round-to-nearest on correlated inputs', () => {
  const next = rng(5);
  const k = 64, n = 16, rows = 256;
  // Inputs with strongly correlated features, as real activations have.
  const base = Float32Array.from({ length: rows * 4 }, () => next() * 2 - 1);
  const x = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) for (let i = 0; i < k; i++) x[r * k + i] = base[r * 4 + (i % 4)] + 0.1 * (next() - 0.5);
  const w = Float32Array.from({ length: k * n }, () => next() * 2 - 1);
  const h = new HessianAccumulator(k);
  h.observe(x);
  const outputError = (wq: Float32Array): number => {
    let e = 0;
    for (let r = 0; r < rows; r++) for (let c = 0; c < n; c++) {
      let d = 0;
      for (let i = 0; i < k; i++) d += x[r * k + i] * (w[i * n + c] - wq[i * n + c]);
      e += d * d;
    }
    return e;
  };
  for (const symmetric of [true, false]) {
    const rtn = outputError(quantizeBlockwise4(w, k, n, { blockSize: 32, symmetric }).dequantized);
    const gptq = outputError(gptqBlockwise4(w, k, n, h.hessian(), { blockSize: 32, symmetric }).dequantized);
    assert.ok(gptq < rtn * 0.8, `symmetric=${symmetric}: GPTQ ${gptq} vs RTN ${rtn}`);
  }
});

test('stories260K: GPTQ calibrated on self-sampled text beats round-to-nearest in perplexity', { skip: !hasShared() }, async () => {
  const model = (await compile(loadModel(STORIES_MODEL), [cleanup()])).model;
  const stories = validationStories().slice(0, 4);
  const calib = sequenceFeeds(await sampleSequences(model, { count: 4, length: 96, seed: 3 }));
  const options = { mode: 'weight-only', block_size: 16, weight_quantize_type: 'asymmetric' } as const;
  const rtn = await perplexity((await compile(model, [quant(options)], { verify: true })).model, stories);
  const gptq = await perplexity((await compile(model, [quant({ ...options, calib_data: calib })], { verify: true })).model, stories);
  const fp32 = await perplexity(model, stories);
  assert.ok(gptq.perplexity < rtn.perplexity, `GPTQ ${gptq.perplexity} vs RTN ${rtn.perplexity} (fp32 ${fp32.perplexity})`);
});
