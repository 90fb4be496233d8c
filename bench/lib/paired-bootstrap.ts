// How far apart two readers of the same lines really are: a 95 % interval of their character-accuracy difference by a
// paired bootstrap over lines (each draw resamples lines with replacement and scores both readers on the same draw),
// so a gap of a few characters on a few hundred lines is not read as a result.
import { rng } from '../../src/runtime/feeds.js';

/** Per evaluation line: the reader's edit distance to the truth. `chars` holds each line's reference length. */
export interface LineErrors {
  readonly errors: readonly number[];
  readonly chars: readonly number[];
}

/** [2.5 %, 97.5 %] quantiles of accuracy(b) − accuracy(a) over `draws` paired resamples of the lines. */
export function pairedAccuracyInterval(a: LineErrors, b: LineErrors, draws = 2000, seed = 1): [number, number] {
  const n = a.chars.length;
  if (n === 0 || b.chars.length !== n || a.errors.length !== n || b.errors.length !== n) throw new Error(`paired bootstrap needs the same lines for both readers (${n} and ${b.chars.length})`);
  const next = rng(seed);
  const diffs = new Float64Array(draws);
  for (let d = 0; d < draws; d++) {
    let chars = 0, gained = 0;
    for (let k = 0; k < n; k++) {
      const i = Math.floor(next() * n);
      chars += a.chars[i];
      gained += a.errors[i] - b.errors[i];
    }
    diffs[d] = gained / chars;
  }
  diffs.sort();
  return [diffs[Math.floor(0.025 * (draws - 1))], diffs[Math.ceil(0.975 * (draws - 1))]];
}
