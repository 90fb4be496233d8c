// Rows a sink reads and writes, for least-squares reconstruction. Inputs: MatMul and Gemm read one row of channels
// per position; a Conv reads one C × kernel patch per output position (im2col in the weight's own [C, k...] order,
// zero where the window hangs over the padding, so borders are exact). Outputs: one row of (kept) output channels
// per position. Conv positions are subsampled evenly, the same ones on both sides: second moments need a
// representative sample, not every position of every image.
import { attrInts, attrString, type Node } from '../../src/ir/model.js';

export interface FeatureRows {
  /** `count` rows of `width` features, row-major (may be a view on the value itself). */
  readonly data: Float32Array;
  readonly count: number;
  readonly width: number;
  /** Samples (images, sequences) in the batch, and each row's (undefined: every row is one): what cross-validation folds by. */
  readonly samples: number;
  readonly sample?: Int32Array;
}

/** Rows of one batch of a value; `batch` (0, 1, ...) rotates which Conv positions are sampled. */
export type FeatureReader = (values: Float32Array, dims: readonly number[], batch: number) => FeatureRows;

/** Positions start, start + step, ... (at most `max`), the start rotating with the batch. */
function sampling(total: number, batch: number, max: number): { start: number; step: number; count: number } {
  const step = Math.max(1, Math.ceil(total / max));
  const start = batch % step;
  return { start, step, count: Math.ceil((total - start) / step) };
}

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * The features `node` reads from its input (channel axis `axis`; a Conv's kernel `kernel`), only the input channels
 * `channels` (in that order; all when undefined). At most `maxPositions` Conv positions per batch.
 */
export function inputReader(node: Node, axis: number, kernel: readonly number[], maxPositions: number, channels?: readonly number[]): FeatureReader {
  if (node.opType === 'Conv') return (values, dims, batch) => patches(node, kernel, values, dims, batch, maxPositions, channels);
  if (axis === 0) return (values, dims) => gather(values, dims, dims[1], dims[0], 1, dims[1], channels);
  return (values, dims) => {
    const width = dims[dims.length - 1];
    return channels ? gather(values, dims, values.length / width, width, width, 1, channels) : { data: values, count: values.length / width, width, ...samplesOf(dims, values.length / width) };
  };
}

/** Rows of a [N, ..., C] value: N samples of equal runs of rows; a [M, C] one: every row a sample. */
function samplesOf(dims: readonly number[], count: number): { samples: number; sample?: Int32Array } {
  if (dims.length < 3) return { samples: count };
  const per = count / dims[0];
  return { samples: dims[0], sample: Int32Array.from({ length: count }, (_, r) => Math.floor(r / per)) };
}

/** The output channels `outputs` (in that order) of `node` per position, sampled as its input's patches are. */
export function outputReader(node: Node, outputs: readonly number[], maxPositions: number): FeatureReader {
  if (node.opType !== 'Conv') return (values, dims) => { const width = dims[dims.length - 1]; return gather(values, dims, values.length / width, width, width, 1, outputs); };
  return (values, dims, batch) => {
    const [n, channels, ...spatial] = dims;
    const plane = product(spatial);
    const { start, step, count } = sampling(n * plane, batch, maxPositions);
    const data = new Float32Array(count * outputs.length);
    const sample = new Int32Array(count);
    for (let row = 0; row < count; row++) {
      const p = start + row * step;
      const image = Math.floor(p / plane), at = p % plane;
      sample[row] = image;
      outputs.forEach((o, j) => { data[row * outputs.length + j] = values[(image * channels + o) * plane + at]; });
    }
    return { data, count, width: outputs.length, samples: n, sample };
  };
}

/** Rows of the selected channels of a value of `dims`; element (row, channel) sits at row·rowStride + channel·channelStride. */
function gather(
  values: Float32Array, dims: readonly number[], count: number, width: number, rowStride: number, channelStride: number, channels?: readonly number[],
): FeatureRows {
  const pick = channels ?? Array.from({ length: width }, (_, i) => i);
  const data = new Float32Array(count * pick.length);
  for (let r = 0; r < count; r++) pick.forEach((c, j) => { data[r * pick.length + j] = values[r * rowStride + c * channelStride]; });
  // A transposed [K, M] input (channel stride M) has M samples, one per row.
  return { data, count, width: pick.length, ...(channelStride === 1 ? samplesOf(dims, count) : { samples: count }) };
}

interface Window {
  readonly out: number[];
  readonly begin: number[];
  readonly strides: number[];
  readonly dilations: number[];
}

/** Output sizes and leading pads of a Conv window over spatial dims `spatial` (auto_pad included). */
function convWindow(node: Node, spatial: readonly number[], kernel: readonly number[]): Window {
  const n = spatial.length;
  const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const out: number[] = [], begin: number[] = [];
  spatial.forEach((size, i) => {
    const span = (kernel[i] - 1) * dilations[i] + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const o = Math.ceil(size / strides[i]);
      const total = Math.max(0, (o - 1) * strides[i] + span - size);
      out.push(o);
      begin.push(autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2));
    } else {
      const [b, e] = autoPad === 'VALID' ? [0, 0] : [pads[i], pads[i + n]];
      out.push(Math.floor((size + b + e - span) / strides[i]) + 1);
      begin.push(b);
    }
  });
  return { out, begin, strides, dilations };
}

function patches(
  node: Node, kernel: readonly number[], values: Float32Array, dims: readonly number[], batch: number, maxPositions: number, channels?: readonly number[],
): FeatureRows {
  const [n, allChannels, ...spatial] = dims;
  const pick = channels ?? Array.from({ length: allChannels }, (_, i) => i);
  const w = convWindow(node, spatial, kernel);
  const taps = product(kernel);
  const perImage = product(w.out);
  const inSize = product(spatial);
  const { start, step, count } = sampling(n * perImage, batch, maxPositions);
  const width = pick.length * taps;
  const data = new Float32Array(count * width);
  const sample = new Int32Array(count);
  const rank = spatial.length;
  const inStride = spatial.map((_, i) => product(spatial.slice(i + 1)));
  const offsets = new Int32Array(taps);
  const at = new Array<number>(rank);
  for (let row = 0; row < count; row++) {
    const p = start + row * step;
    const image = Math.floor(p / perImage);
    sample[row] = image;
    // Output coordinates of position p (row-major over the output spatial dims), then each tap's input offset.
    let q = p % perImage;
    for (let i = rank - 1; i >= 0; i--) { at[i] = q % w.out[i]; q = Math.floor(q / w.out[i]); }
    for (let t = 0; t < taps; t++) {
      let r = t, offset = 0;
      for (let i = rank - 1; i >= 0 && offset >= 0; i--) {
        const k = r % kernel[i];
        r = Math.floor(r / kernel[i]);
        const x = at[i] * w.strides[i] - w.begin[i] + k * w.dilations[i];
        offset = x < 0 || x >= spatial[i] ? -1 : offset + x * inStride[i];
      }
      offsets[t] = offset;
    }
    const base = row * width;
    pick.forEach((c, j) => {
      const plane = (image * allChannels + c) * inSize;
      for (let t = 0; t < taps; t++) data[base + j * taps + t] = offsets[t] < 0 ? 0 : values[plane + offsets[t]];
    });
  }
  return { data, count, width, samples: n, sample };
}
