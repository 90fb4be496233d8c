// quant/flatten-residual-layernorm: the residual Add + LayerNormalization written over rows so that onnxruntime
// keeps them apart instead of fusing its slower SkipLayerNormalization; the values are exactly the original's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRules, assertValid, compile, DataType, GraphBuilder, makeModel, quant, RuleSet, runModel, type Model, type Tensor } from '../src/index.js';
import { flattenResidualLayerNorm } from '../rules/quant/flatten-residual-layernorm.js';
import { buildBert, BERT_TINY, randomInputIds } from './helpers/transformer.js';
import { fusedOps } from './helpers/ort-fusion.js';
import { randomTensor, rng } from '../src/runtime/feeds.js';

const rules = new RuleSet('ort-layout', [flattenResidualLayerNorm]);
const randomFloats = (dims: number[], seed: number): Tensor => randomTensor(DataType.FLOAT, dims, rng(seed), [-2, 2]);

/** Add(x, y) → LayerNormalization over `dims` (symbolic names allowed); `yDims` overrides y's shape. */
function residualNorm(dims: Array<number | string>, o: { yDims?: Array<number | string>; readMean?: boolean } = {}): Model {
  const b = new GraphBuilder();
  const hidden = dims[dims.length - 1] as number;
  const x = b.input('x', DataType.FLOAT, dims), y = b.input('y', DataType.FLOAT, o.yDims ?? dims);
  const gamma = b.initializer('gamma', randomFloats([hidden], 3)), beta = b.initializer('beta', randomFloats([hidden], 4));
  const sum = b.op('Add', [x, y]);
  const [normed, mean] = b.node('LayerNormalization', [sum, gamma, beta], { axis: -1, epsilon: 1e-5 }, { outputs: o.readMean ? 2 : 1 });
  b.output(normed, DataType.FLOAT, dims);
  if (o.readMean) b.output(mean, DataType.FLOAT, [...dims.slice(0, -1), 1]);
  return makeModel(b.build());
}

test('quant/flatten-residual-layernorm: static shapes become row Reshapes around Add + LayerNormalization, values bitwise equal', async () => {
  const model = residualNorm([2, 5, 8]);
  const { model: out, stats } = applyRules(model, rules);
  assert.equal(stats.applied.get('quant/flatten-residual-layernorm'), 1);
  assertValid(out);
  assert.deepEqual(out.graph.nodes.map((n) => n.opType), ['Reshape', 'Reshape', 'Add', 'LayerNormalization', 'Reshape']);
  const feed = { x: randomFloats([2, 5, 8], 1), y: randomFloats([2, 5, 8], 2) };
  const [before, after] = [await runModel(model, feed, { optimization: 'disabled' }), await runModel(out, feed, { optimization: 'disabled' })];
  assert.deepEqual(Object.values(after)[0].toFloat32(), Object.values(before)[0].toFloat32());
  assert.ok(!('com.microsoft.SkipLayerNormalization' in await fusedOps(out)), 'onnxruntime keeps the row form unfused');
  assert.ok('com.microsoft.SkipLayerNormalization' in await fusedOps(model), 'and fuses the original (the case the rule exists for)');
});

test('quant/flatten-residual-layernorm: a symbolic batch is read back at run time', async () => {
  const model = residualNorm(['batch', 7, 8]);
  const { model: out } = applyRules(model, rules);
  assertValid(out);
  assert.ok(out.graph.nodes.some((n) => n.opType === 'Shape'));
  for (const dims of [[1, 7, 8], [3, 7, 8]]) {
    const feed = { x: randomFloats(dims, 5), y: randomFloats(dims, 6) };
    const [before, after] = [await runModel(model, feed, { optimization: 'disabled' }), await runModel(out, feed, { optimization: 'disabled' })];
    const [b, a] = [Object.values(before)[0], Object.values(after)[0]];
    assert.deepEqual(a.dims, dims);
    assert.deepEqual(a.toFloat32(), b.toFloat32());
  }
});

test('quant/flatten-residual-layernorm: a broadcast Add, a read mean output or a symbolic sequence (never fused) is left alone', () => {
  for (const model of [residualNorm([2, 5, 8], { yDims: [8] }), residualNorm([2, 5, 8], { readMean: true }), residualNorm(['batch', 'seq', 8])]) {
    const { model: out, stats } = applyRules(model, rules);
    assert.equal(out, model);
    assert.equal(stats.applied.size, 0);
  }
});

test('quant: BERT quantized dynamically runs Add + LayerNormalization, not SkipLayerNormalization; the option turns it off', async () => {
  const fp32 = buildBert({ ...BERT_TINY, batch: 1, seq: 16, seed: 2 });
  const [flat, fused] = await Promise.all([true, false].map(async (on) => (await compile(fp32, [quant({ flatten_residual_layernorm: on })], { verify: true })).model));
  const [flatOps, fusedOpsOf] = [await fusedOps(flat), await fusedOps(fused)];
  assert.equal(flatOps['com.microsoft.SkipLayerNormalization'], undefined);
  assert.equal(flatOps.LayerNormalization, 2 * BERT_TINY.layers + 1);
  assert.equal(fusedOpsOf['com.microsoft.SkipLayerNormalization'], 2 * BERT_TINY.layers + 1);
  const feed = { input_ids: randomInputIds(BERT_TINY.vocab, 1, 16, 4) };
  // Without onnxruntime's fusions both compute Add then LayerNormalization on the same values.
  const [a, b] = [await runModel(flat, feed, { optimization: 'basic' }), await runModel(fused, feed, { optimization: 'basic' })];
  assert.deepEqual(Object.values(a)[0].toFloat32(), Object.values(b)[0].toFloat32());
});
