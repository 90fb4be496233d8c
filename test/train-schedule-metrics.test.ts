// Learning-rate schedules and the built-in evaluation metrics, against values worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../src/ir/dtype.js';
import { Tensor } from '../src/ir/tensor.js';
import { constantSchedule, warmupCosine } from '../src/train/schedule.js';
import { nextTokenNll, perplexityOf, rate, teacherAgreement, top1 } from '../src/train/metrics.js';
import { batchesOf, permutation, rng } from '../src/train/shuffle.js';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('warm-up rises linearly to the peak, then the cosine falls to the floor and stays there', () => {
  const lr = warmupCosine({ peak: 1e-3, warmupSteps: 4, totalSteps: 14, floor: 1e-5 });
  close(lr(0), 0.25e-3, 'first warm-up step');
  close(lr(3), 1e-3, 'last warm-up step');
  close(lr(4), 1e-3, 'decay start');
  close(lr(9), 1e-5 + 0.5 * (1e-3 - 1e-5), 'decay midpoint');
  close(lr(14), 1e-5, 'end');
  close(lr(100), 1e-5, 'past the end');
  for (let s = 4; s < 14; s++) assert.ok(lr(s + 1) < lr(s), `decreasing at ${s}`);
  assert.equal(constantSchedule(0.1)(12345), 0.1);
});

test('schedules reject settings that cannot work, in one line', () => {
  assert.throws(() => warmupCosine({ peak: 1e-3, warmupSteps: 10, totalSteps: 10 }), /warm-up steps \(10\) must be .* fewer than the total steps \(10\)/);
  assert.throws(() => warmupCosine({ peak: 1e-3, warmupSteps: 0, totalSteps: 10, floor: 1 }), /floor/);
  assert.throws(() => constantSchedule(0), /positive/);
});

const f32 = (dims: number[], values: number[]): Tensor => Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from(values));
const i64 = (values: number[]): Tensor => Tensor.fromArray(DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt)));

test('top-1 and teacher agreement count argmax matches', () => {
  const logits = f32([3, 3], [0.1, 2, 0.3, /**/ 5, 1, 1, /**/ 0, 0, 9]);
  const t = top1(logits, i64([1, 0, 1]));
  assert.deepEqual(t, { hits: 2, total: 3 });
  close(rate(t), 2 / 3, 'rate');
  const teacher = f32([3, 3], [0, 1, 0, /**/ 0, 3, 0, /**/ 0, 0, 1]);
  assert.deepEqual(teacherAgreement(logits, teacher), { hits: 2, total: 3 });
  assert.throws(() => top1(logits, i64([1, 0])), /one label per row: 3 rows, 2 labels/);
});

test('perplexity scores token t+1 with the logits at t', () => {
  // Uniform logits over 4 tokens: every prediction has probability 1/4, so perplexity is exactly 4.
  const uniform = nextTokenNll(f32([1, 3, 4], new Array(12).fill(0.5)), Tensor.fromArray(DataType.INT64, [1, 3], BigInt64Array.of(0n, 3n, 2n)));
  assert.equal(uniform.tokens, 2);
  close(perplexityOf(uniform), 4, 'uniform perplexity');
  // Position 0 puts log-odds ln(3) on token 2 (p = 3/6 = 0.5 with three other tokens at 1/6), and token 1 is 2.
  const logits = f32([1, 2, 4], [0, 0, Math.log(3), 0, /**/ 9, 9, 9, 9]);
  const nll = nextTokenNll(logits, Tensor.fromArray(DataType.INT64, [1, 2], BigInt64Array.of(0n, 2n)));
  assert.ok(Math.abs(nll.nll - Math.log(2)) < 1e-6, `nll ${nll.nll}`);
});

test('seeded permutations repeat per seed and batches drop the ragged tail unless asked', () => {
  assert.deepEqual(permutation(10, rng(3)), permutation(10, rng(3)));
  assert.notDeepEqual(permutation(10, rng(3)), permutation(10, rng(4)));
  assert.deepEqual([...permutation(10, rng(3))].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...batchesOf([0, 1, 2, 3, 4], 2)].map((b) => [...b]), [[0, 1], [2, 3]]);
  assert.deepEqual([...batchesOf([0, 1, 2, 3, 4], 2, true)].map((b) => [...b]), [[0, 1], [2, 3], [4]]);
});
