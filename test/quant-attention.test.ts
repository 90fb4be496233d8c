// Attention fusion (quant/fuse-attention, quant/fuse-causal-attention): transformer self-attention becomes
// com.microsoft.QAttention in dynamic and static mode (Attention / MultiHeadAttention in float), onnxruntime runs it,
// the outputs keep the error of the quantized projections only, and blocks that do not fit are left alone with a reason.
import { inferModelTypes } from '../src/shape/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRules, assertValid, attrInt, cleanup, compile, DataType, quant, runModel, Tensor, type Model } from '../src/index.js';
import { applyAttentionFusion, fuseAttentionRules } from '../rules/quant/fuse-attention.js';
import { buildBert, buildGpt, BERT_TINY, GPT_TINY, randomInputIds } from './helpers/transformer.js';
import { fusedOps } from './helpers/ort-fusion.js';
import { withObservedOutputs } from '../src/calib/collect.js';
import fc from 'fast-check';
import { PROP_RUNS, PROP_SEED } from './helpers/paths.js';

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const first = async (m: Model, feed: Record<string, Tensor>): Promise<Float32Array> => Object.values(await runModel(m, feed))[0].toFloat32();

/**
 * `q` with every QAttention replaced by float Attention on its dequantized input and weights: what the integer
 * kernel must compute (up to float summation order) if scales and zero points are read as written.
 */
function dequantizedAttention(q: Model): Model {
  const inits = new Map(q.graph.initializers);
  const nodes = q.graph.nodes.flatMap((n) => {
    if (n.opType !== 'QAttention') return [n];
    const [xq, w, bias, xScale, wScale, , xZero] = n.inputs;
    const codes = inits.get(w)!, scale = inits.get(wScale)!.toFloat32();
    const columns = codes.dims[1];
    const values = Float32Array.from(codes.toArray() as Int8Array, (c, i) => c * scale[scale.length === 1 ? 0 : i % columns]);
    inits.set(`${w}_dequantized`, Tensor.fromArray(DataType.FLOAT, codes.dims, values));
    const x = { ...n, opType: 'DequantizeLinear', domain: '', name: `${n.name}_dq`, inputs: [xq, xScale, xZero], outputs: [`${xq}_dequantized`], attributes: [] };
    return [x, { ...n, opType: 'Attention', inputs: [x.outputs[0], `${w}_dequantized`, bias] }];
  });
  return { ...q, graph: { ...q.graph, nodes, initializers: inits } };
}

// Weights large enough (std 0.2) that attention is far from uniform and the heads really differ.
const MODELS = [
  { kind: 'BERT', model: () => buildBert({ ...BERT_TINY, seed: 7, std: 0.2, layerNormStd: 0.2 }), vocab: BERT_TINY.vocab, rule: 'quant/fuse-attention' },
  { kind: 'GPT (causal mask)', model: () => buildGpt({ ...GPT_TINY, seed: 7, std: 0.2, layerNormStd: 0.2 }), vocab: GPT_TINY.vocab, rule: 'quant/fuse-causal-attention' },
] as const;

for (const { kind, model: build, vocab, rule } of MODELS) {
  test(`${kind}: dynamic quantization fuses attention into QAttention, with the error of its quantized projections only`, async () => {
    const model = build();
    const feed = { input_ids: randomInputIds(vocab, 2, 12, 3) };
    const exact = await first(model, feed);
    for (const weightType of ['channel_wise_abs_max', 'abs_max'] as const) {
      const { model: fused, reports } = await compile(model, [cleanup(), quant({ weight_quantize_type: weightType })], { verify: true });
      const { model: unfused } = await compile(model, [cleanup(), quant({ weight_quantize_type: weightType, fuse_attention: false })], { verify: true });
      assert.equal(reports[1].notes[rule], 2, JSON.stringify(reports[1].notes));
      // Q/K/V live inside QAttention; the output projection and the MLP stay quantized MatMuls.
      assert.equal(reports[1].notes['quant/dynamic-matmul'], kind === 'BERT' ? 6 : 7);
      const nodes = fused.graph.nodes.filter((n) => n.opType === 'QAttention');
      assert.equal(nodes.length, 2);
      assert.ok(nodes.every((n) => n.domain === 'com.microsoft' && attrInt(n, 'num_heads') === 4 && attrInt(n, 'unidirectional', 0) === (kind === 'BERT' ? 0 : 1)));
      const ops = await fusedOps(fused);
      assert.equal(ops['com.microsoft.QAttention'], 2, JSON.stringify(ops));
      for (const gone of ['Softmax', 'Transpose', 'MatMulInteger', 'Cast']) assert.equal(ops[gone], undefined, `${gone}: ${JSON.stringify(ops)}`);
      const [a, b] = [await first(fused, feed), await first(unfused, feed)];
      assert.ok(cosine(exact, a) > 0.999, `cosine ${cosine(exact, a)}`);
      // Projections are quantized exactly as the unfused MatMuls are: the fused model is as close as they are.
      assert.ok(maxAbs(exact, a) <= 1.05 * maxAbs(exact, b) + 1e-5, `fused error ${maxAbs(exact, a)} vs unfused ${maxAbs(exact, b)}`);
    }
  });

  test(`${kind}: static quantization fuses attention into QAttention on its calibrated input range`, async () => {
    const model = build();
    const calib = [0, 1, 2, 3].map((i) => ({ input_ids: randomInputIds(vocab, 2, 12, 100 + i) }));
    const feed = { input_ids: randomInputIds(vocab, 2, 12, 3) };
    const exact = await first(model, feed);
    const layers = 2, linears = kind === 'BERT' ? 3 : 4; // besides Q/K/V: output projection, MLP in and out (+ GPT's LM head / layers)
    for (const weightType of ['channel_wise_abs_max', 'abs_max'] as const) {
      const options = { mode: 'static', calib_data: calib, weight_quantize_type: weightType } as const;
      const { model: fused, reports } = await compile(model, [cleanup(), quant(options)], { verify: true });
      const { model: unfused } = await compile(model, [cleanup(), quant({ ...options, fuse_attention: false })], { verify: true });
      const notes = reports[1].notes;
      assert.equal(notes[rule], 2, JSON.stringify(notes));
      assert.equal(notes['quant/static-quantize-attention'], 2, JSON.stringify(notes));
      const nodes = fused.graph.nodes.filter((n) => n.opType === 'QAttention');
      assert.ok(nodes.every((n) => n.domain === 'com.microsoft' && attrInt(n, 'num_heads') === 4 && attrInt(n, 'unidirectional', 0) === (kind === 'BERT' ? 0 : 1)));
      // The input is quantized with constants (calibrated), not at run time.
      for (const n of nodes) {
        const q = fused.graph.nodes.find((p) => p.outputs[0] === n.inputs[0])!;
        assert.equal(q.opType, 'QuantizeLinear');
        assert.equal(fused.graph.initializers.get(n.inputs[3]), fused.graph.initializers.get(q.inputs[1]));
        assert.equal(fused.graph.initializers.get(n.inputs[6])?.dataType, DataType.UINT8);
      }
      const ops = await fusedOps(fused);
      assert.equal(ops['com.microsoft.QAttention'], 2, JSON.stringify(ops));
      // One quantizer per activation a kernel reads; the rest fuse (dynamic shapes: MatMulIntegerToFloat).
      assert.equal(ops.QuantizeLinear, layers * 4 + (kind === 'BERT' ? 0 : 1), JSON.stringify(ops));
      assert.equal(ops['com.microsoft.MatMulIntegerToFloat'], layers * linears - (kind === 'BERT' ? 0 : 1), JSON.stringify(ops));
      assert.equal(ops.DequantizeLinear, notes['quant/gather-weight'], `only the embedding tables: ${JSON.stringify(ops)}`);
      for (const gone of ['Softmax', 'Transpose', 'MatMul', 'DynamicQuantizeLinear']) assert.equal(ops[gone], undefined, `${gone}: ${JSON.stringify(ops)}`);
      // The integer kernel computes float attention on its dequantized input and weights.
      const outputs = nodes.map((n) => n.outputs[0]);
      const [kernel, reference] = await Promise.all([runModel(withObservedOutputs(fused, outputs), feed), runModel(withObservedOutputs(dequantizedAttention(fused), outputs), feed)]);
      for (const o of outputs) {
        const [a, b] = [kernel[o].toFloat32(), reference[o].toFloat32()];
        assert.ok(maxAbs(a, b) <= 1e-5 * Math.max(...b.map(Math.abs)), `${o}: ${maxAbs(a, b)}`);
      }
      // And it is as close to fp32 as the unfused static model, whose Q/K/V share the same input quantizer.
      const [a, b] = [await first(fused, feed), await first(unfused, feed)];
      assert.ok(cosine(exact, a) > 0.998, `cosine ${cosine(exact, a)}`);
      assert.ok(maxAbs(exact, a) <= 1.1 * maxAbs(exact, b) + 1e-5, `fused error ${maxAbs(exact, a)} vs unfused ${maxAbs(exact, b)}`);
    }
  });

  test(`${kind}: float Attention and MultiHeadAttention compute what the op-by-op block computes`, async () => {
    const model = build();
    const feed = { input_ids: randomInputIds(vocab, 2, 12, 4) };
    const exact = await first(model, feed);
    for (const form of ['Attention', 'MultiHeadAttention'] as const) {
      const { model: fused, stats } = applyAttentionFusion(model, { form, perChannel: true, excluded: () => false });
      assert.equal(stats.applied.get(rule), 2);
      assertValid(fused);
      assert.equal(fused.graph.nodes.filter((n) => n.opType === form && n.domain === 'com.microsoft').length, 2);
      assert.equal(fused.graph.nodes.filter((n) => n.opType === 'Softmax' || n.opType === 'Transpose').length, 0);
      const got = await first(fused, feed);
      assert.ok(maxAbs(exact, got) <= 1e-4, `${form}: max error ${maxAbs(exact, got)}`);
    }
  });
}

test('the attention output keeps its name, and shape inference still knows every value after it', () => {
  const model = buildBert({ ...BERT_TINY, seed: 1 });
  const merge = model.graph.nodes.filter((n) => n.name.endsWith('attention/self/Reshape')).map((n) => n.outputs[0]);
  const { model: fused } = applyAttentionFusion(model, { form: 'QAttention', perChannel: true, excluded: () => false });
  assert.deepEqual(fused.graph.nodes.filter((n) => n.opType === 'QAttention').map((n) => n.outputs[0]), merge);
  assert.ok(fused.opsetImport.some((o) => o.domain === 'com.microsoft'));
  const [before, after] = [inferModelTypes(model).types, inferModelTypes(fused).types];
  for (const node of fused.graph.nodes) {
    for (const name of node.outputs) if (before.has(name)) assert.deepEqual(after.get(name), before.get(name), name);
  }
  // Nothing to fuse: the very same model comes back.
  assert.equal(applyAttentionFusion(fused, { form: 'QAttention', perChannel: true, excluded: () => false }).model, fused);
});

/** The model with one initializer replaced. */
function withInitializer(model: Model, name: string, t: Tensor): Model {
  assert.ok(model.graph.initializers.has(name), name);
  return { ...model, graph: { ...model.graph, initializers: new Map([...model.graph.initializers, [name, t]]) } };
}

const ints = (values: number[]) => Tensor.fromArray(DataType.INT64, [values.length], BigInt64Array.from(values, BigInt));

test('head splits that disagree with each other or with the weights are left alone, and the miss says why', () => {
  const model = buildBert({ ...BERT_TINY, layers: 1, seed: 2 });
  const cases: Array<[string, number[], RegExp]> = [
    ['key', [0, 0, 2, 16], /head counts disagree: Q 4, K 2, V 4/],
    ['query', [0, 0, 4, 4], /Q head split gives 4 heads × 4 = 16, but its weight has 32 columns/],
    ['value', [2, 0, 4, 8], /V head split \[2,0,4,8\] does not keep batch and sequence/],
  ];
  for (const [branch, shape, reason] of cases) {
    const broken = withInitializer(model, `/encoder/layer.0/attention/self/${branch}/Constant_shape`, ints(shape));
    const misses: string[] = [];
    const { model: out, stats } = applyRules(broken, fuseAttentionRules({ form: 'QAttention', perChannel: true, excluded: () => false }), {
      onMiss: (r, node, why) => misses.push(`${r.name} at ${node.name}: ${why}`),
    });
    assert.equal(out, broken);
    assert.equal(stats.applied.size, 0);
    assert.equal(misses.length, 1, misses.join('\n'));
    assert.match(misses[0], /^quant\/fuse-attention at \/encoder\/layer\.0\/attention\/self\/Reshape: /);
    assert.match(misses[0], reason);
  }
});

test('a mask that is not causal keeps attention unfused (noted), and the projections are still quantized', async () => {
  const M = GPT_TINY.maxSeq;
  const model = buildGpt({ ...GPT_TINY, seed: 5, std: 0.3 });
  // A sliding window of 3 tokens: valid, but not what unidirectional attention computes.
  const window = new Float32Array(M * M);
  for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) window[i * M + j] = j <= i && j >= i - 2 ? 0 : -1e9;
  const windowed = withInitializer(model, 'transformer.causal_mask', Tensor.fromArray(DataType.FLOAT, [1, 1, M, M], window));
  const { model: q, reports } = await compile(windowed, [cleanup(), quant()], { verify: true });
  const notes = reports[1].notes;
  assert.equal(notes['quant/fuse-causal-attention'], undefined);
  const key = Object.keys(notes).find((k) => k.startsWith('attention left unfused'));
  assert.match(key ?? '', /the mask is not causal \(entry \[3, 0\] is -1000000000\)/, JSON.stringify(notes));
  assert.equal(notes[key!], 2);
  assert.equal(notes['quant/dynamic-matmul'], 13);
  assert.equal(q.graph.nodes.filter((n) => n.domain === 'com.microsoft').length, 0);
  const feed = { input_ids: randomInputIds(GPT_TINY.vocab, 1, 10, 2) };
  assert.ok(cosine(await first(windowed, feed), await first(q, feed)) > 0.999);
});

test('a causal mask smaller than the scores (it would broadcast) keeps attention unfused', async () => {
  const model = buildGpt({ ...GPT_TINY, layers: 1, seed: 5, std: 0.2 });
  // The mask sliced to its [1, 1] corner: a single 0 added to every score, so nothing is masked.
  const ends = '/transformer/mask/Constant_corner';
  const nodes = model.graph.nodes.map((n) => (n.name === '/transformer/mask/Slice' ? { ...n, inputs: n.inputs.map((x, i) => (i === 2 ? ends : x)) } : n));
  const unmasked = { ...model, graph: { ...model.graph, nodes, initializers: new Map([...model.graph.initializers, [ends, ints([1, 1])]]) } };
  const misses: string[] = [];
  const { stats } = applyRules(unmasked, fuseAttentionRules({ form: 'QAttention', perChannel: true, excluded: () => false }), { onMiss: (_r, _n, why) => misses.push(why) });
  assert.equal(stats.applied.size, 0);
  assert.deepEqual(misses, ['the mask [1,1] is not known to be as large as the scores [seq,seq] (only causal masks map to unidirectional attention)']);
  const { model: q } = await compile(unmasked, [quant()], { verify: true });
  const feed = { input_ids: randomInputIds(GPT_TINY.vocab, 1, 6, 2) };
  assert.ok(cosine(await first(unmasked, feed), await first(q, feed)) > 0.999);
});

test('not_quant_pattern on a projection keeps its attention block unfused and that projection float, in both modes', async () => {
  const model = buildBert({ ...BERT_TINY, seed: 6 });
  const calib_data = [0, 1].map((i) => ({ input_ids: randomInputIds(BERT_TINY.vocab, 2, 12, 100 + i) }));
  for (const mode of [{}, { mode: 'static', calib_data }] as const) {
    const { model: q, reports } = await compile(model, [quant({ ...mode, not_quant_pattern: ['layer.1/attention/self/key'] })], { verify: true });
    assert.equal(reports[0].notes['quant/fuse-attention'], 1);
    assert.match(Object.keys(reports[0].notes).join('\n'), /attention left unfused \(excluded by the configuration \(\/encoder\/layer\.1\/attention\/self\/key\/MatMul\)\)/);
    const float = q.graph.nodes.filter((n) => n.opType === 'MatMul' && q.graph.initializers.get(n.inputs[1])?.dataType === DataType.FLOAT);
    assert.deepEqual(float.map((n) => n.name), ['/encoder/layer.1/attention/self/key/MatMul']);
    assert.equal(q.graph.nodes.filter((n) => n.opType === 'QAttention').length, 1);
  }
  // QAttention reads uint8 only: with int8 activations static mode leaves attention to its Q/DQ MatMuls.
  const { model: int8, reports } = await compile(model, [quant({ mode: 'static', calib_data, activation_type: 'int8' })], { verify: true });
  assert.equal(reports[0].notes['quant/fuse-attention'], undefined);
  assert.equal(int8.graph.nodes.filter((n) => n.opType === 'QAttention' || n.opType === 'Attention').length, 0);
});

test('property: over random head counts, head sizes, batches and lengths, fused attention keeps the contract', async () => {
  const params = { seed: PROP_SEED, numRuns: Math.max(8, Math.floor(PROP_RUNS / 10)) };
  console.log(`quant-attention property: seed=${PROP_SEED} runs=${params.numRuns} (set FC_SEED / FC_RUNS to replay)`);
  const shapes = fc.record({
    gpt: fc.boolean(), heads: fc.integer({ min: 1, max: 4 }), headSize: fc.integer({ min: 1, max: 9 }),
    batch: fc.integer({ min: 1, max: 3 }), seq: fc.integer({ min: 1, max: 9 }), seed: fc.nat({ max: 1000 }),
    perChannel: fc.boolean(),
  });
  await fc.assert(fc.asyncProperty(shapes, async (s) => {
    const hidden = s.heads * s.headSize;
    const shape = { layers: 1, hidden, heads: s.heads, ffn: 2 * hidden, vocab: 23, maxSeq: 9 };
    const model = (s.gpt ? buildGpt : buildBert)({ ...shape, seed: s.seed, std: 0.2 });
    const feed = { input_ids: randomInputIds(shape.vocab, s.batch, s.seq, s.seed) };
    const exact = await first(model, feed);
    // Float: the fused op computes the block (up to float rounding).
    const float = applyAttentionFusion(model, { form: 'Attention', perChannel: true, excluded: () => false });
    assert.equal(float.stats.applied.size, 1);
    assertValid(float.model);
    assert.ok(maxAbs(exact, await first(float.model, feed)) <= 1e-4);
    // Quantized (dynamic, and static calibrated on other ids of the same shape): no more error than the unfused
    // model, whose quantized nodes the quantError contract bounds.
    const weight_quantize_type = s.perChannel ? 'channel_wise_abs_max' : 'abs_max';
    const calib_data = [1, 2].map((i) => ({ input_ids: randomInputIds(shape.vocab, s.batch, s.seq, s.seed + 100 * i) }));
    for (const mode of [{}, { mode: 'static', calib_data }] as const) {
      const { model: fused } = await compile(model, [quant({ ...mode, weight_quantize_type })], { verify: true });
      const { model: unfused } = await compile(model, [quant({ ...mode, weight_quantize_type, fuse_attention: false })], { verify: true });
      assert.equal(fused.graph.nodes.filter((n) => n.opType === 'QAttention').length, 1);
      const [a, b] = [await first(fused, feed), await first(unfused, feed)];
      assert.ok(maxAbs(exact, a) <= 1.05 * maxAbs(exact, b) + 1e-5, `${mode.mode ?? 'dynamic'}: fused error ${maxAbs(exact, a)} vs unfused ${maxAbs(exact, b)}`);
    }
  }), params);
});
