// `onnx-slim distill STUDENT --teacher TEACHER --data DIR -o OUT`: trains the student's float weights to match the
// teacher (kl_div, mse or token-wise contrastive on the paired values) and writes the student's own inference
// model with the trained weights. Settings come from flags, else from the YAML config (Compress.Distillation +
// TrainConfig), else defaults. Data: the `quant --calib` formats, or for a causal LM `--sample-from-teacher N`
// sequences the teacher writes itself. Nothing is written unless training finishes.
import { Command, Option } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { loadModel } from '../io/load.js';
import { saveModel } from '../io/save.js';
import { calibrationData } from '../calib/data.js';
import { sampleSequences, sequenceFeeds } from '../data/lm-sampling.js';
import type { OptimizerSpec } from '../train/optimizer.js';
import type { ProgressMode } from '../train/progress.js';
import { distill } from '../../passes/distill.pass.js';
import { type DistillPair, parsePairs, pickPairs } from '../../passes/distill/pairs.js';
import { residualStreamPairs } from './distill-hidden.js';
import { type DistillConfig, type OptimizerKind, readDistillConfig } from './distill-config.js';
import { batchSizeFor, fixedBatchOf, headRows, orderedBatches, type Rows, splitRows, stackRows, stepsPerEpochOf } from './distill-data.js';
import { distillStudent, isCausalLm, planDistillation } from './distill-train.js';
import { UsageError } from './errors.js';
import type { OptionsOf } from '../passes/options.js';

export interface DistillFlags {
  output: string;
  teacher?: string;
  data?: string;
  sampleFromTeacher?: number;
  sampleLength: number;
  config?: string;
  loss?: string;
  temperature?: number;
  pairs?: string;
  epochs?: number;
  lr?: number;
  batch?: number;
  trainIter?: number;
  evalIter?: number;
  heldOut?: number;
  optimizer?: OptimizerKind;
  weightDecay?: number;
  hidden?: number;
  ema?: number;
  seed: number;
  threads: number;
  progress: ProgressMode;
}

const count = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`expected an integer >= ${min}, got '${v}'`);
  return n;
};
const positive = (v: string): number => {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`expected a positive number, got '${v}'`);
  return n;
};
const nonNegative = (v: string): number => {
  const n = Number(v);
  if (!(n >= 0) || !Number.isFinite(n)) throw new UsageError(`expected a number >= 0, got '${v}'`);
  return n;
};

const decay = (v: string): number => {
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new UsageError(`expected a decay in [0, 1), got '${v}'`);
  return n;
};

export function distillCommand(): Command {
  return new Command('distill')
    .description('train a (pruned or quantized) student to match a teacher, and write the student with the trained weights')
    .argument('<student>', 'model to train (.onnx)')
    .requiredOption('-o, --output <file>', 'where to write the distilled student')
    .option('--teacher <file>', 'teacher model (.onnx; default: Distillation.Teacher from --config, else a frozen copy of the student)')
    .option('--data <dir>', 'training inputs, as for quant --calib: test_data_set_* folders or <input>.npy files (no labels needed)')
    .option('--sample-from-teacher <n>', 'causal LMs (int64 input_ids): train on n sequences sampled from the teacher instead of --data', count(2))
    .option('--sample-length <n>', 'tokens per sampled sequence', count(2), 128)
    .option('--config <file>', 'YAML config: Compress.Distillation (Teacher, distillation_loss_type, T, node) and TrainConfig')
    .addOption(new Option('--loss <kind>', 'per-pair loss (default kl_div)').choices(['kl_div', 'mse', 'token_wise_contrastive']))
    .option('--temperature <T>', 'softmax temperature of kl_div / token_wise_contrastive (default 1)', positive)
    .option('--pairs <list>', 'comma-separated student_value:teacher_value pairs (default: the float outputs)')
    .option('--epochs <n>', 'passes over the training rows (default 1, or as many as --train-iter needs)', count(1))
    .option('--lr <x>', 'peak learning rate of the warm-up + cosine schedule (default 1e-3)', positive)
    .option('--batch <n>', 'rows per step (default 8; a model with a fixed batch dim takes that)', count(1))
    .option('--train-iter <n>', 'stop after n steps in all (alone, it sets the length)', count(1))
    .option('--eval-iter <n>', 'evaluate on the held-out rows every n steps (default: every epoch); the best checkpoint is kept', count(1))
    .option('--held-out <n>', 'rows kept out of training to evaluate on (default: a tenth, none below 4 rows; whole batches when the model fixes its batch dim)', count(0))
    .addOption(new Option('--optimizer <kind>', 'optimizer (default adamw; momentum is SGD with momentum 0.9)').choices(['adamw', 'sgd', 'momentum']))
    .option('--weight-decay <x>', 'AdamW decoupled / SGD L2 weight decay (default 0.01 for adamw, 0 for sgd)', nonNegative)
    .option('--hidden <weight>', 'add MSE on the residual stream: every LayerNorm/RMSNorm input student and teacher share by name, each over the teacher\'s variance, the weight shared among them (default 0: off)', nonNegative)
    .option('--ema <decay>', 'evaluate and keep a moving average of the weights with this decay, e.g. 0.999 (default: the weights as trained)', decay)
    .option('--seed <n>', 'seed of the sample order and of teacher sampling', count(0), 0)
    .option('--threads <n>', 'onnxruntime intra-op threads', count(1), os.availableParallelism())
    .addOption(new Option('--progress <mode>', 'training progress on stderr').choices(['auto', 'bar', 'log', 'off']).default('auto'))
    .action(async (student: string, flags: DistillFlags) => runDistill(student, flags));
}

export async function runDistill(studentFile: string, flags: DistillFlags): Promise<void> {
  const config: DistillConfig = flags.config ? readDistillConfig(flags.config) : { distillation: {}, train: {} };
  // The distill pass's schema resolves the PaddleSlim aliases and checks the values; flags override the config.
  const given: Record<string, unknown> = { ...config.distillation };
  const override = (key: string, alias: string, value: unknown): void => {
    if (value === undefined) return;
    delete given[alias];
    given[key] = value;
  };
  override('teacher', 'Teacher', flags.teacher);
  override('loss', 'distillation_loss_type', flags.loss);
  override('temperature', 'T', flags.temperature);
  override('pairs', 'node', flags.pairs?.split(',').map((s) => s.trim()).filter(Boolean));
  const d = distill(given as Parameters<typeof distill>[0]).options as OptionsOf<typeof distill.spec.options>;
  if (d.labels) throw new UsageError('Distillation.labels: the distill command trains without labels');
  if (flags.data === undefined && flags.sampleFromTeacher === undefined) throw new UsageError('give the training inputs with --data <dir> or, for a causal LM, --sample-from-teacher <n>');
  if (flags.data !== undefined && flags.sampleFromTeacher !== undefined) throw new UsageError('give --data or --sample-from-teacher, not both');
  const train = config.train;
  const optimizerKind = flags.optimizer ?? train.optimizer ?? 'adamw';

  const student = loadModel(studentFile);
  const teacher = d.teacher ? loadModel(d.teacher) : undefined;
  const batch = batchSizeFor(student, flags.batch);
  const setup = {
    student, ...(teacher ? { teacher } : {}), loss: d.loss, T: d.temperature, ...(d.pairs.length ? { pairs: parsePairs(d.pairs) } : {}),
    pairMode: d.pair_mode, optimizer: optimizerSpec(optimizerKind, flags.weightDecay ?? train.weightDecay),
  };
  // Without hidden-state pairs the plan is built before any data is read, so a model that cannot train fails first;
  // their weights need the teacher's variances over the training rows.
  const early = flags.hidden ? undefined : planDistillation(setup);
  const rows = await trainingRows(student, teacher ?? student, flags);
  const fixedBatch = fixedBatchOf(student) !== undefined;
  const held = heldOutCount(rows.count, batch, fixedBatch, flags.heldOut);
  if (held >= rows.count) throw new UsageError(`--held-out ${held} leaves no rows to train on (the data holds ${rows.count})`);
  const { train: trainRows, heldOut } = splitRows(rows, held);
  if (fixedBatch && trainRows.count < batch) throw new UsageError(`the model fixes its batch dim to ${batch}, but only ${trainRows.count} rows are left to train on`);
  const hidden = flags.hidden ? await hiddenPairsOf(student, teacher ?? student, orderedBatches(headRows(trainRows, 2 * batch), batch), flags) : [];
  const plan = early ?? planDistillation({ ...setup, pairs: [...(setup.pairs ?? pickPairs(student, teacher ?? student, d.pair_mode)), ...hidden] });

  const outDir = path.dirname(path.resolve(flags.output));
  if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
  const trainIter = flags.trainIter ?? train.trainIter;
  // train_iter alone (ACT's usual form) sets the length: as many epochs as it takes.
  const epochs = flags.epochs ?? train.epochs ?? (trainIter === undefined ? 1 : Math.ceil(trainIter / stepsPerEpochOf(trainRows, batch)));
  const outcome = await distillStudent(plan, {
    train: trainRows, ...(held > 0 ? { heldOut } : {}), batch, fixedBatch, epochs,
    ...optional('trainIter', trainIter), ...optional('evalIter', flags.evalIter ?? train.evalIter),
    ...optional('ema', flags.ema ?? train.emaDecay),
    lr: flags.lr ?? train.lr ?? 1e-3, seed: flags.seed, threads: flags.threads, progress: flags.progress,
  });
  saveModel(outcome.model, flags.output);
  const r = outcome.result;
  // Single batches are noisy: the loss is reported as the mean over the first and the last tenth of the steps.
  const tenth = Math.max(1, Math.floor(r.steps / 10));
  const mean = (xs: Float32Array): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const metric = outcome.metric
    ? `; held-out ${outcome.metric.kind.replace('_', ' ')} ${outcome.metric.before.toFixed(4)} -> ${outcome.metric.after.toFixed(4)}${train.originMetric === undefined ? '' : ` (origin_metric ${train.originMetric})`}${outcome.keptStart ? ' (no step beat the untrained student, which is written unchanged)' : ''}`
    : '';
  process.stdout.write(`onnx-slim distill: ${studentFile} -> ${flags.output}: ${r.steps} steps on ${trainRows.count} rows, ${plan.trained.length} tensors trained${hidden.length ? `, ${hidden.length} hidden-state MSE pairs` : ''}, loss ${mean(r.losses.subarray(0, tenth)).toFixed(4)} -> ${mean(r.losses.subarray(-tenth)).toFixed(4)}${metric}\n`);
}

/** Rows held out to pick the checkpoint: --held-out, or a tenth; whole batches when the model fixes its batch dim. */
function heldOutCount(rows: number, batch: number, fixedBatch: boolean, given: number | undefined): number {
  if (given !== undefined && fixedBatch && given % batch !== 0) throw new UsageError(`--held-out ${given}: the model fixes its batch dim to ${batch}, so rows are held out in multiples of ${batch}`);
  const held = given ?? (rows >= 4 ? Math.max(1, Math.floor(rows / 10)) : 0);
  return fixedBatch ? held - (held % batch) : held;
}

const optional = <K extends string>(key: K, value: number | undefined): { [P in K]?: number } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };

function optimizerSpec(kind: OptimizerKind, weightDecay: number | undefined): OptimizerSpec {
  switch (kind) {
    case 'adamw': return { kind: 'adamw', weightDecay: weightDecay ?? 0.01 };
    case 'sgd': return { kind: 'sgd', momentum: 0, weightDecay: weightDecay ?? 0 };
    case 'momentum': return { kind: 'sgd', momentum: 0.9, weightDecay: weightDecay ?? 0 };
  }
}

async function hiddenPairsOf(student: Model, teacher: Model, feeds: ReadonlyArray<Record<string, Tensor>>, flags: DistillFlags): Promise<DistillPair[]> {
  const pairs = await residualStreamPairs(student, teacher, feeds, flags.hidden!, flags.threads);
  if (pairs.length === 0) throw new UsageError('--hidden: student and teacher share no LayerNorm or RMSNorm input by name (the residual stream of a pruned copy keeps its names)');
  return pairs;
}

async function trainingRows(student: Model, teacher: Model, flags: DistillFlags): Promise<Rows> {
  if (flags.data !== undefined) return stackRows(calibrationData(student, flags.data));
  if (!isCausalLm(student)) throw new UsageError('--sample-from-teacher needs a causal LM student (int64 input_ids in, [batch, seq, vocab] logits out)');
  const sequences = await sampleSequences(teacher, {
    count: flags.sampleFromTeacher!, length: flags.sampleLength, seed: flags.seed, batch: 16, threads: flags.threads,
  });
  return stackRows(sequenceFeeds(sequences));
}
