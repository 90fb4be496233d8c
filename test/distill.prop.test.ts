// Property tests of the distillation loss heads and the distill pass. Each loss, built by passes/distill/losses.ts
// and run in onnxruntime (optimizations off), equals a float64 JS reference on random shapes, values and
// temperatures; equal student and teacher give kl_div = mse = 0 and the contrastive loss its floor range. On random
// tape students and teachers the pass keeps the student's outputs bitwise (its contract), the merged teacher
// reproduces the teacher run alone, and the verifier passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { produce } from 'immer';
// Modules imported one by one rather than through src/index.js, so these tests do not load every other pass.
import { DataType } from '../src/ir/dtype.js';
import { GraphBuilder, makeModel, makeValueInfo } from '../src/ir/builder.js';
import type { Model } from '../src/ir/model.js';
import { Tensor } from '../src/ir/tensor.js';
import { checkContract } from '../src/passes/contract.js';
import { compile } from '../src/passes/compile.js';
import { runModel } from '../src/runtime/ort.js';
import { GraphExtension } from '../src/ir/extend.js';
import { contractOf } from '../src/passes/pass.js';
import { buildDistillModel, crossEntropy, distill, klDiv, mse, tokenWiseContrastive } from '../passes/distill.pass.js';
import { rng } from './helpers/feeds.js';
import { PROP_RUNS, PROP_SEED } from './helpers/paths.js';
import { buildTape, tape, tapeFeed } from './helpers/tape.js';

const params = { seed: PROP_SEED, numRuns: Math.max(1, Math.ceil(PROP_RUNS / 2)) };
console.log(`distill.prop: seed=${PROP_SEED} runs=${params.numRuns} (set FC_SEED / FC_RUNS to replay)`);

type Head = (ext: GraphExtension) => string;

/** Runs one loss head over float inputs a, b (and int64 labels y when given) and returns the scalar. */
async function runHead(feeds: Record<string, Tensor>, head: Head): Promise<number> {
  const b = new GraphBuilder('loss');
  for (const [name, t] of Object.entries(feeds)) b.input(name, t.dataType, t.dims);
  const ext = new GraphExtension(b.build(), 'test/');
  const out = head(ext);
  ext.output(out, DataType.FLOAT, []);
  const result = await runModel(makeModel(ext.apply(), { opset: 17 }), feeds);
  assert.deepEqual(result[out].dims, []);
  return result[out].toFloat32()[0];
}

const floats = (dims: readonly number[], seed: number, scale = 4): Tensor => {
  const next = rng(seed);
  return Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (next() * 2 - 1) * scale));
};
const values = (t: Tensor): number[] => Array.from(t.toFloat32());

/** Index helper for reducing along `axis` of `dims`: [outer, size, inner]. */
function split(dims: readonly number[], axis: number): [number, number, number] {
  const a = axis < 0 ? dims.length + axis : axis;
  const prod = (xs: readonly number[]): number => xs.reduce((p, d) => p * d, 1);
  return [prod(dims.slice(0, a)), dims[a], prod(dims.slice(a + 1))];
}

/** log_softmax of x / T along `axis`, in float64. */
function logSoftmax(x: readonly number[], dims: readonly number[], axis: number, T = 1): number[] {
  const [outer, n, inner] = split(dims, axis);
  const out = new Array<number>(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (c: number): number => o * n * inner + c * inner + i;
      let max = -Infinity;
      for (let c = 0; c < n; c++) max = Math.max(max, x[at(c)] / T);
      let sum = 0;
      for (let c = 0; c < n; c++) sum += Math.exp(x[at(c)] / T - max);
      for (let c = 0; c < n; c++) out[at(c)] = x[at(c)] / T - max - Math.log(sum);
    }
  }
  return out;
}

function crossEntropyRef(x: readonly number[], dims: readonly number[], labels: readonly number[], axis: number): number {
  const lp = logSoftmax(x, dims, axis);
  const [outer, n, inner] = split(dims, axis);
  let sum = 0;
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) sum -= lp[o * n * inner + labels[o * inner + i] * inner + i];
  return sum / (outer * inner);
}

function klRef(s: readonly number[], t: readonly number[], dims: readonly number[], T: number): number {
  const ls = logSoftmax(s, dims, -1, T), lt = logSoftmax(t, dims, -1, T);
  const positions = s.length / dims[dims.length - 1];
  return (lt.reduce((acc, l, i) => acc + Math.exp(l) * (l - ls[i]), 0) / positions) * T * T;
}

const mseRef = (a: readonly number[], b: readonly number[]): number => a.reduce((acc, x, i) => acc + (x - b[i]) ** 2, 0) / a.length;

function contrastiveRef(s: readonly number[], t: readonly number[], B: number, S: number, D: number, T: number): number {
  const row = (x: readonly number[], b: number, i: number): number[] => {
    const v = x.slice((b * S + i) * D, (b * S + i + 1) * D);
    const norm = Math.sqrt(v.reduce((a, y) => a + y * y, 0) + 1e-12);
    return v.map((y) => y / norm);
  };
  let sum = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < S; i++) {
      const si = row(s, b, i);
      const sims = Array.from({ length: S }, (_, j) => row(t, b, j).reduce((a, y, k) => a + y * si[k], 0) / T);
      const max = Math.max(...sims);
      sum += max + Math.log(sims.reduce((a, z) => a + Math.exp(z - max), 0)) - sims[i];
    }
  }
  return sum / (B * S);
}

const close = (actual: number, expected: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= 1e-4 + 1e-4 * Math.abs(expected), `${what}: onnxruntime ${actual} vs reference ${expected}`);
};

const shape = fc.record({ B: fc.integer({ min: 1, max: 3 }), S: fc.integer({ min: 1, max: 4 }), C: fc.integer({ min: 2, max: 6 }), rank3: fc.boolean() });
const dimsOf = (s: { B: number; S: number; C: number; rank3: boolean }): number[] => (s.rank3 ? [s.B, s.S, s.C] : [s.B * s.S, s.C]);
const temperature = fc.oneof(fc.constant(1), fc.double({ min: 0.25, max: 5, noNaN: true }));

test('crossEntropy equals a float64 log-softmax reference, class axis last or in the middle, large logits included', async () => {
  await fc.assert(fc.asyncProperty(shape, fc.boolean(), fc.constantFrom(1, 40), fc.nat(), async (s, middle, scale, seed) => {
    const dims = middle && s.rank3 ? [s.B, s.C, s.S] : dimsOf(s);
    const axis = middle && s.rank3 ? 1 : -1;
    const [outer, n, inner] = split(dims, axis);
    const next = rng(seed + 1);
    const labels = Array.from({ length: outer * inner }, () => Math.floor(next() * n));
    const labelDims = dims.filter((_, i) => i !== (axis < 0 ? dims.length + axis : axis));
    const x = floats(dims, seed, scale);
    const y = Tensor.fromArray(DataType.INT64, labelDims, BigInt64Array.from(labels, BigInt));
    const got = await runHead({ x, y }, (ext) => crossEntropy(ext, 'x', 'y', { axis }));
    assert.ok(Number.isFinite(got));
    close(got, crossEntropyRef(values(x), dims, labels, axis), `CE over [${dims}] axis ${axis}`);
  }), params);
});

test('klDiv equals the reference for any temperature (scaled by T²), and is 0 for equal logits', async () => {
  await fc.assert(fc.asyncProperty(shape, temperature, fc.nat(), async (s, T, seed) => {
    const dims = dimsOf(s);
    const a = floats(dims, seed), b = floats(dims, seed + 7);
    close(await runHead({ a, b }, (ext) => klDiv(ext, 'a', 'b', { T })), klRef(values(a), values(b), dims, T), `kl [${dims}] T=${T}`);
    assert.equal(await runHead({ a }, (ext) => klDiv(ext, 'a', 'a', { T })), 0);
  }), params);
});

test('mse equals the reference and is 0 for equal inputs', async () => {
  await fc.assert(fc.asyncProperty(shape, fc.nat(), async (s, seed) => {
    const dims = dimsOf(s);
    const a = floats(dims, seed), b = floats(dims, seed + 3);
    close(await runHead({ a, b }, (ext) => mse(ext, 'a', 'b')), mseRef(values(a), values(b)), `mse [${dims}]`);
    assert.equal(await runHead({ a }, (ext) => mse(ext, 'a', 'a')), 0);
  }), params);
});

test('tokenWiseContrastive equals the InfoNCE reference; equal features give mean(logsumexp) − 1/T, in [0, log S]', async () => {
  await fc.assert(fc.asyncProperty(shape, temperature, fc.nat(), async (s, T, seed) => {
    const dims = dimsOf(s);
    const [B, S, D] = s.rank3 ? [s.B, s.S, s.C] : [1, s.B * s.S, s.C];
    const rank = dims.length as 2 | 3;
    const a = floats(dims, seed), b = floats(dims, seed + 5);
    close(await runHead({ a, b }, (ext) => tokenWiseContrastive(ext, 'a', 'b', { T, rank })), contrastiveRef(values(a), values(b), B, S, D, T), `contrastive [${dims}] T=${T}`);
    const same = await runHead({ a }, (ext) => tokenWiseContrastive(ext, 'a', 'a', { T, rank }));
    close(same, contrastiveRef(values(a), values(a), B, S, D, T), `contrastive of equal features [${dims}] T=${T}`);
    assert.ok(same >= -1e-5 && same <= Math.log(S) + 1e-5, `equal features: ${same} outside [0, log ${S}]`);
  }), params);
});

/** `model` with `name` also a graph output, to compare the merged teacher with the teacher run alone. */
function withOutput(model: Model, name: string): Model {
  return produce(model, (d) => { d.graph.outputs.push(makeValueInfo(name, DataType.FLOAT) as never); });
}

test('distill on random tape students and teachers: student outputs bitwise equal, teacher outputs equal, valid model', async () => {
  await fc.assert(fc.asyncProperty(tape, tape, fc.nat(), fc.constantFrom('kl_div', 'mse', 'token_wise_contrastive'), async (s, t, seed, loss) => {
    const student = buildTape(s), teacher = buildTape(t);
    const pairs = [`${student.graph.outputs[0].name}:${teacher.graph.outputs[0].name}`];
    const pass = distill({ teacher_model: teacher, loss, pairs });
    const { model: out } = await compile(student, [pass], { verify: true });
    const feed = tapeFeed(seed);
    const before = await runModel(student, feed);
    const after = await runModel(out, feed);
    assert.equal(checkContract(contractOf(pass), before, after), undefined);
    assert.ok(Number.isFinite(after.loss.toFloat32()[0]), `loss ${after.loss.toFloat32()[0]}`);

    const built = buildDistillModel(student, { teacher, pairs: [{ student: student.graph.outputs[0].name, teacher: teacher.graph.outputs[0].name }] });
    const both = await runModel(withOutput(built.model, built.pairs[0].teacher), feed);
    const alone = await runModel(teacher, feed);
    assert.deepEqual(values(both[built.pairs[0].teacher]), values(alone[teacher.graph.outputs[0].name]));
  }), { ...params, numRuns: Math.max(1, Math.ceil(params.numRuns / 2)) });
});
