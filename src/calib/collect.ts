// Collecting calibration ranges: the model gets the values to observe as extra graph outputs (one produce), one
// onnxruntime session runs every batch, and each observed tensor is streamed into its observer and dropped, so
// memory stays at one batch's outputs however many batches there are. The observers come back too: they merge
// exactly (see observers/), so shards of the data can be collected apart (workers, processes) and combined.
import { castDraft, produce } from 'immer';
import '../rewrite/immer-setup.js';
import type { Model, ValueInfo } from '../ir/model.js';
import { DataType, dataTypeName, isFloatType } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { makeTensorType, tensorTypeOf } from '../ir/types.js';
import { inferModelTypes } from '../shape/index.js';
import { type SessionOptions, createSession, fromOrtTensor, ort, toOrtTensor } from '../runtime/ort.js';
import { type CalibRange, type Observer, type ObserverOptions, createObserver, resolveAlgo } from './observers/index.js';
import { type CalibrationData, type Feed, feedsFrom, limitBatches } from './data.js';

export interface CalibProgress {
  readonly done: number;
  /** Batches expected, when known. */
  readonly total?: number;
  readonly elapsedMs: number;
  /** True on the last call. */
  readonly finished: boolean;
}

export interface CollectOptions {
  /** PaddleSlim algorithm name (abs_max, moving_average_abs_max, hist, KL, mse, or an alias). Default hist. */
  readonly algo?: string;
  readonly observerOptions?: ObserverOptions;
  /** At most this many batches (PaddleSlim's batch_num). */
  readonly batchNum?: number;
  /** Progress after each batch; default: a one-line progress display when stderr is a terminal; false: none. */
  readonly onProgress?: ((p: CalibProgress) => void) | false;
  readonly session?: SessionOptions;
}

export interface CollectResult {
  readonly ranges: Map<string, CalibRange>;
  /** One observer per value, mergeable with other shards' (`mergeObservers`). */
  readonly observers: Map<string, Observer>;
  readonly batches: number;
}

/** Where each observed value comes from in a run. */
type Origin = 'output' | 'input' | 'initializer';

function originsOf(model: Model, valueNames: readonly string[]): Map<string, Origin> {
  const g = model.graph;
  const inputs = new Set(g.inputs.map((vi) => vi.name));
  const produced = new Set(g.nodes.flatMap((n) => n.outputs));
  const origins = new Map<string, Origin>();
  for (const name of valueNames) {
    if (origins.has(name)) continue;
    if (inputs.has(name)) origins.set(name, 'input');
    else if (produced.has(name)) origins.set(name, 'output');
    else if (g.initializers.has(name)) origins.set(name, 'initializer');
    else throw new Error(`cannot calibrate '${name}': no node of the main graph makes it, and it is not a graph input or initializer`);
  }
  return origins;
}

/** The model with every produced value of `valueNames` as a graph output (the input model itself when none is new). */
export function withObservedOutputs(model: Model, valueNames: readonly string[]): Model {
  const g = model.graph;
  const origins = originsOf(model, valueNames);
  const outputs = new Set(g.outputs.map((vi) => vi.name));
  const missing = [...origins].filter(([name, o]) => o === 'output' && !outputs.has(name)).map(([name]) => name);
  if (missing.length === 0) return model;
  const declared = new Map(g.valueInfo.map((vi) => [vi.name, vi]));
  let inferred: ReadonlyMap<string, { elemType: DataType }> | undefined;
  const extra: ValueInfo[] = missing.map((name) => {
    const known = declared.get(name);
    if (known?.type && tensorTypeOf(known.type)) return { name, type: known.type };
    inferred ??= inferModelTypes(model).types;
    const elemType = inferred.get(name)?.elemType ?? DataType.UNDEFINED;
    // Only the element type: a runtime checks declared output shapes, and an unknown dim is always safe.
    return elemType === DataType.UNDEFINED ? { name } : { name, type: makeTensorType(elemType) };
  });
  return produce(model, (d) => { d.graph.outputs.push(...castDraft(extra)); });
}

/** Anything that takes a value's float data batch by batch and keeps only a summary. */
export interface ValueSink {
  /** `dims`: the value's shape in this batch (per-channel summaries need it). */
  observe(values: Float32Array, dims: readonly number[]): void;
}

export type StreamOptions = Pick<CollectOptions, 'batchNum' | 'onProgress' | 'session'>;

/**
 * Runs `feeds` through `model` once per batch, handing each of `sinks`' values to its sink and dropping it
 * (inputs and initializers are read directly; other values are fetched as extra outputs). Returns the batch count.
 */
export async function streamValues(
  model: Model, sinks: ReadonlyMap<string, ValueSink>, feeds: CalibrationData | AsyncIterable<Feed> | Iterable<Feed>, options: StreamOptions = {},
): Promise<number> {
  const valueNames = [...sinks.keys()];
  const origins = originsOf(model, valueNames);
  const fetches = [...origins].filter(([, o]) => o === 'output').map(([name]) => name);
  const session = fetches.length ? await createSession(withObservedOutputs(model, valueNames), options.session) : undefined;
  const data = limitBatches(feedsFrom(model, feeds, Array.isArray(feeds) ? feeds.length : (feeds as CalibrationData).total), options.batchNum);
  const progress = options.onProgress === false ? undefined : options.onProgress ?? (process.stderr.isTTY ? ttyProgress() : undefined);
  const started = performance.now();
  let batches = 0;
  try {
    for await (const feed of data) {
      let results: ort.InferenceSession.ReturnType = {};
      if (session) {
        const ortFeeds: Record<string, ort.Tensor> = {};
        for (const [name, t] of Object.entries(feed)) ortFeeds[name] = toOrtTensor(t);
        results = await session.run(ortFeeds, fetches);
      }
      for (const [name, origin] of origins) {
        if (origin === 'output') {
          const t = results[name] as ort.Tensor;
          sinks.get(name)!.observe(floatsOfOrt(name, t), t.dims);
        } else {
          const t = origin === 'input' ? feed[name] ?? model.graph.initializers.get(name)! : model.graph.initializers.get(name)!;
          sinks.get(name)!.observe(floatsOf(name, t), t.dims);
        }
      }
      batches++;
      progress?.({ done: batches, total: data.total, elapsedMs: performance.now() - started, finished: false });
    }
  } finally {
    await session?.release();
  }
  progress?.({ done: batches, total: data.total, elapsedMs: performance.now() - started, finished: true });
  if (batches === 0) throw new Error('calibration data held no batches');
  return batches;
}

/** Runs `feeds` through `model` and returns the calibrated range of each of `valueNames`. */
export async function collectRanges(
  model: Model, valueNames: readonly string[], feeds: CalibrationData | AsyncIterable<Feed> | Iterable<Feed>, options: CollectOptions = {},
): Promise<CollectResult> {
  const algo = resolveAlgo(options.algo ?? 'hist');
  const observers = new Map<string, Observer>();
  for (const name of new Set(valueNames)) observers.set(name, createObserver(algo, options.observerOptions));
  const batches = await streamValues(model, observers, feeds, options);
  return { ranges: rangesOf(observers), observers, batches };
}

function floatsOfOrt(name: string, t: ort.Tensor | undefined): Float32Array {
  if (!t) throw new Error(`onnxruntime returned no value for '${name}'`);
  if (t.type === 'float32') return t.data as Float32Array;
  return floatsOf(name, fromOrtTensor(t));
}

function floatsOf(name: string, t: Tensor): Float32Array {
  if (!isFloatType(t.dataType)) throw new Error(`cannot calibrate '${name}': it is ${dataTypeName(t.dataType)}, and only float values are quantized from calibration`);
  return t.toFloat32();
}

export function rangesOf(observers: ReadonlyMap<string, Observer>): Map<string, CalibRange> {
  return new Map([...observers].map(([name, o]) => [name, o.range()]));
}

/**
 * Folds `other` into `into` value by value (other's batches after into's; for moving_average_abs_max that order
 * is the data order). Both must observe the same values with the same algorithm and options.
 */
export function mergeObservers(into: Map<string, Observer>, other: ReadonlyMap<string, Observer>): Map<string, Observer> {
  for (const name of new Set([...into.keys(), ...other.keys()])) {
    if (!into.has(name) || !other.has(name)) throw new Error(`cannot merge observers: '${name}' is observed by one shard only`);
  }
  for (const [name, o] of other) into.get(name)!.merge(o);
  return into;
}

/** A progress line on stderr, rewritten in place at most every 100 ms: batches done / total and throughput. */
export function ttyProgress(label = 'calibrating'): (p: CalibProgress) => void {
  let last = -Infinity;
  return (p) => {
    if (!p.finished && p.elapsedMs - last < 100) return;
    last = p.elapsedMs;
    const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
    process.stderr.write(`\r\x1b[K${label}: ${p.done}${p.total !== undefined ? `/${p.total}` : ''} batches, ${rate.toFixed(1)} batches/s${p.finished ? '\n' : ''}`);
  };
}
