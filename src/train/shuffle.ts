// Seeded sample order: the same seed gives the same batches on every machine (mulberry32 + Fisher-Yates).
import { rng } from '../runtime/feeds.js';

export { rng };

/** A permutation of 0..n-1 drawn from `next`. */
export function permutation(n: number, next: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

/** Consecutive batches of `size` indices from `order`; a last, smaller batch is dropped unless `keepLast`. */
export function* batchesOf(order: ArrayLike<number>, size: number, keepLast = false): Generator<Int32Array> {
  if (!(Number.isInteger(size) && size > 0)) throw new Error(`batch size must be a positive integer, got ${size}`);
  const n = order.length;
  for (let s = 0; s + (keepLast ? 1 : size) <= n; s += size) {
    yield Int32Array.from({ length: Math.min(size, n - s) }, (_, i) => order[s + i]);
  }
}
