// MNIST batches for the trainer: seeded shuffling and optional random translations (a cheap augmentation that
// matters when only a few thousand training images are available), fed as onnxruntime tensors.
import { ort } from '../../src/runtime/ort.js';
import type { BatchFactory, TrainFeed } from '../../src/train/trainer.js';
import { batchesOf, permutation } from '../../src/train/shuffle.js';
import { type MnistSet, PIXELS } from './mnist.js';

export interface BatchOptions {
  readonly batch: number;
  /** Shift each image by up to this many pixels in x and y (0: none). */
  readonly maxShift: number;
  readonly imageInput: string;
  readonly labelInput: string;
}

/** A factory for the trainer: every epoch a new seeded order (and shifts); the last partial batch is dropped. */
export function mnistBatches(set: MnistSet, o: BatchOptions): BatchFactory & { stepsPerEpoch: number } {
  const factory = (_epoch: number, next: () => number) => {
    const order = permutation(set.count, next);
    return (function* (): Generator<TrainFeed> {
      for (const idx of batchesOf(order, o.batch)) yield batchFeed(set, idx, o, next);
    })();
  };
  return Object.assign(factory, { stepsPerEpoch: Math.floor(set.count / o.batch) });
}

function batchFeed(set: MnistSet, idx: Int32Array, o: BatchOptions, next: () => number): TrainFeed {
  const images = new Float32Array(idx.length * PIXELS);
  const labels = new BigInt64Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const src = set.images.subarray(idx[i] * PIXELS, (idx[i] + 1) * PIXELS);
    const span = 2 * o.maxShift + 1;
    const dx = o.maxShift ? Math.floor(next() * span) - o.maxShift : 0;
    const dy = o.maxShift ? Math.floor(next() * span) - o.maxShift : 0;
    shiftInto(images.subarray(i * PIXELS, (i + 1) * PIXELS), src, dx, dy);
    labels[i] = BigInt(set.labels[idx[i]]);
  }
  return {
    [o.imageInput]: new ort.Tensor('float32', images, [idx.length, 1, 28, 28]),
    [o.labelInput]: new ort.Tensor('int64', labels, [idx.length]),
  };
}

/** dst(y, x) = src(y − dy, x − dx), zero where that falls outside the image. */
function shiftInto(dst: Float32Array, src: Float32Array, dx: number, dy: number): void {
  for (let y = 0; y < 28; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= 28) continue;
    for (let x = 0; x < 28; x++) {
      const sx = x - dx;
      if (sx >= 0 && sx < 28) dst[y * 28 + x] = src[sy * 28 + sx];
    }
  }
}

/** Evaluation batches in file order, unshuffled and unshifted, the last one smaller. */
export function* evalBatches(set: MnistSet, batch: number, imageInput: string): Generator<{ feed: Record<string, ort.Tensor>; labels: Uint8Array }> {
  for (let s = 0; s < set.count; s += batch) {
    const n = Math.min(batch, set.count - s);
    yield {
      feed: { [imageInput]: new ort.Tensor('float32', set.images.slice(s * PIXELS, (s + n) * PIXELS), [n, 1, 28, 28]) },
      labels: set.labels.subarray(s, s + n),
    };
  }
}
