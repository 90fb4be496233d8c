// PP-OCRv4 rec as a distillation student: the fp32 model (cleanup, opset 13 for the gradient builder), its pruned
// copy, the merged student+teacher training model with a KL loss on the pre-softmax logits, and character accuracy.
import { castDraft, produce } from 'immer';
import path from 'node:path';
import { cleanup, compile, createSession, DataType, loadModel, makeValueInfo, opset, prune, runModel, type Model, type Tensor } from '../../src/index.js';
import { buildDistillModel, type DistillModel } from '../../passes/distill/head.js';
import { lastParamValues, type DistillPair } from '../../passes/distill/pairs.js';
import { characterAccuracy, ctcDecode, editDistance, OCR_ASSETS, type TextLine } from './ocr.js';
import type { LineErrors } from './paired-bootstrap.js';
import { REC_HEIGHT } from './distill-ocr-data.js';

export const REC_INPUT = 'x';

export async function loadRecFp32(): Promise<Model> {
  const original = loadModel(path.join(OCR_ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'));
  // The Paddle export imports opset 9; the gradient rules and the loss head need opset >= 13.
  return (await compile(original, [cleanup(), opset({ target: 13 })], { verify: true })).model;
}

/** `skip`: producer names (substrings or /regex/) whose channel groups stay whole. `calib`: lines run one by one at
 *  their natural width for the pass's compensation, mean-activation or least-squares (without them, none). */
export async function pruneRec(fp32: Model, ratio: number, skip: readonly string[] = [], calib: readonly TextLine[] = [], compensation: 'mean' | 'lstsq' = 'mean', ratios: readonly string[] = []): Promise<Model> {
  const data = calib.length ? { calib_data: calib.map((l) => ({ [REC_INPUT]: l.input })), batch_num: calib.length, compensation } : {};
  return (await compile(fp32, [prune({ ratio, skip: [...skip], ratios: [...ratios], ...data })], { verify: true })).model;
}

/**
 * The model with its image input fixed to [batch, 3, 48, width]. The Conv gradient rule needs static spatial dims
 * (a transposed convolution's output size depends on them). Stale value_info (with the old symbolic width) is
 * dropped so shape inference recomputes every intermediate shape from the new input.
 */
export function withStaticInput(model: Model, batch: number, width: number): Model {
  return produce(model, (d) => {
    d.graph.inputs = castDraft(model.graph.inputs.map((v) => (v.name === REC_INPUT ? makeValueInfo(REC_INPUT, DataType.FLOAT, [batch, 3, REC_HEIGHT, width]) : v)));
    d.graph.valueInfo = [];
  });
}

/**
 * Student parameters to train: float initializers with more than one element (conv/matmul weights, biases, BN and
 * LayerNorm-like scales), except BatchNormalization's running mean and variance, which stay frozen (inference BN).
 * Single-element constants (the 3 and 6 of hard-swish, epsilons, exponents) are not parameters.
 */
export function trainableOf(student: Model): string[] {
  const bnStats = new Set(student.graph.nodes.filter((n) => n.opType === 'BatchNormalization').flatMap((n) => n.inputs.slice(3)));
  return [...student.graph.initializers].filter(([name, t]) => t.dataType === DataType.FLOAT && t.size > 1 && !bnStats.has(name)).map(([name]) => name);
}

/**
 * Student and fp32 teacher merged, KL(teacher_T || student_T) on the logits. The graph output is a Softmax, so the
 * pair is the last parameterized value before it on each side (last_param_nodes: the Add of the head's bias);
 * `hidden` pairs (e.g. MSE on the SVTR neck's residual stream) are added beside it.
 */
export function distillRec(student: Model, teacher: Model, o: { batch: number; width: number; T: number; hidden?: readonly DistillPair[] }): DistillModel & { trainable: string[] } {
  const s = withStaticInput(student, o.batch, o.width), t = withStaticInput(teacher, o.batch, o.width);
  const pairs = [{ student: lastParamValues(s)[0], teacher: lastParamValues(t)[0] }, ...(o.hidden ?? [])];
  return { ...buildDistillModel(s, { teacher: t, pairs, loss: 'kl_div', T: o.T }), trainable: trainableOf(student) };
}

export interface RecScore {
  /** 1 − Σ edit distance / Σ reference characters. */
  readonly accuracy: number;
  /** Share of lines read exactly. */
  readonly exact: number;
  /** Per line, for paired comparisons (lib/paired-bootstrap.ts). */
  readonly lines: LineErrors;
}

/** The model's output (per-frame character probabilities, [1, frames, classes]) for each of `lines`, one line per
 *  run at its own width (as deployed). */
export async function recOutputs(model: Model, lines: readonly TextLine[], threads = 2): Promise<Tensor[]> {
  const session = await createSession(model, { optimization: 'all', threads });
  const out: Tensor[] = [];
  try {
    for (const line of lines) out.push(Object.values(await runModel(session, { [REC_INPUT]: line.input }))[0] as Tensor);
  } finally {
    await session.release();
  }
  return out;
}

/** Greedy CTC readings of `lines`. */
export async function recPredictions(model: Model, lines: readonly TextLine[], dict: readonly string[], threads = 2): Promise<string[]> {
  return (await recOutputs(model, lines, threads)).map((t) => ctcDecode(t, dict));
}

/** Mean over frames of KL(p ‖ q) between two outputs of recOutputs (q floored at 1e-12: a pruned model may put
 *  exactly zero on a class). */
export function meanFrameKl(p: Tensor, q: Tensor): number {
  const classes = p.dims.at(-1) as number, a = p.toFloat32(), b = q.toFloat32();
  if (a.length !== b.length) throw new Error(`outputs of ${a.length} and ${b.length} values: the lines differ`);
  let kl = 0;
  for (let i = 0; i < a.length; i++) if (a[i] > 0) kl += a[i] * Math.log(a[i] / Math.max(b[i], 1e-12));
  return kl / (a.length / classes);
}

/** Character accuracy of `model` against the rendered texts. */
export async function recAccuracy(model: Model, lines: readonly TextLine[], dict: readonly string[], threads = 2): Promise<RecScore> {
  const predicted = await recPredictions(model, lines, dict, threads);
  const pairs = lines.map((l, i) => ({ truth: l.text, predicted: predicted[i] }));
  const lineErrors = { errors: pairs.map((p) => editDistance(p.truth, p.predicted)), chars: pairs.map((p) => Array.from(p.truth).length) };
  return { accuracy: characterAccuracy(pairs), exact: pairs.filter((p) => p.truth === p.predicted).length / pairs.length, lines: lineErrors };
}
