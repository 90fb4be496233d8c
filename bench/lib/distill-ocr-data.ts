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
