// Pairs with their own loss and weight (logits KL beside weighted hidden-state MSE), and the helpers that pick and
// weight hidden states: RMSNorm inputs of stories260K, variances from a run, weights 1 / (count · variance).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DataType } from '../src/ir/dtype.js';
import { GraphBuilder, makeModel } from '../src/ir/builder.js';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { loadModel } from '../src/io/load.js';
import { runModel } from '../src/runtime/ort.js';
import { buildDistillModel, type DistillPair } from '../passes/distill.pass.js';
import { hiddenStatePairs, layerNormInputs, rmsNormInputs, valueVariances } from '../src/cli/distill-hidden.js';
import { SHARED_MODELS_DIR } from './helpers/paths.js';
import { rng } from './helpers/feeds.js';

const floats = (dims: number[], seed: number): Tensor => {
  const next = rng(seed);
  return Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => next() * 2 - 1));
};

/** x [2, 4] → MatMul → Relu (hidden) → MatMul → logits [2, 3]. */
function twoLayer(seed: number): Model {
  const b = new GraphBuilder('two-layer');
  const x = b.input('x', DataType.FLOAT, [2, 4]);
  const hidden = b.op('Relu', [b.op('MatMul', [x, b.initializer('w1', floats([4, 5], seed))])], {}, { name: 'hidden' });
  b.output(b.op('MatMul', [hidden, b.initializer('w2', floats([5, 3], seed + 1))], {}, { name: 'head' }), DataType.FLOAT, [2, 3]);
  return makeModel(b.build(), { opset: 17 });
}

test('distill pairs: each pair may bring its own loss and weight; the loss is their weighted sum', async () => {
  const student = twoLayer(1), teacher = twoLayer(3);
  const x = floats([2, 4], 9);
  const lossOf = async (pairs: DistillPair[]): Promise<number> =>
    (await runModel(buildDistillModel(student, { teacher, loss: 'kl_div', pairs }).model, { x })).loss.toFloat32()[0];
  const kl = await lossOf([{ student: 'head_out0', teacher: 'head_out0' }]);
  const mse = await lossOf([{ student: 'hidden_out0', teacher: 'hidden_out0', loss: 'mse' }]);
  assert.ok(kl > 0 && mse > 0);
  const both = await lossOf([{ student: 'head_out0', teacher: 'head_out0' }, { student: 'hidden_out0', teacher: 'hidden_out0', loss: 'mse', weight: 2.5 }]);
  assert.ok(Math.abs(both - (kl + 2.5 * mse)) < 1e-5, `${both} vs ${kl + 2.5 * mse}`);
  assert.throws(() => buildDistillModel(student, { teacher, pairs: [{ student: 'hidden_out0', teacher: 'hidden_out0', weight: -1 }] }),
    /pair hidden_out0:hidden_out0 needs a finite weight ≥ 0, got -1/);
});

test('distill hidden states: RMSNorm inputs of stories260K, their variances, weights 1 / (count · variance)', async () => {
  const stories = loadModel(path.join(SHARED_MODELS_DIR, 'stories260K', 'stories260K.onnx'));
  const values = rmsNormInputs(stories);
  // The embedding, then per block the residual after attention and after the FFN (the last feeds the final norm).
  assert.equal(values.length, 11);
  assert.equal(values[0], '/emb/Gather_output_0');
  assert.equal(values[10], '/blocks.4/Add_4_output_0');

  const model = twoLayer(1);
  const x = floats([2, 4], 5);
  const hidden = (await runModel({ ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, { name: 'hidden_out0', type: model.graph.outputs[0].type }] } }, { x })).hidden_out0.toFloat32();
  const mean = hidden.reduce((a, b) => a + b, 0) / hidden.length;
  const expected = hidden.reduce((a, b) => a + (b - mean) ** 2, 0) / hidden.length;
  const [variance] = await valueVariances(model, ['hidden_out0'], [{ x }, { x }]);
  assert.ok(Math.abs(variance - expected) < 1e-6, `${variance} vs ${expected}`);

  assert.deepEqual(hiddenStatePairs(['a', 'b'], [2, 0.5], 4), [
    { student: 'a', teacher: 'a', loss: 'mse', weight: 1 }, { student: 'b', teacher: 'b', loss: 'mse', weight: 4 },
  ]);
  assert.throws(() => hiddenStatePairs(['a'], [0], 1), /the teacher's 'a' has variance 0/);
});

test('distill hidden states: LayerNorm inputs, decomposed (x − ReduceMean(x)) or fused, in graph order', () => {
  const b = new GraphBuilder('layer-norms');
  const x = b.input('x', DataType.FLOAT, [2, 4]);
  const centred = b.op('Sub', [x, b.op('ReduceMean', [x], { axes: [-1] })], {}, { name: 'centre' });
  const residual = b.op('Add', [b.op('Mul', [centred, centred]), x], {}, { name: 'residual' });
  const scale = b.initializer('scale', floats([4], 1));
  const normed = b.op('LayerNormalization', [residual, scale], { axis: -1 }, { name: 'ln' });
  // A ReduceMean subtracted from another value is not a LayerNorm.
  b.output(b.op('Sub', [normed, b.op('ReduceMean', [x], { axes: [-1] })], {}, { name: 'other' }), DataType.FLOAT, [2, 4]);
  assert.deepEqual(layerNormInputs(makeModel(b.build(), { opset: 17 })), ['x', 'residual_out0']);
});
