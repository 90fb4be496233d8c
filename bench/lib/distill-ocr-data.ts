// Unlabeled training lines for distilling PP-OCRv4 rec, and their fixed-width batches. Distillation needs inputs
// only: the teacher's output is the target, so the texts here are never read back as labels. The training lines use
// other text seeds and other render seeds than the evaluation lines, and any text the evaluation set holds is dropped.
import { DataType, Tensor } from '../../src/index.js';
import type { BatchFactory, TrainFeed } from '../../src/train/trainer.js';
import { batchesOf, permutation } from '../../src/train/shuffle.js';
import { randomTexts, renderLine, type TextLine } from './ocr.js';

/** Input height of the rec model. */
export const REC_HEIGHT = 48;

export interface LineSets {
  readonly evalLines: readonly TextLine[];
  readonly trainLines: readonly TextLine[];
}

/** Evaluation lines exactly as bench/quant-ocr renders them (text seed 1, render seeds 100000+i), so the two
 *  benches share an evaluation set; training lines from text seed `trainSeed`, render seeds `trainSeed`·100000+i. */
export function renderLineSets(evalCount: number, trainCount: number, trainSeed = 3): LineSets {
  if (trainSeed === 1) throw new Error('training lines need a text seed other than 1 (the evaluation seed)');
  const evalTexts = randomTexts(evalCount, 1);
  const evalLines = evalTexts.map((text, i) => renderLine(text, 100_000 + i));
  const seen = new Set(evalTexts);
  // Over-draw, then drop any text the evaluation set holds (random lines rarely repeat, but "rarely" is not "never").
  const trainTexts = randomTexts(trainCount * 2, trainSeed).filter((t) => !seen.has(t)).slice(0, trainCount);
  const trainLines = trainTexts.map((text, i) => renderLine(text, trainSeed * 100_000 + i));
  return { evalLines, trainLines };
}

/** Calibration lines for the prune pass's mean-activation compensation (seed 5), or, with seed 7, validation lines
 *  for choosing the distillation checkpoint: text seed `seed`, render seeds `seed`·100000+i, any text of `exclude` (evaluation and training
 *  texts) dropped, so they share neither texts nor renders with the evaluation (seed 1) or training (seed 3) lines. */
export function renderCalibLines(count: number, exclude: readonly TextLine[], seed = 5): TextLine[] {
  if (seed === 1 || seed === 3) throw new Error('calibration lines need a text seed other than 1 (evaluation) and 3 (training)');
  const seen = new Set(exclude.map((l) => l.text));
  const texts = randomTexts(count * 2, seed).filter((t) => !seen.has(t)).slice(0, count);
  return texts.map((text, i) => renderLine(text, seed * 100_000 + i));
}

export interface WidthBucket {
  /** Static input width of this bucket's step graph (a multiple of 8, ≥ every line's width in it). */
  readonly width: number;
  readonly lines: readonly TextLine[];
}

/**
 * Lines sorted by natural width and cut into `count` buckets of equal size (a multiple of `batch`), each padded only
 * up to its own widest line (rounded up to 8): the student and teacher see the lines at (nearly) their natural
 * width, as evaluation runs them, instead of one fixed window that crops long lines and pads short ones.
 */
export function widthBuckets(lines: readonly TextLine[], count: number, batch: number, fit: 'pad' | 'crop' = 'pad'): WidthBucket[] {
  const sorted = [...lines].sort((a, b) => (a.input.dims[3] as number) - (b.input.dims[3] as number));
  const per = Math.floor(sorted.length / count / batch) * batch;
  if (per === 0) throw new Error(`${lines.length} lines make no ${count} buckets of batch ${batch}`);
  const out: WidthBucket[] = [];
  for (let k = 0; k < count; k++) {
    const chunk = k === count - 1 ? sorted.slice(k * per) : sorted.slice(k * per, (k + 1) * per);
    const widths = chunk.map((l) => l.input.dims[3] as number);
    out.push({ width: fit === 'pad' ? Math.ceil(Math.max(...widths) / 8) * 8 : Math.floor(Math.min(...widths) / 8) * 8, lines: chunk });
  }
  return out;
}

/** One epoch of full batches from every bucket (shuffled within each, remainders dropped), interleaved at random. */
export function bucketEpoch(buckets: readonly WidthBucket[], batch: number, input: string, next: () => number): Array<{ bucket: number; feed: Record<string, Tensor> }> {
  const all: Array<{ bucket: number; ids: number[] }> = [];
  buckets.forEach((b, k) => {
    for (const ids of batchesOf(permutation(b.lines.length, next), batch)) all.push({ bucket: k, ids: [...ids] });
  });
  const order = permutation(all.length, next);
  return [...order].map((i) => {
    const { bucket, ids } = all[i];
    const b = buckets[bucket];
    return { bucket, feed: { [input]: packLines(ids.map((j) => b.lines[j]), b.width, next) } };
  });
}

/**
 * Lines packed into [batch, 3, 48, width]: a narrower line sits at the left on white (the rendered background, 1.0
 * after normalization), a wider one is cropped at a random offset (each epoch sees another window). The crop may
 * cut a character: harmless here, the teacher sees the very same pixels.
 */
export function packLines(lines: readonly TextLine[], width: number, next: () => number): Tensor {
  const plane = REC_HEIGHT * width;
  const out = new Float32Array(lines.length * 3 * plane).fill(1);
  lines.forEach((line, b) => {
    const w = line.input.dims[3] as number;
    const src = line.input.toFloat32();
    const offset = w > width ? Math.floor(next() * (w - width + 1)) : 0;
    const copy = Math.min(w, width);
    for (let c = 0; c < 3; c++) {
      for (let h = 0; h < REC_HEIGHT; h++) {
        const from = (c * REC_HEIGHT + h) * w + offset;
        out.set(src.subarray(from, from + copy), (b * 3 + c) * plane + h * width);
      }
    }
  });
  return Tensor.fromArray(DataType.FLOAT, [lines.length, 3, REC_HEIGHT, width], out);
}

/** Shuffled full batches each epoch (a remainder smaller than `batch` is dropped: the step graph's shape is fixed). */
export function lineBatches(lines: readonly TextLine[], o: { batch: number; width: number; input: string }): BatchFactory & { stepsPerEpoch: number } {
  const stepsPerEpoch = Math.floor(lines.length / o.batch);
  if (stepsPerEpoch === 0) throw new Error(`${lines.length} training lines make no batch of ${o.batch}`);
  const factory = (_epoch: number, next: () => number): TrainFeed[] => {
    const order = permutation(lines.length, next);
    return [...batchesOf(order, o.batch)].map((ids) => ({ [o.input]: packLines([...ids].map((i) => lines[i]), o.width, next) }));
  };
  return Object.assign(factory, { stepsPerEpoch });
}
