// ImageNet classification on ../shared/data/imagenet-sample-200 (200 validation images, one class each, labels.tsv =
// class index <tab> file) with the caffe2 SqueezeNet preprocessing ../shared/models/README.md gives: short side to
// 256 (bilinear), center crop 224, BGR, minus the per-channel mean, no scaling, NCHW. Decoded once per run.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import * as ort from 'onnxruntime-node';
import { SHARED_DIR } from '../../test/helpers/paths.js';

export const IMAGENET_SAMPLE_DIR = path.join(SHARED_DIR, 'data', 'imagenet-sample-200');

const RESIZE_SHORT = 256;
const CROP = 224;
/** B, G, R means of the caffe2 zoo models, in the order the planes are written. */
const MEAN_BGR = [103.94, 116.78, 123.68];

export interface LabelledImage {
  readonly file: string;
  readonly label: number;
  /** [3, 224, 224] BGR planes, mean subtracted. */
  readonly pixels: Float32Array;
}

export function imagenetSample(dir = IMAGENET_SAMPLE_DIR): LabelledImage[] {
  const tsv = path.join(dir, 'labels.tsv');
  if (!existsSync(tsv)) throw new Error(`missing ImageNet sample: ${tsv}`);
  return readFileSync(tsv, 'utf8').split('\n').filter((l) => /^\d+\t/.test(l)).map((line) => {
    const [label, file] = line.split('\t');
    const { width, height, data } = jpeg.decode(readFileSync(path.join(dir, file.trim())), { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
    return { file: file.trim(), label: Number(label), pixels: preprocess(data, width, height) };
  });
}

/**
 * RGB bytes (3 per pixel) → the center 224×224 of the image resized to short side 256, as BGR planes minus the mean.
 * Only the cropped pixels of the resized image are computed. Bilinear with half-pixel centres (OpenCV's
 * INTER_LINEAR, no antialiasing), the resize caffe2's reference preprocessing used.
 */
export function preprocess(rgb: Uint8Array, width: number, height: number): Float32Array {
  const scale = RESIZE_SHORT / Math.min(width, height);
  const outW = Math.round(width * scale), outH = Math.round(height * scale);
  const left = Math.floor((outW - CROP) / 2), top = Math.floor((outH - CROP) / 2);
  const plane = CROP * CROP;
  const out = new Float32Array(3 * plane);
  const axis = (o: number, srcSize: number, outSize: number): [number, number, number] => {
    const s = Math.min(Math.max((o + 0.5) * (srcSize / outSize) - 0.5, 0), srcSize - 1);
    const i0 = Math.floor(s);
    return [i0, Math.min(i0 + 1, srcSize - 1), s - i0];
  };
  const xs = Array.from({ length: CROP }, (_, x) => axis(x + left, width, outW));
  for (let y = 0; y < CROP; y++) {
    const [y0, y1, fy] = axis(y + top, height, outH);
    for (let x = 0; x < CROP; x++) {
      const [x0, x1, fx] = xs[x];
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number): number => rgb[(yy * width + xx) * 3 + c];
        const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
        const bgr = 2 - c; // R goes to plane 2
        out[bgr * plane + y * CROP + x] = v - MEAN_BGR[bgr];
      }
    }
  }
  return out;
}

export interface Accuracy {
  readonly top1: number;
  readonly top5: number;
  readonly images: number;
}

/** Top-1 / top-5 of a classifier with one [1, 3, 224, 224] input and class scores as its first output. */
export async function classify(session: ort.InferenceSession, images: readonly LabelledImage[]): Promise<Accuracy> {
  let top1 = 0, top5 = 0;
  const input = session.inputNames[0];
  for (const img of images) {
    const out = await session.run({ [input]: new ort.Tensor('float32', img.pixels, [1, 3, CROP, CROP]) });
    const scores = out[session.outputNames[0]].data as Float32Array;
    const target = scores[img.label];
    let above = 0; // classes scored higher than the true one
    for (const s of scores) if (s > target) above++;
    if (above === 0) top1++;
    if (above < 5) top5++;
  }
  return { top1: top1 / images.length, top5: top5 / images.length, images: images.length };
}
