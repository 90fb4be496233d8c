// Distillation over width buckets: the Conv gradient needs static spatial sizes, so each bucket gets its own step
// graph (same student, teacher and trainable tensors, another static width); one loop feeds them in turn and carries
// the parameters and the AdamW moments from one bucket's session to the next (the trainer's train() keeps one step
// graph and zeroes the optimizer state per call, which would reset the moments at every bucket switch).
// Validation runs the caller's metric on the exported student (the benches: agreement with fp32's readings, or
// accuracy against the rendered texts, on lines that are neither evaluation nor training lines); the best checkpoint
// (step 0, the pruned model itself, included; the later one on ties) is kept.
import { buildStepGraph, exportTrained, paramAverage, type Model } from '../../src/index.js';
import { createSession, ort, toOrtTensor } from '../../src/runtime/ort.js';
import { rng } from '../../src/train/shuffle.js';
import type { StepGraph } from '../../src/train/step-graph.js';
import type { Schedule } from '../../src/train/schedule.js';
import { bucketEpoch, type WidthBucket } from './distill-ocr-data.js';
import { distillRec, REC_INPUT } from './distill-ocr-model.js';
import type { DistillPair } from '../../passes/distill/pairs.js';

export interface BucketTrainOptions {
  readonly student: Model;
  readonly teacher: Model;
  readonly buckets: readonly WidthBucket[];
  readonly batch: number;
  readonly T: number;
  readonly steps: number;
  readonly lr: Schedule;
  readonly seed: number;
  readonly threads: number;
  /** Higher is better; run on the exported student at step 0, every `validateEvery` steps and at the end. */
  readonly validate?: (student: Model) => Promise<number>;
  readonly validateEvery?: number;
  /** What `validate` measures, for the log (default "agreement with fp32"). */
  readonly metricName?: string;
  readonly log?: (line: string) => void;
  /** The step model of one bucket width (default: distillRec of student and teacher at T, its trainable set); QAT
   *  passes its fake-quant student's own pairs and trainable tensors. */
  readonly stepModel?: (width: number) => { model: Model; loss: string; trainable: readonly string[] };
  /** Feature pairs beside the logits' KL (default distillRec only). */
  readonly hidden?: readonly DistillPair[];
  /** AdamW weight decay (default 0.01). */
  readonly weightDecay?: number;
  /** Validate and keep a moving average of the weights with this decay instead of the last step's (default: none). */
  readonly ema?: number;
}

export interface BucketTrainResult {
  /** The best validated student (the last one without `validate`). */
  readonly student: Model;
  readonly steps: number;
  readonly bestStep: number;
  readonly validations: ReadonlyArray<{ step: number; metric: number }>;
  readonly losses: Float32Array;
  readonly trainMs: number;
  readonly samplesPerSec: number;
  readonly buildS: number;
}

export async function distillBuckets(o: BucketTrainOptions): Promise<BucketTrainResult> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const graphs: StepGraph[] = o.buckets.map((b) => {
    const d = o.stepModel ? o.stepModel(b.width) : distillRec(o.student, o.teacher, { batch: o.batch, width: b.width, T: o.T, hidden: o.hidden });
    return buildStepGraph(d.model, { loss: d.loss, trainable: [...d.trainable], optimizer: { kind: 'adamw', weightDecay: o.weightDecay ?? 0.01 } });
  });
  const sessions = await Promise.all(graphs.map((g) => createSession(g.model, { optimization: 'all', threads: o.threads })));
  const buildS = (performance.now() - t0) / 1000;
  log(`${graphs.length} step graphs (widths ${o.buckets.map((b) => `${b.width}×${b.lines.length}`).join(', ')}), ${graphs[0].model.graph.nodes.length} nodes each, built in ${buildS.toFixed(1)} s`);

  // Parameters and optimizer moments by parameter name, shared by every bucket's session.
  const value = new Map<string, ort.Tensor>();
  const moments = new Map<string, ort.Tensor[]>();
  for (const p of graphs[0].params) {
    const start = graphs[0].initial.get(p.name)!.toFloat32();
    value.set(p.name, new ort.Tensor('float32', Float32Array.from(start), [...p.dims]));
    moments.set(p.name, p.state.map(() => new ort.Tensor('float32', new Float32Array(start.length), [...p.dims])));
  }
  const live = (name: string): Float32Array => value.get(name)!.data as Float32Array;
  const average = o.ema === undefined ? undefined : paramAverage([...value.keys()].map((n) => [n, live(n)]), o.ema);
  const current = (): Model => exportTrained(o.student, average?.snapshot() ?? new Map([...value.keys()].map((n) => [n, live(n)])));
  const scalar = (x: number): ort.Tensor => new ort.Tensor('float32', Float32Array.of(x), []);

  const validations: Array<{ step: number; metric: number }> = [];
  let best: { metric: number; step: number; student: Model } | undefined;
  const validate = async (step: number): Promise<void> => {
    if (!o.validate || validations.at(-1)?.step === step) return;
    const student = current();
    const metric = await o.validate(student);
    validations.push({ step, metric });
    const better = !best || metric >= best.metric; // ties: the later, longer-trained checkpoint
    if (better) best = { metric, step, student };
    log(`validation at step ${step}: ${(100 * metric).toFixed(2)} % ${o.metricName ?? 'agreement with fp32'}${better ? ' (best)' : ''}`);
  };

  const losses: number[] = [];
  let steps = 0, samples = 0, trainMs = 0;
  try {
    await validate(0);
    for (let epoch = 0; steps < o.steps; epoch++) {
      for (const { bucket, feed } of bucketEpoch(o.buckets, o.batch, REC_INPUT, rng(o.seed * 1000 + epoch))) {
        if (steps >= o.steps) break;
        const g = graphs[bucket];
        const feeds: Record<string, ort.Tensor> = { [g.lr]: scalar(o.lr(steps)), [g.step]: scalar(steps + 1), [REC_INPUT]: toOrtTensor(feed[REC_INPUT]) };
        for (const p of g.params) {
          feeds[p.input] = value.get(p.name)!;
          p.state.forEach((s, i) => { feeds[s.input] = moments.get(p.name)![i]; });
        }
        const s0 = performance.now();
        const out = await sessions[bucket].run(feeds);
        trainMs += performance.now() - s0;
        const loss = Number((out[g.loss].data as Float32Array)[0]);
        if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at step ${steps + 1}`);
        for (const p of g.params) {
          value.set(p.name, out[p.next] as ort.Tensor);
          moments.set(p.name, p.state.map((s) => out[s.next] as ort.Tensor));
        }
        average?.update(steps, live);
        steps++;
        samples += o.batch;
        losses.push(loss);
        if (steps % 10 === 0) log(`step ${steps}/${o.steps} (width ${o.buckets[bucket].width}) KL ${loss.toFixed(4)}, ${(samples / (trainMs / 1000)).toFixed(2)} samples/s`);
        if (o.validateEvery && steps % o.validateEvery === 0) await validate(steps);
      }
    }
    await validate(steps);
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
  return {
    student: best?.student ?? current(), steps, bestStep: best?.step ?? steps, validations, losses: Float32Array.from(losses),
    trainMs, samplesPerSec: samples / (trainMs / 1000), buildS,
  };
}
