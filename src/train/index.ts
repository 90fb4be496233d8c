// Training through step graphs: one optimizer step as a plain ONNX inference graph, and the loop that runs it.
export { buildStepGraph, StepGraphError, type StepGraph, type StepGraphOptions } from './step-graph.js';
export { emitUpdate, stateRolesOf, type AdamWSpec, type OptimizerSpec, type SgdSpec } from './optimizer.js';
export { buildUpdateModel, type UpdateModel } from './update-graph.js';
export type { ParamIO, StateIO } from './step-io.js';
export { constantSchedule, warmupCosine, type Schedule, type WarmupCosineOptions } from './schedule.js';
export { train, TrainError, type BatchFactory, type Checkpoint, type Evaluate, type FeedStream, type TrainFeed, type TrainOptions, type TrainResult } from './trainer.js';
export type { ProgressMode, StepReport } from './progress.js';
export { paramAverage, type ParamAverage } from './ema.js';
export { exportTrained, type ParamValues } from './export.js';
export { withLossHead, type TrainingModel } from './loss-head.js';
export { addTallies, argmaxRows, nextTokenNll, perplexityOf, rate, teacherAgreement, top1, type NllTally, type Tally } from './metrics.js';
export { heNormal, normalSampler, zeros } from './init.js';
export { batchesOf, permutation, rng } from './shuffle.js';
