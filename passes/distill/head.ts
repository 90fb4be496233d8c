// The distillation training graph: student and teacher merged (merge.ts), one loss term per student:teacher pair
// (pairs.ts, losses.ts; a pair may bring its own loss and weight w), summed, and optionally mixed with a hard-label
// cross-entropy on the student:
//   without labels   loss = Σ_pairs w · distill(student, teacher)
//   with labels      loss = r · Σ_pairs w · distill(student, teacher) + (1 − r) · CE(first pair's student value, labels)
// where r is distill_loss_ratio. The scalar is added as graph output `loss` (or a fresh name when `loss` is taken);
// the student's own outputs stay as they were.
import { castDraft, produce } from 'immer';
import '../../src/rewrite/immer-setup.js';
import type { Model } from '../../src/ir/model.js';
import { opsetVersion } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { GraphExtension } from '../../src/ir/extend.js';
import { graphIndex } from '../../src/ir/analysis.js';
import { type TensorType, tensorTypeOf } from '../../src/ir/types.js';
import { inferModelTypes } from '../../src/shape/index.js';
import { crossEntropy, klDiv, mse, type PairShapes, tokenWiseContrastive } from './losses.js';
import { mergeTeacher } from './merge.js';
import { checkPairs, type DistillLoss, type DistillPair, type PairMode, pickPairs } from './pairs.js';

export type { DistillLoss } from './pairs.js';

export interface DistillOptions {
  /** Default: a frozen copy of the student as given. */
  readonly teacher?: Model;
  /** Default kl_div. */
  readonly loss?: DistillLoss;
  /** Temperature of kl_div and token_wise_contrastive (default 1, as PaddleSlim's soft-label loss). */
  readonly T?: number;
  /** Default: picked by `pairMode`. */
  readonly pairs?: readonly DistillPair[];
  /** Default outputs. */
  readonly pairMode?: PairMode;
  /** Name of an int64 graph input with class ids for a hard-label cross-entropy (added when the student lacks it). */
  readonly labels?: string;
  /** r in loss = r · distill + (1 − r) · hard, when labels are given (default 0.5). */
  readonly distillLossRatio?: number;
}

export interface DistillModel {
  readonly model: Model;
  /** The scalar loss output. */
  readonly loss: string;
  /** Teacher initializers in `model`: not to be trained. */
  readonly frozen: readonly string[];
  /** The pairs as named in `model` (teacher values prefixed). */
  readonly pairs: readonly DistillPair[];
  /** The labels graph input, when a hard-label term was added. */
  readonly labels?: string;
}

/** The loss ops need opset 13 (ReduceSum and Unsqueeze with axes as inputs). */
const MIN_OPSET = 13;

export function buildDistillModel(student: Model, options: DistillOptions = {}): DistillModel {
  const teacher = options.teacher ?? student;
  const r = options.distillLossRatio ?? 0.5;
  if (!(r >= 0 && r <= 1)) throw new Error(`distill_loss_ratio must lie in [0, 1], got ${r}`);
  const opset = opsetVersion(student) ?? 0;
  if (opset < MIN_OPSET) throw new Error(`distill adds opset-${MIN_OPSET} loss ops but the student imports opset ${opset}: run the opset pass first`);
  const pairs = options.pairs ?? pickPairs(student, teacher, options.pairMode ?? 'outputs');
  checkPairs(student, teacher, pairs);
  const merged = mergeTeacher(student, teacher);
  const studentTypes = inferModelTypes(student).types, teacherTypes = inferModelTypes(teacher).types;
  const ext = new GraphExtension(merged.model.graph, 'distill/');
  const mergedPairs = pairs.map((p) => ({ ...p, teacher: merged.teacherNames.get(p.teacher)! }));

  const terms = pairs.map((p, i) => {
    const typeS = studentTypes.get(p.student), typeT = teacherTypes.get(p.teacher);
    const s = asFloat32(ext, p.student, typeS), t = asFloat32(ext, mergedPairs[i].teacher, typeT);
    const term = pairLoss(ext, p.loss ?? options.loss ?? 'kl_div', s, t, options.T ?? 1, [typeS?.shape, typeT?.shape]);
    return p.weight === undefined || p.weight === 1 ? term : ext.op('Mul', [term, scalar(ext, 'distill/weight', p.weight)]);
  });
  const distillTerm = terms.reduce((sum, term) => ext.op('Add', [sum, term]));

  let total = distillTerm, labels: string | undefined;
  if (options.labels) {
    const first = pairs[0].student;
    labels = labelsInput(ext, student, options.labels, studentTypes.get(first));
    const hard = crossEntropy(ext, asFloat32(ext, first, studentTypes.get(first)), labels);
    total = ext.op('Add', [ext.op('Mul', [distillTerm, scalar(ext, 'distill/ratio', r)]), ext.op('Mul', [hard, scalar(ext, 'distill/hard_ratio', 1 - r)])]);
  }
  const [lossName] = ext.node('Identity', [total], {}, { name: 'loss', outputNames: [ext.fresh('loss')] });
  ext.output(lossName, DataType.FLOAT, []);
  const graph = ext.apply();
  const model = produce(merged.model, (d) => { d.graph = castDraft(graph); });
  return { model, loss: lossName, frozen: merged.frozen, pairs: mergedPairs, ...(labels ? { labels } : {}) };
}

function pairLoss(ext: GraphExtension, loss: DistillLoss, s: string, t: string, T: number, shapes: PairShapes): string {
  switch (loss) {
    case 'mse': return mse(ext, s, t, { shapes });
    case 'kl_div': return klDiv(ext, s, t, { T, shapes });
    case 'token_wise_contrastive': return tokenWiseContrastive(ext, s, t, { T, shapes });
  }
}

/** Loss heads compute in float32: fp16, bf16 and double values are cast (a no-op for float32). */
function asFloat32(ext: GraphExtension, value: string, type: TensorType | undefined): string {
  return type === undefined || type.elemType === DataType.FLOAT ? value : ext.op('Cast', [value], { to: DataType.FLOAT });
}

/** The student's int64 input `name`, or a new one shaped like the logits without their class axis. */
function labelsInput(ext: GraphExtension, student: Model, name: string, logits: TensorType | undefined): string {
  const existing = student.graph.inputs.find((v) => v.name === name);
  if (existing) {
    const type = tensorTypeOf(existing.type)?.elemType;
    if (type !== DataType.INT64) throw new Error(`labels input '${name}' must be int64 class ids, it is ${type === undefined ? 'untyped' : DataType[type]}`);
    return name;
  }
  if (graphIndex(student.graph).producer.has(name) || student.graph.initializers.has(name)) {
    throw new Error(`labels '${name}' already names a value of the student that is not a graph input`);
  }
  return ext.input(name, DataType.INT64, logits?.shape?.slice(0, -1));
}

function scalar(ext: GraphExtension, hint: string, value: number): string {
  return ext.constant(hint, Tensor.scalar(DataType.FLOAT, value));
}
