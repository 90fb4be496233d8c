// The prune pass on hand-made graphs and the tiny BERT: ratio 0 is a no-op; attention heads and FFN hidden units
// shrink by the ratio (shape constants follow) and the model runs in onnxruntime; conv groups go through BN,
// activations, depthwise convs and residual Adds; l1, l2 and random pick different channels; global scope keeps a
// floor; what the analysis does not understand is left alone with a reason. Real models: test/prune-real.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkContract, compile, DataType, GraphBuilder, makeModel, prune, runModel, Tensor, type Model } from '../src/index.js';
import { findChannelGroups } from '../passes/prune.pass.js';
import { BERT_TINY, buildBert, randomInputIds } from './helpers/transformer.js';

const f32 = (dims: number[], values: ArrayLike<number>): Tensor => Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from(values));
const filled = (dims: number[], seed: number): Tensor => {
  const n = dims.reduce((a, b) => a * b, 1);
  return f32(dims, Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3)));
};
const quiet = { print: () => {} };
/** Weights only: edited shape constants are int64 initializers, not parameters anyone trains. */
const floatParameters = (m: Model): number => [...m.graph.initializers.values()].filter((t) => t.dataType === DataType.FLOAT).reduce((n, t) => n + t.size, 0);

test('prune: ratio 0 returns the input model object', async () => {
  const m = buildBert({ ...BERT_TINY, seed: 1 });
  assert.equal((await compile(m, [prune({ ratio: 0 })], quiet)).model, m);
});

test('prune: tiny BERT heads and FFN at ratio 0.25: weights, biases and head-count constants shrink; runs in onnxruntime', async () => {
  const cfg = { ...BERT_TINY, seed: 1 };
  const m = buildBert(cfg);
  const { groups } = findChannelGroups(m.graph, m);
  assert.deepEqual(groups.map((g) => `${g.kind}:${g.units}`), ['heads:4', 'mlp:64', 'heads:4', 'mlp:64']);
  const { model: out, reports } = await compile(m, [prune({ ratio: 0.25 })], { verify: true, print: () => {} });
  const [heads, ffn, head] = [cfg.heads * 0.75, cfg.ffn * 0.75, cfg.hidden / cfg.heads];
  const init = (name: string) => out.graph.initializers.get(name)!.dims;
  for (let l = 0; l < cfg.layers; l++) {
    const p = `encoder.layer.${l}`;
    for (const proj of ['query', 'key', 'value']) {
      assert.deepEqual(init(`${p}.attention.self.${proj}.weight`), [cfg.hidden, heads * head]);
      assert.deepEqual(init(`${p}.attention.self.${proj}.bias`), [heads * head]);
    }
    assert.deepEqual(init(`${p}.attention.output.dense.weight`), [heads * head, cfg.hidden]);
    assert.deepEqual(init(`${p}.intermediate.dense.weight`), [cfg.hidden, ffn]);
    assert.deepEqual(init(`${p}.output.dense.weight`), [ffn, cfg.hidden]);
  }
  const perLayer = (cfg.heads - heads) * head * (4 * cfg.hidden + 3) + (cfg.ffn - ffn) * (2 * cfg.hidden + 1);
  assert.equal(floatParameters(m) - floatParameters(out), cfg.layers * perLayer);
  assert.match(String(reports[0].notes['heads /encoder/layer.0/attention/self/query/MatMul']), /^units 4 -> 3, channels 32 -> 24, params 4192 -> 3144, flops \d+ -> \d+$/);
  // Untouched tensors are the same objects.
  const touched = new Set(groups.flatMap((g) => g.slices.map((s) => s.name)));
  for (const [name, t] of m.graph.initializers) if (!touched.has(name) && out.graph.initializers.has(name)) assert.equal(out.graph.initializers.get(name), t, name);
  const feed = { input_ids: randomInputIds(cfg.vocab, 2, 8, 3) };
  const [a, b] = [await runModel(m, feed), await runModel(out, feed)];
  assert.deepEqual(b.last_hidden_state.dims, a.last_hidden_state.dims);
});

test('prune: targets picks group kinds; reorder alone permutes heads and keeps outputs allclose', async () => {
  const m = buildBert({ ...BERT_TINY, seed: 2 });
  const heads = (await compile(m, [prune({ ratio: 0.25, targets: ['heads'] })], quiet)).model;
  assert.deepEqual(heads.graph.initializers.get('encoder.layer.0.intermediate.dense.weight')!.dims, [32, 64]);
  assert.deepEqual(heads.graph.initializers.get('encoder.layer.0.attention.self.query.weight')!.dims, [32, 24]);
  const reordered = (await compile(m, [prune({ reorder: true })], { verify: true, print: () => {} })).model;
  assert.notEqual(reordered.graph.initializers.get('encoder.layer.0.intermediate.dense.weight'), m.graph.initializers.get('encoder.layer.0.intermediate.dense.weight'));
  const feed = { input_ids: randomInputIds(101, 1, 8, 4) };
  const failure = checkContract({ kind: 'allclose', rtol: 1e-4, atol: 1e-5 }, await runModel(m, feed), await runModel(reordered, feed));
  assert.equal(failure, undefined, failure);
});

test('prune: the random criterion is seeded; global scope removes about the ratio of parameters and keeps a floor', async () => {
  const m = buildBert({ ...BERT_TINY, seed: 3 });
  const w = async (opts: Parameters<typeof prune>[0]) => (await compile(m, [prune(opts)], quiet)).model.graph.initializers.get('encoder.layer.0.intermediate.dense.weight')!.toFloat32();
  assert.deepEqual(await w({ ratio: 0.5, criterion: 'random', seed: 7 }), await w({ ratio: 0.5, criterion: 'random', seed: 7 }));
  assert.notDeepEqual(await w({ ratio: 0.5, criterion: 'random', seed: 7 }), await w({ ratio: 0.5, criterion: 'random', seed: 8 }));
  assert.notDeepEqual(await w({ ratio: 0.5, criterion: 'random', seed: 7 }), await w({ ratio: 0.5 }));
  const { groups } = findChannelGroups(m.graph, m);
  const prunable = groups.reduce((n, g) => n + g.slices.reduce((k, s) => k + s.tensor.size, 0), 0);
  const out = (await compile(m, [prune({ ratio: 0.3, scope: 'global', floor: 0.5 })], { verify: true, print: () => {} })).model;
  const removed = floatParameters(m) - floatParameters(out);
  assert.ok(Math.abs(removed / prunable - 0.3) < 0.05, `removed ${removed} of ${prunable}`);
  for (const g of findChannelGroups(out.graph, out).groups) assert.ok(g.units >= 2, `${g.label} keeps ${g.units}`);
});

/** Conv → BatchNormalization → Relu → Conv, with a depthwise conv or a residual branch in between. */
function convModel(variant: 'plain' | 'depthwise' | 'residual' | 'grouped'): Model {
  const b = new GraphBuilder('conv');
  const x = b.input('x', DataType.FLOAT, [1, 3, 6, 6]);
  const M = 4;
  const w1 = b.initializer('w1', filled([M, 3, 3, 3], 1));
  const c1 = b.op('Conv', [x, w1, b.initializer('b1', filled([M], 2))], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
  const bn = b.op('BatchNormalization', [c1, b.initializer('s', filled([M], 3)), b.initializer('bb', filled([M], 4)),
    b.initializer('mean', filled([M], 5)), b.initializer('var', f32([M], [1, 2, 3, 4]))]);
  let act = b.op('Relu', [bn]);
  if (variant === 'depthwise') act = b.op('Conv', [act, b.initializer('dw', filled([M, 1, 3, 3], 6))], { group: M, pads: [1, 1, 1, 1] }, { name: 'dw' });
  if (variant === 'grouped') act = b.op('Conv', [act, b.initializer('gw', filled([M, 2, 1, 1], 6))], { group: 2 }, { name: 'grouped' });
  if (variant === 'residual') act = b.op('Add', [act, b.op('Conv', [x, b.initializer('w3', filled([M, 3, 1, 1], 7))], {}, { name: 'conv3' })]);
  const y = b.op('Conv', [act, b.initializer('w2', filled([2, M, 1, 1], 8))], {}, { name: 'conv2' });
  b.output(y, DataType.FLOAT, [1, 2, 6, 6]);
  return makeModel(b.build(), { opset: 17 });
}

test('prune: conv output channels shrink through BatchNormalization, Relu, depthwise convs and residual Adds', async () => {
  for (const variant of ['plain', 'depthwise', 'residual'] as const) {
    const m = convModel(variant);
    const { model: out, reports } = await compile(m, [prune({ ratio: 0.5 })], { verify: true, print: () => {} });
    const dims = (n: string) => out.graph.initializers.get(n)!.dims;
    assert.deepEqual(dims('w1'), [2, 3, 3, 3], variant);
    for (const n of ['b1', 's', 'bb', 'mean', 'var']) assert.deepEqual(dims(n), [2], `${variant} ${n}`);
    assert.deepEqual(dims('w2'), [2, 2, 1, 1], variant);
    assert.match(String(reports[0].notes['conv conv1']), /^units 4 -> 2, channels 4 -> 2, params \d+ -> \d+, flops \d+ -> \d+$/, variant);
    if (variant === 'depthwise') {
      assert.deepEqual(dims('dw'), [2, 1, 3, 3]);
      assert.equal(out.graph.nodes.find((n) => n.inputs[1] === 'dw')!.attributes.find((a) => a.name === 'group')!.value, 2, 'group follows the channels');
    }
    if (variant === 'residual') assert.deepEqual(dims('w3'), [2, 3, 1, 1], 'both members of the sum shrink identically');
    const feed = { x: filled([1, 3, 6, 6], 9) };
    assert.deepEqual((await runModel(out, feed)).conv2_out0.dims, [1, 2, 6, 6], variant);
  }
});

test('prune: a grouped conv and a residual with an unprunable value are left alone with a reason', async () => {
  const m = convModel('grouped');
  const { groups, rejected } = findChannelGroups(m.graph, m);
  assert.ok(!groups.some((g) => g.label === 'conv1'));
  assert.match(rejected.find((r) => r.node === 'conv1')!.reason, /grouped conv/);
  const { model: out, reports } = await compile(m, [prune({ ratio: 0.5, targets: ['conv'] })], { verify: true, print: () => {} });
  assert.ok(Object.keys(reports[0].notes).some((k) => k === 'left alone conv1'));
  assert.equal(out.graph.initializers.get('w1'), m.graph.initializers.get('w1'), 'conv1 stays whole');
  const bert = buildBert({ ...BERT_TINY, seed: 1 });
  const residual = findChannelGroups(bert.graph, bert).rejected.find((r) => r.node.endsWith('attention/output/dense/MatMul'));
  assert.match(residual!.reason, /mixes the channels/);
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
  // Per-group ratios (first match wins) override ratio, in both directions.
  assert.deepEqual(await kept({ ratio: 0, ratios: ['fc1=0.34'] }), [1, 5, 1, 5], 'a ratio for fc1 alone');
  assert.deepEqual(await kept({ ratio: 0.34, ratios: ['/^fc/=0', 'fc1=0.34'] }), [1, 3, 5, 1, 0, 5], 'the first match keeps fc1 whole');
  await assert.rejects(compile(m, [prune({ ratios: ['fc1'] })], quiet), /ratios entry 'fc1' should read pattern=ratio with a ratio in \[0, 1\)/);
  await assert.rejects(compile(m, [prune({ ratios: ['fc1=1'] })], quiet), /ratios entry 'fc1=1' should read pattern=ratio/);
  await assert.rejects(compile(m, [prune({ ratio: 0.2, scope: 'global', ratios: ['fc1=0.5'] })], quiet), /per-group ratios apply with scope layer, not global/);
});
