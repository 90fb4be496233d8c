// Quantization-aware training (mode qat): static PTQ (static.ts) as the starting point, made trainable as fake quant
// (qat-fake.ts: float weights through Q→DQ with the straight-through gradient, optional PACT clips), trained by
// distillation from the float model on unlabeled data (passes/distill/head.ts + src/train: AdamW, linear warm-up then
// cosine decay), and exported back to the static pass's QDQ form (qat-export.ts).
import { castDraft, produce } from 'immer';
import '../../src/rewrite/immer-setup.js';
import type { Model } from '../../src/ir/model.js';
import { makeTensorType, tensorTypeOf } from '../../src/ir/types.js';
import { graphIndex } from '../../src/ir/analysis.js';
import type { PassContext } from '../../src/passes/pass.js';
import { OptionError } from '../../src/passes/options.js';
import { calibrationData, type CalibrationSource, type Feed } from '../../src/calib/data.js';
import { exportTrained, permutation, train, warmupCosine } from '../../src/train/index.js';
import { buildDistillModel, type DistillLoss } from '../distill/head.js';
import type { DistillPair } from '../distill/pairs.js';
import { quantizeStatic, type StaticOptions } from './static.js';
import { type FakeQuantModel, toFakeQuant } from './qat-fake.js';
import { exportQat } from './qat-export.js';

export interface QatOptions extends StaticOptions {
  /** Training feeds (in code); default: the calibration data. */
  readonly train_data: unknown;
  readonly epochs: number;
  readonly lr: number;
  readonly activation_preprocess_type: string;
  readonly train_threads: number;
}

export async function quantizeQat(input: Model, options: QatOptions, ctx: PassContext): Promise<Model> {
  // QAttention and MatMulIntegerToFloat have no gradient: training needs every kernel in QDQ form.
  const ptq = await quantizeStatic(input, { ...options, qdqOnly: true }, ctx);
  if (ptq === input) return input;
  const fake = toFakeQuant(ptq, { pact: options.activation_preprocess_type === 'PACT' });
  ctx.note('qat: fake-quantized weights', fake.weights.size);
  ctx.note('qat: PACT clips', fake.alphas.size);
  const feeds = await trainingFeeds(input, options);
  const { params, losses, trainMs } = await trainFakeQuant(input, fake, feeds, options);
  ctx.note('qat: steps', losses.length);
  ctx.note('qat: distillation loss first → last 10% mean', `${mean(losses.slice(0, Math.max(1, losses.length / 10)))} → ${mean(losses.slice(-Math.max(1, losses.length / 10)))}`);
  ctx.note('qat: training seconds', Math.round(trainMs / 100) / 10);
  return exportQat(exportTrained(fake.model, params), fake);
}

export interface QatTraining {
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly losses: Float32Array;
  readonly trainMs: number;
}

/** Distillation of `fake` (student) from `teacher`, one feed per step, shuffled each epoch. */
export async function trainFakeQuant(
  teacher: Model, fake: FakeQuantModel, feeds: readonly Feed[],
  options: { readonly epochs: number; readonly lr: number; readonly train_threads?: number; readonly seed?: number },
): Promise<QatTraining> {
  const { pairs, loss } = distillPairs(fake.model, teacher);
  // Training graphs need static shapes (the Conv gradient does): both models get the feeds' one shape.
  const distill = buildDistillModel(withFeedShapes(fake.model, feeds), { teacher: withFeedShapes(teacher, feeds), pairs, loss });
  const total = feeds.length * options.epochs;
  const result = await train({
    step: { model: distill.model, loss: distill.loss, trainable: fake.trainable, optimizer: { kind: 'adamw', weightDecay: 0 }, clipNorm: 1 },
    batches: (_epoch, next) => Array.from(permutation(feeds.length, next), (i) => feeds[i]),
    epochs: options.epochs,
    // A short warm-up keeps AdamW's first, unnormalized steps from knocking weights off the PTQ grid.
    lr: total > 1 ? warmupCosine({ peak: options.lr, warmupSteps: Math.max(1, Math.floor(total / 10)), totalSteps: total }) : options.lr,
    seed: options.seed ?? 0,
    progress: 'off',
    ...(options.train_threads ? { threads: options.train_threads } : {}),
  });
  return { params: result.params, losses: result.losses, trainMs: result.trainMs };
}

/**
 * What the student learns from: where every output is a Softmax in both models, KL divergence between the logits
 * in front of them (a KL of the probabilities themselves would soften them twice); otherwise MSE on the outputs.
 */
export function distillPairs(student: Model, teacher: Model): { pairs: DistillPair[]; loss: DistillLoss } {
  const softmaxInput = (m: Model, output: string): string | undefined => {
    const p = graphIndex(m.graph).producer.get(output);
    return p?.opType === 'Softmax' ? p.inputs[0] : undefined;
  };
  const names = student.graph.outputs.map((o) => o.name);
  const logits = names.map((n) => [softmaxInput(student, n), softmaxInput(teacher, n)] as const);
  if (logits.every(([s, t]) => s && t)) return { pairs: logits.map(([s, t]) => ({ student: s!, teacher: t! })), loss: 'kl_div' };
  return { pairs: names.map((n) => ({ student: n, teacher: n })), loss: 'mse' };
}

/** `model` with each graph input given the shape of the feeds, which must all agree. */
function withFeedShapes(model: Model, feeds: readonly Feed[]): Model {
  const dims = new Map<string, string>();
  for (const feed of feeds) {
    for (const [name, t] of Object.entries(feed)) {
      const key = t.dims.join(',');
      if ((dims.get(name) ?? key) !== key) throw new OptionError(`quant: mode qat trains on static shapes, but input '${name}' is fed as [${dims.get(name)}] and [${key}]: pad the training data to one shape`);
      dims.set(name, key);
    }
  }
  return produce(model, (d) => {
    for (const input of d.graph.inputs) {
      const shape = dims.get(input.name);
      const elem = tensorTypeOf(input.type)?.elemType;
      if (shape !== undefined && elem !== undefined) input.type = castDraft(makeTensorType(elem, shape === '' ? [] : shape.split(',').map(Number)));
    }
  });
}

async function trainingFeeds(model: Model, options: QatOptions): Promise<Feed[]> {
  const source = (options.train_data ?? options.calib_data ?? (options.calib || undefined)) as CalibrationSource | undefined;
  if (source === undefined) throw new OptionError('quant: mode qat needs data: --calib DIR (or calib_data / train_data in code)');
  const feeds: Feed[] = [];
  for await (const feed of calibrationData(model, source)) feeds.push(feed);
  if (feeds.length === 0) throw new OptionError('quant: mode qat got no training feeds');
  return feeds;
}

const mean = (a: Float32Array): number => Number((a.reduce((s, x) => s + x, 0) / a.length).toPrecision(4));
