// Distillation end to end, as a function the CLI and the benches share: the student and its teacher (default: a
// frozen copy of the student) merged with a scalar loss (buildDistillModel), one optimizer step as a graph
// (buildStepGraph: the student's float weights trained, the teacher's frozen), the training loop, and the best
// parameters written back into the student's own inference model, which never held teacher, loss or gradients.
import type { Model } from '../ir/model.js';
import { opsetVersion } from '../ir/model.js';
import { DataType } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { tensorTypeOf } from '../ir/types.js';
import { createSession, runModel } from '../runtime/ort.js';
import { buildDistillModel, type DistillLoss, type DistillPair, type PairMode } from '../../passes/distill.pass.js';
import { upgradeOpset } from '../../passes/opset.pass.js';
import { buildStepGraph, type StepGraph } from '../train/step-graph.js';
import type { OptimizerSpec } from '../train/optimizer.js';
import { train, type TrainResult } from '../train/trainer.js';
import { exportTrained } from '../train/export.js';
import { warmupCosine } from '../train/schedule.js';
import type { ProgressMode } from '../train/progress.js';
import { addTallies, type NllTally, nextTokenNll, perplexityOf, rate, type Tally, teacherAgreement } from '../train/metrics.js';
import { orderedBatches, type Rows, shuffledBatches } from './distill-data.js';
import { trainableParameters } from './distill-params.js';

export interface DistillSetup {
  readonly student: Model;
  /** Default: a frozen copy of the student. */
  readonly teacher?: Model;
  readonly loss: DistillLoss;
  readonly T: number;
  readonly pairs?: readonly DistillPair[];
  /** How to pick the pairs when none are given (default: the float outputs). */
  readonly pairMode?: PairMode;
  readonly optimizer: OptimizerSpec;
  readonly clipNorm?: number;
}

/** The step graph and what it trains: built before any data is read, so a model that cannot train fails first. */
export interface DistillPlan {
  readonly student: Model;
  readonly teacher: Model;
  readonly step: StepGraph;
  readonly trained: readonly string[];
  /** The opset the training graph was built at. */
  readonly trainingOpset: number;
}

export interface DistillRun {
  readonly train: Rows;
  /** Rows to evaluate on (never trained on); none: no evaluation, the last parameters are kept. */
  readonly heldOut?: Rows;
  readonly batch: number;
  /** The model fixes its batch dim to `batch`: evaluation drops a partial last batch instead of feeding it. */
  readonly fixedBatch?: boolean;
  readonly epochs: number;
  readonly trainIter?: number;
  readonly evalIter?: number;
  /** Peak learning rate of the warm-up + cosine schedule. */
  readonly lr: number;
  /** Warm-up steps (default: a tenth of the steps, at most 100). */
  readonly warmupSteps?: number;
  /** Evaluate and keep a moving average of the weights with this decay (see TrainOptions.ema). */
  readonly ema?: number;
  readonly seed: number;
  readonly threads?: number;
  readonly progress: ProgressMode;
  readonly logEvery?: number;
}

export type MetricKind = 'perplexity' | 'teacher_agreement';

export interface DistillOutcome {
  /** The student's inference model with the trained weights. */
  readonly model: Model;
  readonly metric?: { readonly kind: MetricKind; readonly before: number; readonly after: number };
  readonly result: TrainResult;
  /** No evaluated step beat the untrained student, so `model` is the student unchanged. */
  readonly keptStart: boolean;
}

/** Gather's gradient (ScatterND with reduction=add) needs opset 16; 17 brings LayerNormalization. */
const TRAINING_OPSET = 17;

export function planDistillation(setup: DistillSetup): DistillPlan {
  const { student } = setup;
  const teacher = setup.teacher ?? student;
  // Training copies at a common opset new enough for every gradient; the export goes into `student` as it is.
  const opset = Math.max(TRAINING_OPSET, opsetVersion(student) ?? 0, opsetVersion(teacher) ?? 0);
  const studentT = upgradeOpset(student, opset).model, teacherT = upgradeOpset(teacher, opset).model;
  const distill = buildDistillModel(studentT, { teacher: teacherT, loss: setup.loss, T: setup.T, ...(setup.pairs ? { pairs: setup.pairs } : {}), ...(setup.pairMode ? { pairMode: setup.pairMode } : {}) });
  const trained = trainableParameters(student);
  if (trained.length === 0) throw new Error('the student has no float32 weights to train');
  const step = buildStepGraph(distill.model, { loss: distill.loss, trainable: trained, optimizer: setup.optimizer, ...(setup.clipNorm ? { clipNorm: setup.clipNorm } : {}) });
  return { student, teacher, step, trained, trainingOpset: opset };
}

export async function distillStudent(plan: DistillPlan, run: DistillRun): Promise<DistillOutcome> {
  const { student, teacher } = plan;
  const { factory, stepsPerEpoch } = shuffledBatches(run.train, run.batch);
  const totalSteps = Math.min(stepsPerEpoch * run.epochs, run.trainIter ?? Infinity);
  const warmupSteps = run.warmupSteps ?? Math.min(100, Math.floor(totalSteps / 10));
  const evaluator = run.heldOut && run.heldOut.count > 0 ? await makeEvaluator(student, teacher, orderedBatches(run.heldOut, run.batch, !run.fixedBatch), run.threads) : undefined;
  const before = evaluator ? await evaluator.measure(student) : undefined;

  const result = await train({
    step: plan.step, batches: factory, epochs: run.epochs, stepsPerEpoch, seed: run.seed, progress: run.progress,
    ...(run.trainIter === undefined ? {} : { trainIter: run.trainIter }),
    ...(run.evalIter === undefined ? {} : { evalIter: run.evalIter }),
    ...(run.threads === undefined ? {} : { threads: run.threads }),
    ...(run.logEvery === undefined ? {} : { logEvery: run.logEvery }),
    ...(run.ema === undefined ? {} : { ema: run.ema }),
    lr: totalSteps > 1 ? warmupCosine({ peak: run.lr, warmupSteps: Math.min(warmupSteps, totalSteps - 1), totalSteps }) : run.lr,
    ...(evaluator ? { evaluate: async (params: ReadonlyMap<string, Float32Array>) => evaluator.score(await evaluator.measure(exportTrained(student, params))) } : {}),
  });
  // The start competes with the checkpoints: training that never beat it on held-out rows writes nothing worse.
  const keptStart = evaluator !== undefined && before !== undefined && result.best !== undefined && evaluator.score(before) >= result.best.metric;
  const model = keptStart ? student : exportTrained(student, result.best?.params ?? result.params);
  const after = evaluator ? await evaluator.measure(model) : undefined;
  return {
    model, result, keptStart,
    ...(evaluator && before !== undefined && after !== undefined ? { metric: { kind: evaluator.kind, before, after } } : {}),
  };
}

interface Evaluator {
  readonly kind: MetricKind;
  /** The metric of an inference model on the held-out rows. */
  measure(model: Model): Promise<number>;
  /** Higher is better (what the trainer keeps the best of). */
  score(metric: number): number;
}

/** A causal LM: an int64 `input_ids` input and [batch, seq, vocab] logits. */
export function isCausalLm(model: Model): boolean {
  const ids = model.graph.inputs.find((v) => v.name === 'input_ids');
  const logits = model.graph.outputs[0];
  return ids !== undefined && tensorTypeOf(ids.type)?.elemType === DataType.INT64 && logits !== undefined && tensorTypeOf(logits.type)?.shape?.length === 3;
}

/** Perplexity for causal LMs (lower is better); otherwise top-1 agreement with the teacher on the first output. */
async function makeEvaluator(student: Model, teacher: Model, batches: ReadonlyArray<Record<string, Tensor>>, threads = 1): Promise<Evaluator> {
  const output = student.graph.outputs[0].name;
  const outputsOf = async (model: Model): Promise<Tensor[]> => {
    const session = await createSession(model, { optimization: 'all', threads });
    try {
      const out: Tensor[] = [];
      for (const feed of batches) out.push((await runModel(session, feed))[output]);
      return out;
    } finally {
      await session.release();
    }
  };
  if (isCausalLm(student)) {
    return {
      kind: 'perplexity', score: (ppl) => -ppl,
      measure: async (model) => {
        const logits = await outputsOf(model);
        let tally: NllTally = { nll: 0, tokens: 0 };
        logits.forEach((l, i) => { const t = nextTokenNll(l, batches[i].input_ids); tally = { nll: tally.nll + t.nll, tokens: tally.tokens + t.tokens }; });
        return perplexityOf(tally);
      },
    };
  }
  if (!teacher.graph.outputs.some((v) => v.name === output)) throw new Error(`the teacher has no output '${output}' to measure agreement on`);
  const teacherOut = await outputsOf(teacher);
  return {
    kind: 'teacher_agreement', score: (agreement) => agreement,
    measure: async (model) => {
      const out = await outputsOf(model);
      let tally: Tally = { hits: 0, total: 0 };
      out.forEach((o, i) => { tally = addTallies(tally, teacherAgreement(o, teacherOut[i])); });
      return rate(tally);
    },
  };
}
