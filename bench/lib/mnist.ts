// MNIST from the idx files (gzip) in ../shared/data/mnist: images as float32 in [0, 1], labels as class indices.
// The idx format: big-endian magic (0x0000 + type code 0x08 for ubyte + rank), the dims as big-endian uint32, then
// the data row-major.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** Reads an unsigned-byte idx file, gzipped (.gz) or not. */
export function readIdx(file: string): IdxArray {
  const raw = readFileSync(file);
  const bytes = file.endsWith('.gz') ? gunzipSync(raw) : raw;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0 || bytes[2] !== 0x08) {
    throw new Error(`${file} is not an unsigned-byte idx file (magic ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')})`);
  }
  const rank = bytes[3];
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - offset !== count) throw new Error(`${file} holds ${bytes.length - offset} data bytes, its dims [${dims}] need ${count}`);
  return { dims, data: bytes.subarray(offset) };
}

export interface MnistSet {
  /** [count, 28, 28] row-major, scaled to [0, 1]. */
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

export const PIXELS = 28 * 28;

/** The `train` or `t10k` split from `dir`, or undefined when its files are not there. */
export function readMnist(dir: string, split: 'train' | 't10k'): MnistSet | undefined {
  const file = (kind: string): string | undefined =>
    [`${split}-${kind}.gz`, `${split}-${kind}`].map((f) => path.join(dir, f)).find((f) => existsSync(f));
  const imagesFile = file('images-idx3-ubyte'), labelsFile = file('labels-idx1-ubyte');
  if (!imagesFile || !labelsFile) return undefined;
  const images = readIdx(imagesFile), labels = readIdx(labelsFile);
  if (images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) throw new Error(`${imagesFile} holds [${images.dims}], not N×28×28 images`);
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) throw new Error(`${labelsFile} holds [${labels.dims}] labels for ${images.dims[0]} images`);
  const scaled = new Float32Array(images.data.length);
  for (let i = 0; i < scaled.length; i++) scaled[i] = images.data[i] / 255;
  return { images: scaled, labels: labels.data, count: images.dims[0] };
}

/** The samples at `indices`, as a new set. */
export function subset(set: MnistSet, indices: ArrayLike<number>): MnistSet {
  const images = new Float32Array(indices.length * PIXELS);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    images.set(set.images.subarray(indices[i] * PIXELS, (indices[i] + 1) * PIXELS), i * PIXELS);
    labels[i] = set.labels[indices[i]];
  }
  return { images, labels, count: indices.length };
}
