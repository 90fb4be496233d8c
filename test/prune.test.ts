// The prune pass on hand-made graphs and the tiny BERT: ratio 0 is a no-op, FFN hidden units shrink by the ratio and
// the model runs in onnxruntime, conv groups go through BN and activations, l1 and l2 pick different channels,
// and what the analysis does not understand is left alone with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, DataType, GraphBuilder, makeModel, modelStats, prune, runModel, Tensor, type Model } from '../src/index.js';
import { findChannelGroups } from '../passes/prune.pass.js';
import { BERT_TINY, buildBert, randomInputIds } from './helpers/transformer.js';

const f32 = (dims: number[], values: ArrayLike<number>): Tensor => Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from(values));
const filled = (dims: number[], seed: number): Tensor => {
  const n = dims.reduce((a, b) => a * b, 1);
  return f32(dims, Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3)));
};
const quiet = { print: () => {} };

test('prune: ratio 0 returns the input model object', async () => {
  const m = buildBert({ ...BERT_TINY, seed: 1 });
  assert.equal((await compile(m, [prune({ ratio: 0 })], quiet)).model, m);
});

test('prune: tiny BERT FFN at ratio 0.25 removes 25% of hidden units, verifies and runs in onnxruntime', async () => {
  const cfg = { ...BERT_TINY, seed: 1 };
  const m = buildBert(cfg);
  const { groups, rejected } = findChannelGroups(m.graph, m.irVersion);
  assert.equal(groups.length, cfg.layers, 'one FFN group per layer');
  assert.ok(groups.every((g) => g.kind === 'mlp' && g.channels === cfg.ffn && g.slices.length === 3));
  assert.ok(rejected.length > 0 && rejected.every((r) => r.reason.length > 0), 'attention and residual linears are left alone with reasons');
  const { model: out, reports } = await compile(m, [prune({ ratio: 0.25 })], { verify: true, print: () => {} });
  const keep = cfg.ffn * 0.75;
  for (let l = 0; l < cfg.layers; l++) {
    assert.deepEqual(out.graph.initializers.get(`encoder.layer.${l}.intermediate.dense.weight`)!.dims, [cfg.hidden, keep]);
    assert.deepEqual(out.graph.initializers.get(`encoder.layer.${l}.intermediate.dense.bias`)!.dims, [keep]);
    assert.deepEqual(out.graph.initializers.get(`encoder.layer.${l}.output.dense.weight`)!.dims, [keep, cfg.hidden]);
  }
  const removed = cfg.layers * (cfg.ffn / 4) * (2 * cfg.hidden + 1);
  const before = modelStats(m).parameters, after = modelStats(out).parameters;
  assert.equal(before - after, removed);
  console.log(`tiny BERT FFN prune 0.25: parameters ${before} -> ${after} (-${removed}); notes ${JSON.stringify(reports[0].notes)}`);
  // Untouched tensors are the same objects.
  const touched = new Set(groups.flatMap((g) => g.slices.map((s) => s.name)));
  for (const [name, t] of m.graph.initializers) if (!touched.has(name)) assert.equal(out.graph.initializers.get(name), t, name);
  const feed = { input_ids: randomInputIds(cfg.vocab, 2, 8, 3) };
  const [a, b] = [await runModel(m, feed), await runModel(out, feed)];
  assert.deepEqual(b.last_hidden_state.dims, a.last_hidden_state.dims);
});

/** Conv → BatchNormalization → Relu → Conv, plus variants that must be left alone. */
function convModel(variant: 'plain' | 'depthwise' | 'residual'): Model {
  const b = new GraphBuilder('conv');
  const x = b.input('x', DataType.FLOAT, [1, 3, 6, 6]);
  const M = 4;
  const w1 = b.initializer('w1', filled([M, 3, 3, 3], 1));
  const c1 = b.op('Conv', [x, w1, b.initializer('b1', filled([M], 2))], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
  const bn = b.op('BatchNormalization', [c1, b.initializer('s', filled([M], 3)), b.initializer('bb', filled([M], 4)),
    b.initializer('mean', filled([M], 5)), b.initializer('var', f32([M], [1, 2, 3, 4]))]);
  let act = b.op('Relu', [bn]);
  if (variant === 'depthwise') act = b.op('Conv', [act, b.initializer('dw', filled([M, 1, 3, 3], 6))], { group: M, pads: [1, 1, 1, 1] }, { name: 'dw' });
  if (variant === 'residual') act = b.op('Add', [act, b.op('Conv', [x, b.initializer('w3', filled([M, 3, 1, 1], 7))])]);
  const y = b.op('Conv', [act, b.initializer('w2', filled([2, M, 1, 1], 8))], {}, { name: 'conv2' });
  b.output(y, DataType.FLOAT, [1, 2, 6, 6]);
  return makeModel(b.build(), { opset: 17 });
}

test('prune: conv output channels shrink through BatchNormalization and Relu into the next conv', async () => {
  const m = convModel('plain');
  const { model: out, reports } = await compile(m, [prune({ ratio: 0.5 })], { verify: true, print: () => {} });
  assert.deepEqual(out.graph.initializers.get('w1')!.dims, [2, 3, 3, 3]);
  for (const n of ['b1', 's', 'bb', 'mean', 'var']) assert.deepEqual(out.graph.initializers.get(n)!.dims, [2]);
  assert.deepEqual(out.graph.initializers.get('w2')!.dims, [2, 2, 1, 1]);
  assert.equal(reports[0].notes['conv conv1'], '4 -> 2');
  const feed = { x: filled([1, 3, 6, 6], 9) };
  assert.deepEqual((await runModel(out, feed)).conv2_out0.dims, [1, 2, 6, 6]);
});

test('prune: depthwise convs and residual Adds are left alone with a reason', async () => {
  for (const variant of ['depthwise', 'residual'] as const) {
    const m = convModel(variant);
    const { groups, rejected } = findChannelGroups(m.graph, m.irVersion);
    assert.equal(groups.length, 0, variant);
    assert.ok(rejected.some((r) => r.node === 'conv1'), `${variant}: ${JSON.stringify(rejected)}`);
    const { model: out, reports } = await compile(m, [prune({ ratio: 0.5 })], { verify: true, print: () => {} });
    assert.equal(out, m, `${variant}: nothing changes`);
    assert.ok(Object.keys(reports[0].notes).some((k) => k.startsWith('left alone')), variant);
  }
});

test('prune: l1_norm and l2_norm pick the expected channels; skip and round_to', async () => {
  // Channel 0: four entries of 1 (l1 4, l2 √2+√2 ≈ 2.83); channel 1: one entry of 3 (l1 3, l2 3); channel 2: large.
  const build = (): Model => {
    const b = new GraphBuilder('mlp');
    const x = b.input('x', DataType.FLOAT, [1, 2]);
    const h = b.op('Relu', [b.op('MatMul', [x, b.initializer('w1', f32([2, 3], [1, 3, 5, 1, 0, 5]))], {}, { name: 'fc1' })]);
    b.output(b.op('MatMul', [h, b.initializer('w2', f32([3, 2], [1, 1, 0, 0, 5, 5]))]), DataType.FLOAT, [1, 2]);
    return makeModel(b.build());
  };
  const m = build();
  const kept = async (opts: Parameters<typeof prune>[0]): Promise<number[]> =>
    Array.from((await compile(m, [prune(opts)], { verify: true, print: () => {} })).model.graph.initializers.get('w1')!.toFloat32());
  assert.deepEqual(await kept({ ratio: 0.34, criterion: 'l1_norm' }), [1, 5, 1, 5], 'l1 drops channel 1');
  assert.deepEqual(await kept({ ratio: 0.34, criterion: 'l2_norm' }), [3, 5, 0, 5], 'l2 drops channel 0');
  assert.equal((await compile(m, [prune({ ratio: 0.34, skip: ['/^fc/'] })], quiet)).model, m, 'skip by regex');
  assert.equal((await compile(m, [prune({ ratio: 0.34, round_to: 3 })], quiet)).model, m, 'round_to keeps all 3');
});
