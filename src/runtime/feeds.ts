// Deterministic random inputs for a model, from its graph input types: symbolic or unknown dimensions are
// resolved to small sizes (per name, per input, or a default), values come from a seeded generator. Used by
// `bench` when no inputs are given, and by the tests.
import { DataType, arrayCtorOf, floatToHalf, type NumericArray } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { tensorTypeOf } from '../ir/types.js';

/** mulberry32: small, fast, and the same sequence everywhere. Returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface InputSpec {
  /** Full shape (overrides the model's). */
  readonly shape?: readonly number[];
  /** Value range: [lo, hi) for floats, [lo, hi] inclusive for integers. */
  readonly range?: readonly [number, number];
  /** A fixed tensor instead of random values. */
  readonly value?: Tensor;
}

export interface FeedOptions {
  readonly seed?: number;
  /** Sizes for symbolic dimensions, by dim_param name. */
  readonly dims?: Readonly<Record<string, number>>;
  /** Size for symbolic or unknown dimensions not named in `dims` (default 1). */
  readonly defaultDim?: number;
  /** Per input overrides. */
  readonly inputs?: Readonly<Record<string, InputSpec>>;
}

/** A tensor of `dataType` and `shape` with values drawn from `next` in `range`. */
export function randomTensor(dataType: DataType, shape: readonly number[], next: () => number, range?: readonly [number, number]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dataType === DataType.STRING) {
    const values = Array.from({ length: n }, () => new TextEncoder().encode(`s${Math.floor(next() * 100)}`));
    return new Tensor(DataType.STRING, [...shape], { kind: 'string_data', values });
  }
  const Ctor = arrayCtorOf(dataType);
  if (!Ctor) throw new Error(`cannot make random ${DataType[dataType]} inputs`);
  const arr: NumericArray = new Ctor(n);
  const isFloat = dataType === DataType.FLOAT || dataType === DataType.DOUBLE || dataType === DataType.FLOAT16;
  const [lo, hi] = range ?? (isFloat ? [-1, 1] : dataType === DataType.BOOL ? [0, 1] : [0, 9]);
  for (let i = 0; i < n; i++) {
    if (isFloat) {
      const x = lo + (hi - lo) * next();
      (arr as Float32Array)[i] = dataType === DataType.FLOAT16 ? floatToHalf(x) : x;
    } else {
      const k = lo + Math.floor(next() * (hi - lo + 1));
      if (arr instanceof BigInt64Array || arr instanceof BigUint64Array) arr[i] = BigInt(k);
      else (arr as Int32Array)[i] = k;
    }
  }
  return Tensor.fromArray(dataType, shape, arr);
}

/** One tensor per fed graph input (initializers excluded). */
export function randomFeeds(model: Model, options: FeedOptions = {}): Record<string, Tensor> {
  const next = rng(options.seed ?? 1);
  const feeds: Record<string, Tensor> = {};
  for (const v of model.graph.inputs) {
    if (model.graph.initializers.has(v.name)) continue;
    const spec = options.inputs?.[v.name] ?? {};
    if (spec.value) { feeds[v.name] = spec.value; continue; }
    const type = tensorTypeOf(v.type);
    if (!type) throw new Error(`input '${v.name}' is not a tensor`);
    const shape = spec.shape ?? (type.shape ?? []).map((d) =>
      typeof d === 'number' ? d : (typeof d === 'string' ? options.dims?.[d] : undefined) ?? options.defaultDim ?? 1);
    feeds[v.name] = randomTensor(type.elemType, shape, next, spec.range);
  }
  return feeds;
}
