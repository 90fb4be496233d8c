// Training rows for distillation: every feed (one sample, or a file of many) stacked along axis 0 into one tensor
// per input, then cut into shuffled batches each epoch. Training data is small next to the model's arithmetic, so
// it is held in memory; rows must agree in every dim but the first.
import { arrayCtorOf, DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { type Feed, modelInputs } from '../calib/data.js';
import type { BatchFactory } from '../train/trainer.js';
import { batchesOf, permutation } from '../train/shuffle.js';
import { UsageError } from './errors.js';

/** Rows of every input, stacked along axis 0. */
export interface Rows {
  readonly inputs: Readonly<Record<string, Tensor>>;
  readonly count: number;
}

export async function stackRows(feeds: AsyncIterable<Feed> | Iterable<Feed>): Promise<Rows> {
  const parts = new Map<string, Tensor[]>();
  for await (const feed of feeds) {
    for (const [name, t] of Object.entries(feed)) {
      if (t.dims.length === 0) throw new UsageError(`input '${name}' is a scalar: training rows need a batch axis`);
      parts.set(name, [...(parts.get(name) ?? []), t]);
    }
  }
  if (parts.size === 0) throw new UsageError('the training data holds no samples');
  const inputs: Record<string, Tensor> = {};
  for (const [name, list] of parts) inputs[name] = concatRows(name, list);
  const counts = new Set(Object.values(inputs).map((t) => t.dims[0]));
  if (counts.size > 1) throw new Error(`the inputs hold different numbers of rows (${Object.entries(inputs).map(([n, t]) => `${n}: ${t.dims[0]}`).join(', ')})`);
  return { inputs, count: [...counts][0] };
}

function concatRows(name: string, list: readonly Tensor[]): Tensor {
  const rest = list[0].dims.slice(1).join(',');
  const odd = list.find((t) => t.dims.slice(1).join(',') !== rest);
  if (odd) throw new Error(`samples of input '${name}' differ in shape ([${list[0].dims}] and [${odd.dims}]): rows must agree in every dim but the first`);
  if (list.length === 1) return list[0];
  const Ctor = arrayCtorOf(list[0].dataType);
  if (!Ctor) throw new Error(`input '${name}' is ${DataType[list[0].dataType]}, which has no numeric form`);
  const out = new Ctor(list.reduce((n, t) => n + t.size, 0));
  let at = 0;
  for (const t of list) { (out as Float32Array).set(t.toArray() as Float32Array, at); at += t.size; }
  return Tensor.fromArray(list[0].dataType, [list.reduce((n, t) => n + t.dims[0], 0), ...list[0].dims.slice(1)], out);
}

/** The rows at `indices`, in that order. */
export function takeRows(rows: Rows, indices: ArrayLike<number>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(rows.inputs)) {
    const width = t.size / t.dims[0];
    const src = t.toArray() as Float32Array;
    const dst = new (src.constructor as Float32ArrayConstructor)(indices.length * width);
    for (let i = 0; i < indices.length; i++) dst.set(src.subarray(indices[i] * width, (indices[i] + 1) * width), i * width);
    out[name] = Tensor.fromArray(t.dataType, [indices.length, ...t.dims.slice(1)], dst);
  }
  return out;
}

/** The first `n` rows (all of them when there are fewer). */
export function headRows(rows: Rows, n: number): Rows {
  const count = Math.min(n, rows.count);
  return count === rows.count ? rows : { inputs: takeRows(rows, Int32Array.from({ length: count }, (_, i) => i)), count };
}

/** The first `count − held` rows to train on and the last `held` to evaluate on. */
export function splitRows(rows: Rows, held: number): { train: Rows; heldOut: Rows } {
  const range = (from: number, to: number): Int32Array => Int32Array.from({ length: to - from }, (_, i) => from + i);
  const cut = rows.count - held;
  return {
    train: { inputs: takeRows(rows, range(0, cut)), count: cut },
    heldOut: { inputs: takeRows(rows, range(cut, rows.count)), count: held },
  };
}

/** The batch dim the model's inputs fix, if they fix one (a model exported for batch 1, say). */
export function fixedBatchOf(model: Model): number | undefined {
  const fixed = new Set(modelInputs(model).map((i) => i.shape?.[0]).filter((d): d is number => typeof d === 'number'));
  if (fixed.size > 1) throw new UsageError(`the model's inputs fix different batch sizes (${[...fixed].join(', ')})`);
  return [...fixed][0];
}

/**
 * The batch size each step feeds: `requested` where the model's first input dims are symbolic; a model that fixes
 * them (to 1, say) takes exactly that many rows per step.
 */
export function batchSizeFor(model: Model, requested: number | undefined): number {
  const size = fixedBatchOf(model);
  if (size === undefined) return requested ?? 8;
  if (requested !== undefined && requested !== size) throw new UsageError(`--batch ${requested}: the model fixes its batch dim to ${size}`);
  return size;
}

/** Full batches per epoch (a partial last batch is dropped unless it is all the rows). */
export function stepsPerEpochOf(rows: Rows, batch: number): number {
  return Math.floor(rows.count / Math.min(batch, rows.count));
}

/** Each epoch: the rows in a fresh seeded order, in full batches (a partial last batch is dropped unless it is all). */
export function shuffledBatches(rows: Rows, batch: number): { factory: BatchFactory; stepsPerEpoch: number } {
  const size = Math.min(batch, rows.count);
  return {
    stepsPerEpoch: stepsPerEpochOf(rows, batch),
    factory: (_epoch, next) => Array.from(batchesOf(permutation(rows.count, next), size), (idx) => takeRows(rows, idx)),
  };
}

/** The rows in order, in batches of `batch` (the last may be smaller unless `keepLast` is false): for evaluation. */
export function orderedBatches(rows: Rows, batch: number, keepLast = true): Array<Record<string, Tensor>> {
  const order = Int32Array.from({ length: rows.count }, (_, i) => i);
  return Array.from(batchesOf(order, batch, keepLast), (idx) => takeRows(rows, idx));
}
