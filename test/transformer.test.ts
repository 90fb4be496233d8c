// The synthetic transformer builders: the models run in onnxruntime, are deterministic, and compute what
// their structure says (LayerNorm-normalized BERT rows, causal GPT logits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeModel } from '../src/io/save.js';
import { decodeModel } from '../src/io/load.js';
import { DataType } from '../src/ir/dtype.js';
import { Tensor } from '../src/ir/tensor.js';
import { runModel } from '../src/runtime/ort.js';
import { BERT_TINY, GPT_TINY, buildBert, buildGpt, normalArray, paramCount, randomInputIds } from './helpers/transformer.js';

const B = 2;
const S = 7;

function assertFinite(t: Tensor): void {
  const v = t.toFloat32();
  for (let i = 0; i < v.length; i++) assert.ok(Number.isFinite(v[i]), `value ${i} is ${v[i]}`);
}

function opCounts(nodes: readonly { opType: string }[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of nodes) c[n.opType] = (c[n.opType] ?? 0) + 1;
  return c;
}

test('tiny BERT runs: last_hidden_state [B,S,H] and pooler_output [B,H], finite', async () => {
  const model = buildBert({ ...BERT_TINY, seed: 1, pooler: true });
  const out = await runModel(model, { input_ids: randomInputIds(BERT_TINY.vocab, B, S, 3) });
  assert.deepEqual(out.last_hidden_state.dims, [B, S, BERT_TINY.hidden]);
  assert.deepEqual(out.pooler_output.dims, [B, BERT_TINY.hidden]);
  assertFinite(out.last_hidden_state);
  assertFinite(out.pooler_output);
});

test('BERT output rows are LayerNorm-normalized (gamma = 1, beta = 0 by default)', async () => {
  const H = BERT_TINY.hidden;
  const out = await runModel(buildBert({ ...BERT_TINY, seed: 2 }), { input_ids: randomInputIds(BERT_TINY.vocab, B, S, 4) });
  const v = out.last_hidden_state.toFloat32();
  let spread = 0;
  for (let row = 0; row < B * S; row++) {
    let mean = 0;
    for (let i = 0; i < H; i++) mean += v[row * H + i];
    mean /= H;
    let variance = 0;
    for (let i = 0; i < H; i++) variance += (v[row * H + i] - mean) ** 2;
    variance /= H;
    assert.ok(Math.abs(mean) < 1e-4, `row ${row} mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 1e-3, `row ${row} variance ${variance}`);
    spread += Math.abs(v[row * H] - v[((row + 1) % (B * S)) * H]);
  }
  assert.ok(spread > 0, 'rows differ (the model is not constant)');
});

test('tiny GPT runs: logits [B,S,vocab], finite, causal (later tokens do not change earlier logits)', async () => {
  const model = buildGpt({ ...GPT_TINY, seed: 1 });
  const ids = randomInputIds(GPT_TINY.vocab, B, S, 5);
  const changed = (ids.toArray() as BigInt64Array).slice();
  for (let b = 0; b < B; b++) changed[b * S + S - 1] = (changed[b * S + S - 1] + 1n) % BigInt(GPT_TINY.vocab);
  const a = (await runModel(model, { input_ids: ids })).logits;
  const c = (await runModel(model, { input_ids: Tensor.fromArray(DataType.INT64, [B, S], changed) })).logits;
  assert.deepEqual(a.dims, [B, S, GPT_TINY.vocab]);
  assertFinite(a);
  const V = GPT_TINY.vocab;
  const av = a.toFloat32();
  const cv = c.toFloat32();
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      let diff = 0;
      for (let i = 0; i < V; i++) diff = Math.max(diff, Math.abs(av[(b * S + s) * V + i] - cv[(b * S + s) * V + i]));
      if (s < S - 1) assert.ok(diff < 1e-6, `batch ${b} position ${s} changed by ${diff}`);
      else assert.ok(diff > 0, `batch ${b} last position did not change`);
    }
  }
});

test('symbolic seq: one model runs at several lengths up to maxSeq', async () => {
  const model = buildGpt({ ...GPT_TINY, seed: 1 });
  for (const len of [1, 4, GPT_TINY.maxSeq]) {
    const out = await runModel(model, { input_ids: randomInputIds(GPT_TINY.vocab, 1, len) });
    assert.deepEqual(out.logits.dims, [1, len, GPT_TINY.vocab]);
  }
});

test('same seed ⇒ identical bytes; another seed ⇒ other weights; round-trips through the codec', () => {
  for (const build of [buildBert, buildGpt]) {
    const shape = build === buildBert ? BERT_TINY : GPT_TINY;
    const a = encodeModel(build({ ...shape, seed: 7 }));
    const b = encodeModel(build({ ...shape, seed: 7 }));
    const c = encodeModel(build({ ...shape, seed: 8 }));
    assert.ok(Buffer.from(a).equals(Buffer.from(b)), `${build.name}: same seed gives the same bytes`);
    assert.ok(!Buffer.from(a).equals(Buffer.from(c)), `${build.name}: another seed gives other bytes`);
    assert.ok(Buffer.from(encodeModel(decodeModel(a))).equals(Buffer.from(a)), `${build.name}: load → save is lossless`);
  }
});

test('structure: the exporter patterns and parameter counts', () => {
  const L = BERT_TINY.layers;
  const bert = buildBert({ ...BERT_TINY, pooler: true });
  const ops = opCounts(bert.graph.nodes);
  // Per layer: Q/K/V/O + 2 FFN + 2 attention MatMuls; embeddings 1 + 2 LN per layer; Erf once per layer.
  assert.equal(ops.MatMul, L * 8 + 1);
  assert.equal(ops.LayerNormalization, 1 + 2 * L);
  assert.equal(ops.Erf, L);
  assert.equal(ops.Softmax, L);
  const reshapeShapes = bert.graph.nodes.filter((n) => n.opType === 'Reshape')
    .map((n) => bert.graph.initializers.get(n.inputs[1])!.toNumbers().join(','));
  const { heads, hidden } = BERT_TINY;
  assert.equal(reshapeShapes.filter((s) => s === `0,0,${heads},${hidden / heads}`).length, 3 * L);
  assert.equal(reshapeShapes.filter((s) => s === `0,0,${hidden}`).length, L);
  const perms = bert.graph.nodes.filter((n) => n.opType === 'Transpose')
    .map((n) => n.attributes.find((a) => a.name === 'perm')!.value as readonly number[]).map((p) => p.join(''));
  assert.equal(perms.filter((p) => p === '0231').length, L);
  // Parameters: float initializers of rank ≥ 1 (scalars are constants), the causal mask excluded.
  const params = (m: typeof bert): number => [...m.graph.initializers]
    .filter(([n, t]) => t.dataType === DataType.FLOAT && t.dims.length > 0 && n !== 'transformer.causal_mask')
    .reduce((s, [, t]) => s + t.size, 0);
  assert.equal(params(bert), paramCount(BERT_TINY, 'bert', true));
  const gpt = buildGpt(GPT_TINY);
  assert.equal(params(gpt), paramCount(GPT_TINY, 'gpt'));
  assert.equal(opCounts(gpt.graph.nodes).MatMul, GPT_TINY.layers * 8 + 1);
});

test('normalArray: mean and std as asked', () => {
  const v = normalArray(100_001, 0.02, 123);
  let mean = 0;
  for (const x of v) mean += x;
  mean /= v.length;
  let sq = 0;
  for (const x of v) sq += (x - mean) ** 2;
  assert.ok(Math.abs(mean) < 5e-4, `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(sq / v.length) - 0.02) < 5e-4, `std ${Math.sqrt(sq / v.length)}`);
});
