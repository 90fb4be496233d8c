// The OCR benches' paired bootstrap: exact where every draw agrees, wide where one line carries the gap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairedAccuracyInterval } from '../bench/lib/paired-bootstrap.js';

const lines = (errors: number[], chars = errors.map(() => 10)) => ({ errors, chars });

test('paired bootstrap: the same readings give a zero interval', () => {
  const a = lines([0, 2, 1, 3, 0]);
  assert.deepEqual(pairedAccuracyInterval(a, a), [0, 0]);
});

test('paired bootstrap: one character better on every line of 10 is exactly +0.1 in every draw', () => {
  const [lo, hi] = pairedAccuracyInterval(lines([3, 2, 1, 4]), lines([2, 1, 0, 3]));
  assert.ok(Math.abs(lo - 0.1) < 1e-12 && Math.abs(hi - 0.1) < 1e-12, `${lo} … ${hi}`);
});

test('paired bootstrap: a gain on one line of 100 is not significant', () => {
  const a = lines(Array.from({ length: 100 }, (_, i) => (i === 0 ? 5 : 1)));
  const b = lines(Array.from({ length: 100 }, () => 1));
  const [lo, hi] = pairedAccuracyInterval(a, b);
  // The line is missing from about 37 % of the draws, so the lower bound is 0 and the upper one above the point gap.
  assert.equal(lo, 0);
  assert.ok(hi > 5 / 1000, `upper bound ${hi}`);
});

test('paired bootstrap: readers of different lines are refused', () => {
  assert.throws(() => pairedAccuracyInterval(lines([1, 2]), lines([1])), /same lines/);
});
