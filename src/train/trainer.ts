// The training loop over a step graph in onnxruntime-node. One session is created for the step graph and reused for
// every step; parameters and optimizer state live as onnxruntime tensors that each step's outputs replace (no copy,
// no re-session), and nothing else survives a step, activations included. Seeded: the batch factory gets a PRNG
// derived from the seed and the epoch, so the same seed gives the same sample order and, at a fixed thread count,
// the same parameters.
import os from 'node:os';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { createSession, ort, toOrtTensor } from '../runtime/ort.js';
import type { ParamValues } from './export.js';
import { type ProgressMode, progressSink, type StepReport } from './progress.js';
import { paramAverage } from './ema.js';
import type { Schedule } from './schedule.js';
import { rng } from './shuffle.js';
import { buildStepGraph, type StepGraph, type StepGraphOptions } from './step-graph.js';

export type TrainFeed = Readonly<Record<string, Tensor | ort.Tensor>>;
export type FeedStream = (Iterable<TrainFeed> | AsyncIterable<TrainFeed>) & { readonly total?: number };
/** Batches for one epoch; `next` is a seeded uniform [0, 1) generator for shuffling and augmentation. */
export type BatchFactory = (epoch: number, next: () => number) => FeedStream;

export interface TrainPosition {
  /** Steps done. */
  readonly step: number;
  readonly epoch: number;
}

export type Evaluate = (params: ReadonlyMap<string, Float32Array>, at: TrainPosition) => number | Promise<number>;

export interface TrainOptions {
  /** A step graph, or a model and how to build one. */
  readonly step: StepGraph | ({ readonly model: Model } & StepGraphOptions);
  /** Starting values of the trainable parameters (default: the model's initializers). */
  readonly params?: ParamValues;
  /** A stream re-read every epoch (an array, say), or a factory called once per epoch. */
  readonly batches: FeedStream | BatchFactory;
  readonly epochs?: number;
  /** Stop after this many steps in all (train_iter). */
  readonly trainIter?: number;
  /** Steps per epoch, when the batches cannot tell (for the progress bar and schedules). */
  readonly stepsPerEpoch?: number;
  readonly lr: number | Schedule;
  /** Evaluate every this many steps (eval_iter); without it, after every epoch. Always once more at the end. */
  readonly evalIter?: number;
  /** A metric of the parameters where higher is better (accuracy, agreement, −perplexity). */
  readonly evaluate?: Evaluate;
  /** Keep the parameters of the best evaluation (default: true when evaluating). */
  readonly keepBest?: boolean;
  /** Decay of a moving average of the parameters (e.g. 0.999; default: none): evaluation, the best checkpoint and
   *  the result are then the average (see ema.ts). */
  readonly ema?: number;
  readonly seed?: number;
  /** onnxruntime intra-op threads (default: all cores). Results are reproducible at a fixed count. */
  readonly threads?: number;
  readonly progress?: ProgressMode;
  /** Steps between log lines when not drawing a bar (default 50). */
  readonly logEvery?: number;
  readonly onProgress?: (report: StepReport) => void;
}

export interface Checkpoint {
  readonly metric: number;
  readonly step: number;
  readonly epoch: number;
  readonly params: ReadonlyMap<string, Float32Array>;
}

export interface TrainResult {
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly best?: Checkpoint;
  readonly evals: readonly Omit<Checkpoint, 'params'>[];
  readonly steps: number;
  readonly samples: number;
  /** Loss of every step, in order. */
  readonly losses: Float32Array;
  /** Time spent in steps (evaluation excluded), and the throughput over it. */
  readonly trainMs: number;
  readonly samplesPerSec: number;
}

export class TrainError extends Error {}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const graph = 'params' in options.step && 'dataInputs' in options.step ? options.step : buildStepGraph(options.step.model, options.step);
  const epochs = options.epochs ?? 1;
  const seed = options.seed ?? 0;
  const lrAt: Schedule = typeof options.lr === 'number' ? () => options.lr as number : options.lr;
  const state = initialState(graph, options.params);
  const inputOf = new Map(graph.params.map((p) => [p.name, p.input]));
  const live = (name: string): Float32Array => state[inputOf.get(name)!].data as Float32Array;
  const average = options.ema === undefined ? undefined : paramAverage(graph.params.map((p) => [p.name, live(p.name)]), options.ema);
  // Step outputs replace the state's tensors (never written in place), so the live parameters need no copy.
  const currentParams = (): Map<string, Float32Array> => average?.snapshot() ?? new Map(graph.params.map((p) => [p.name, live(p.name)]));

  const streamFor = (epoch: number): FeedStream =>
    typeof options.batches === 'function' ? options.batches(epoch, rng(mixSeed(seed, epoch))) : options.batches;
  const firstStream = streamFor(0);
  const perEpoch = options.stepsPerEpoch ?? firstStream.total ?? (Array.isArray(firstStream) ? firstStream.length : undefined);
  const planned = perEpoch === undefined ? options.trainIter : Math.min(perEpoch * epochs, options.trainIter ?? Infinity);
  const dataInputs = new Set(graph.dataInputs);
  const losses: number[] = [];
  const evals: Omit<Checkpoint, 'params'>[] = [];
  let best: Checkpoint | undefined;
  let bestMetric = -Infinity;
  let steps = 0, samples = 0, trainMs = 0, smoothed = NaN, lastEval = -1, epochAt = 0;

  const evaluate = async (epoch: number): Promise<void> => {
    if (!options.evaluate || lastEval === steps) return;
    lastEval = steps;
    const params = currentParams();
    const metric = await options.evaluate(params, { step: steps, epoch });
    evals.push({ metric, step: steps, epoch });
    const better = metric > bestMetric;
    if (better) bestMetric = metric;
    if (better && (options.keepBest ?? true)) best = { metric, step: steps, epoch, params };
    sink.note(`eval at step ${steps}: ${metric.toFixed(4)}${better ? ' (best)' : ''}`);
  };

  // Created last, right before the try whose finally releases it: nothing that throws on the options leaks it.
  const session = await createSession(graph.model, { optimization: 'all', threads: options.threads ?? os.availableParallelism() });
  const sink = progressSink(options.progress ?? 'auto', planned, options.logEvery ?? 50);
  try {
    training: for (let epoch = 0; epoch < epochs; epoch++) {
      epochAt = epoch;
      for await (const feed of epoch === 0 ? firstStream : streamFor(epoch)) {
        if (options.trainIter !== undefined && steps >= options.trainIter) break training;
        const lr = lrAt(steps);
        const feeds: Record<string, ort.Tensor> = { ...state, [graph.lr]: scalar(lr), [graph.step]: scalar(steps + 1) };
        for (const [name, t] of Object.entries(feed)) {
          if (!dataInputs.has(name)) throw new TrainError(`batch ${steps} feeds '${name}', which is not a data input of the step graph (data inputs: ${graph.dataInputs.join(', ')})`);
          feeds[name] = t instanceof Tensor ? toOrtTensor(t) : t;
        }
        for (const name of dataInputs) if (!feeds[name]) throw new TrainError(`batch ${steps} does not feed '${name}'`);
        const t0 = performance.now();
        const out = await session.run(feeds);
        trainMs += performance.now() - t0;
        const loss = Number((out[graph.loss].data as Float32Array)[0]);
        if (!Number.isFinite(loss)) throw new TrainError(`the loss became ${loss} at step ${steps + 1} (lr ${lr}): lower the learning rate or clip gradients`);
        for (const p of graph.params) {
          state[p.input] = out[p.next] as ort.Tensor;
          for (const s of p.state) state[s.input] = out[s.next] as ort.Tensor;
        }
        average?.update(steps, live);
        steps++;
        samples += batchSizeOf(feeds[graph.dataInputs[0]]);
        losses.push(loss);
        smoothed = Number.isNaN(smoothed) ? loss : 0.95 * smoothed + 0.05 * loss;
        const report: StepReport = {
          step: steps, epoch, loss, smoothedLoss: smoothed, lr, samplesPerSec: samples / (trainMs / 1000),
          ...(planned === undefined ? {} : { totalSteps: planned }),
          ...(graph.gradNorm ? { gradNorm: Number((out[graph.gradNorm].data as Float32Array)[0]) } : {}),
        };
        sink.step(report);
        options.onProgress?.(report);
        if (options.evalIter !== undefined && steps % options.evalIter === 0) await evaluate(epoch);
        // Checked after the step, not before the next: the next batch (or epoch of batches) is never built for nothing.
        if (options.trainIter !== undefined && steps >= options.trainIter) break training;
      }
      if (options.evalIter === undefined) await evaluate(epoch);
    }
    await evaluate(epochAt);
  } finally {
    sink.stop();
    await session.release();
  }
  if (steps === 0) throw new TrainError('no batch was fed: the batches are empty');
  return {
    params: currentParams(), ...(best ? { best } : {}), evals, steps, samples,
    losses: Float32Array.from(losses), trainMs, samplesPerSec: samples / (trainMs / 1000),
  };
}

/** Parameters (given, or the model's) copied into fresh onnxruntime tensors, and zeroed optimizer state. */
function initialState(graph: StepGraph, given: ParamValues | undefined): Record<string, ort.Tensor> {
  const state: Record<string, ort.Tensor> = {};
  for (const p of graph.params) {
    const start = given?.get(p.name) ?? graph.initial.get(p.name)!;
    const values = start instanceof Tensor ? start.toFloat32() : start;
    const size = p.dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new TrainError(`starting value of '${p.name}' has ${values.length} elements, its shape [${p.dims}] needs ${size}`);
    // A copy: onnxruntime must never write into (or the caller mutate) the model's own weight buffers.
    state[p.input] = new ort.Tensor('float32', Float32Array.from(values), [...p.dims]);
    for (const s of p.state) state[s.input] = new ort.Tensor('float32', new Float32Array(size), [...p.dims]);
  }
  return state;
}

const scalar = (x: number): ort.Tensor => new ort.Tensor('float32', Float32Array.of(x), []);

const batchSizeOf = (t: ort.Tensor | undefined): number => (t && t.dims.length > 0 ? t.dims[0] : 1);

/** A per-epoch seed that differs for every (seed, epoch) pair. */
const mixSeed = (seed: number, epoch: number): number => (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0;
