// Per-layer quantization sensitivity: SQNR, cosine and max error of every float value a float model and its
// quantized version both compute, streamed over calibration batches without keeping activations. Behind
// `onnx-slim analyze` and the quant pass's skip_sensitive.
import { DataType, dataTypeName, isFloatType } from '../ir/dtype.js';
import type { Model, Node } from '../ir/model.js';
import type { TensorType } from '../ir/types.js';
import { inferModelTypes } from '../shape/index.js';
import { type CalibrationData, type Feed, feedsFrom, limitBatches } from '../calib/data.js';
import { type CalibProgress, ttyProgress, withObservedOutputs } from '../calib/collect.js';
import { type SessionOptions, createSession, ort, toOrtTensor } from '../runtime/ort.js';
import { ErrorAccumulator, type Fidelity, inputMismatch, isFloatOrt, numbersOf } from '../runtime/compare.js';
export interface SensitivityOptions {
  /** At most this many batches (PaddleSlim's batch_num). */
  readonly batchNum?: number;
  /** Compare only these values (default: every value both models' main graphs compute). */
  readonly values?: readonly string[];
  /** Default: the graph as written (optimizations off), so the figures measure the quantization, not fusions. */
  readonly session?: SessionOptions;
  /** Progress after each batch; default: a progress line when stderr is a terminal; false: none. */
  readonly onProgress?: ((p: CalibProgress) => void) | false;
}

export interface LayerSensitivity extends Fidelity {
  /** The value compared (an output of the FP32 node). */
  readonly value: string;
  /** Name and op type of the node that computes it in the FP32 model ('domain.Op' outside the default domain). */
  readonly node: string;
  readonly opType: string;
  /** Op type of the node that computes it in the quantized model (what the layer became). */
  readonly quantOpType: string;
  /**
   * The quantized model computes it with another node (op type or inputs differ): a layer the quant pass rewrote,
   * as opposed to one that only inherits error (what `--skip-sensitive` should choose among).
   */
  readonly rewritten: boolean;
  /** Shape in the last batch. */
  readonly shape: readonly number[];
  /**
   * The lowest SQNR among the FP32 node's compared inputs (graph inputs and initializers count as exact, +Infinity):
   * `inputSqnrDb - sqnrDb` is how much this layer itself adds, as opposed to what it inherits.
   */
  readonly inputSqnrDb: number;
}

export interface SensitivityResult {
  /** Worst first: lowest SQNR, then lowest cosine, then graph order. */
  readonly layers: readonly LayerSensitivity[];
  /** Values both models have that were not compared, with why (non-float, shapes differ). */
  readonly skipped: readonly { readonly value: string; readonly reason: string }[];
  readonly batches: number;
}

/** The models cannot be compared (different inputs, nothing in common). */
export class SensitivityError extends Error {}

const opName = (n: Node): string => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType);

function producers(model: Model): Map<string, { node: Node; index: number }> {
  const out = new Map<string, { node: Node; index: number }>();
  model.graph.nodes.forEach((node, index) => { for (const o of node.outputs) if (o !== '') out.set(o, { node, index }); });
  return out;
}

/** Declared and inferred element types; an empty map when inference fails (types are then checked at run time). */
function knownTypes(model: Model): ReadonlyMap<string, TensorType> {
  try {
    return inferModelTypes(model).types;
  } catch {
    return new Map();
  }
}

const dimsText = (d: readonly number[]): string => `[${d.join(',')}]`;

/**
 * SQNR, cosine and max abs error of every float value `fp32` and `quant` both compute by name, over `feeds`
 * (calibration data or any iterable of feeds), sorted worst first.
 */
export async function layerSensitivity(
  fp32: Model, quant: Model, feeds: CalibrationData | AsyncIterable<Feed> | Iterable<Feed>, options: SensitivityOptions = {},
): Promise<SensitivityResult> {
  const inputs = inputMismatch(fp32, quant, ['the float model', 'the quantized model']);
  if (inputs) throw new SensitivityError(inputs);
  const [pa, pb] = [producers(fp32), producers(quant)];
  const skipped = new Map<string, string>();
  let names: string[];
  if (options.values) {
    const missing = options.values.filter((v) => !pa.has(v) || !pb.has(v));
    if (missing.length) throw new SensitivityError(`not computed by both models: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? `, ... (${missing.length})` : ''}`);
    names = [...new Set(options.values)];
  } else {
    names = [...pa.keys()].filter((v) => pb.has(v));
  }
  if (names.length === 0) {
    throw new SensitivityError('the two models compute no value under the same name (analyze compares node outputs the quantized model kept the names of)');
  }
  const [ta, tb] = [knownTypes(fp32), knownTypes(quant)];
  const nonFloat = (t: TensorType | undefined): boolean => t !== undefined && t.elemType !== DataType.UNDEFINED && !isFloatType(t.elemType);
  for (const v of names) {
    const t = nonFloat(ta.get(v)) ? ta.get(v)! : nonFloat(tb.get(v)) ? tb.get(v)! : undefined;
    if (t) skipped.set(v, `non-float (${dataTypeName(t.elemType)})`);
  }
  const active = new Set(names.filter((v) => !skipped.has(v)));
  if (active.size === 0) throw new SensitivityError(`the two models share ${names.length} value${names.length === 1 ? '' : 's'} by name, none of them float`);

  const accumulators = new Map([...active].map((v) => [v, new ErrorAccumulator()]));
  const shapes = new Map<string, readonly number[]>();
  const data = limitBatches(feedsFrom(fp32, feeds, Array.isArray(feeds) ? feeds.length : (feeds as CalibrationData).total), options.batchNum);
  const progress = options.onProgress === false ? undefined : options.onProgress ?? (process.stderr.isTTY ? ttyProgress('analyzing') : undefined);
  const sa = await createSession(withObservedOutputs(fp32, [...active]), options.session);
  const sb = await createSession(withObservedOutputs(quant, [...active]), options.session).catch(async (e: unknown) => { await sa.release(); throw e; });
  const started = performance.now();
  let batches = 0;
  try {
    for await (const feed of data) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feed)) ortFeeds[name] = toOrtTensor(t);
      const fetches = [...active];
      const ra = await sa.run(ortFeeds, fetches);
      const rb = await sb.run(ortFeeds, fetches);
      for (const v of fetches) {
        const [x, y] = [ra[v] as ort.Tensor, rb[v] as ort.Tensor];
        let why: string | undefined;
        if (!isFloatOrt(x) || !isFloatOrt(y)) why = `non-float (${isFloatOrt(x) ? y.type : x.type})`;
        else if (x.dims.join() !== y.dims.join()) why = `shape ${dimsText(x.dims)} in the float model, ${dimsText(y.dims)} in the quantized one`;
        if (why) {
          skipped.set(v, why);
          active.delete(v);
          accumulators.delete(v);
          continue;
        }
        accumulators.get(v)!.add(numbersOf(x), numbersOf(y));
        shapes.set(v, [...x.dims]);
      }
      batches++;
      progress?.({ done: batches, total: data.total, elapsedMs: performance.now() - started, finished: false });
      if (active.size === 0) {
        throw new SensitivityError(`no value could be compared: all ${skipped.size} values both models compute are non-float or differ in shape (e.g. ${[...skipped].slice(0, 1).map(([v, why]) => `'${v}': ${why}`).join('')})`);
      }
    }
  } finally {
    await Promise.all([sa.release(), sb.release()]);
  }
  progress?.({ done: batches, total: data.total, elapsedMs: performance.now() - started, finished: true });
  if (batches === 0) throw new SensitivityError('the calibration data held no batches');

  const results = new Map([...accumulators].map(([v, acc]) => [v, acc.result()]));
  const layers: LayerSensitivity[] = [...results].map(([v, r]) => {
    const { node } = pa.get(v)!, q = pb.get(v)!.node;
    const inputSqnrDb = Math.min(Infinity, ...node.inputs.map((i) => results.get(i)?.sqnrDb ?? Infinity));
    const rewritten = opName(node) !== opName(q) || node.inputs.join('\0') !== q.inputs.join('\0');
    return { value: v, node: node.name, opType: opName(node), quantOpType: opName(q), rewritten, shape: shapes.get(v) ?? [], ...r, inputSqnrDb };
  });
  layers.sort((x, y) => x.sqnrDb - y.sqnrDb || x.cosine - y.cosine || pa.get(x.value)!.index - pa.get(y.value)!.index);
  return { layers, skipped: [...skipped].map(([value, reason]) => ({ value, reason })), batches };
}

// ---------------------------------------------------------------- command line

