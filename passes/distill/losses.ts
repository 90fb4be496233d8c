// Loss heads for distillation and training: each appends ONNX nodes through a GraphExtension and returns the name
// of a float32 scalar. Only ops a reverse-mode gradient builder can differentiate are used (MatMul, Add/Sub/Mul/Div,
// Softmax/LogSoftmax, ReduceSum/ReduceMean, Exp/Log, Sqrt, Neg, Transpose/Unsqueeze, Gather/GatherElements), in
// their opset-13+ form: ReduceSum and Unsqueeze take axes as an input, and ReduceMean is only used over all axes
// (no axes at all), which reads the same in every opset. The caller makes sure the model imports opset >= 13.
import { DataType } from '../../src/ir/dtype.js';
import type { GraphExtension } from '../../src/ir/extend.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { Dim } from '../../src/ir/types.js';

/** Static shapes of a loss's two inputs where known: mismatches then fail here, in one line, not at run time. */
export type PairShapes = readonly [readonly Dim[] | undefined, readonly Dim[] | undefined];

export interface CrossEntropyOptions {
  /** The class axis of the logits. */
  readonly axis?: number;
}

export interface KlDivOptions {
  /** Softmax temperature: both distributions are softmax(logits / T). */
  readonly T?: number;
  readonly axis?: number;
  readonly shapes?: PairShapes;
}

export interface MseOptions {
  readonly shapes?: PairShapes;
}

export interface TokenWiseContrastiveOptions {
  /** Temperature dividing the cosine similarities. */
  readonly T?: number;
  /** Rank of the features, 3 for [B, S, D] or 2 for [N, D]; taken from `shapes` when omitted. */
  readonly rank?: 2 | 3;
  readonly shapes?: PairShapes;
}

/** Added to squared norms before the square root, so all-zero feature rows normalize to 0, not NaN. */
const NORM_EPSILON = 1e-12;

/**
 * Mean hard-label cross-entropy: -mean over positions of log_softmax(logits)[label]. `labels` holds int64 class ids
 * in the shape of `logits` without the class axis. LogSoftmax + GatherElements rather than SoftmaxCrossEntropyLoss
 * or NegativeLogLikelihoodLoss: a gradient builder then needs no rule for those fused ops (GatherElements' gradient
 * is a ScatterElements of the incoming gradient), and GatherElements needs no class count, unlike a OneHot mask.
 */
export function crossEntropy(ext: GraphExtension, logits: string, labels: string, options: CrossEntropyOptions = {}): string {
  const axis = options.axis ?? -1;
  const logProbs = ext.op('LogSoftmax', [logits], { axis });
  // The labels gain the class axis back (size 1), so GatherElements picks one log-probability per position.
  const index = ext.op('Unsqueeze', [labels, int64s(ext, 'ce/axis', [axis])]);
  const picked = ext.op('GatherElements', [logProbs, index], { axis });
  return ext.op('Neg', [meanOfAll(ext, picked)]);
}

/**
 * KL(teacher_T || student_T) between softmax(teacher / T) and softmax(student / T) along `axis`, averaged over all
 * other positions (batch, sequence) and scaled by T² so gradients keep their size as T changes (Hinton et al.).
 */
export function klDiv(ext: GraphExtension, studentLogits: string, teacherLogits: string, options: KlDivOptions = {}): string {
  const T = options.T ?? 1;
  const axis = options.axis ?? -1;
  assertSameShape('kl_div', studentLogits, teacherLogits, options.shapes);
  assertTemperature('kl_div', T);
  const soften = (x: string): string => (T === 1 ? x : ext.op('Div', [x, float(ext, 'kl/T', T)]));
  const studentLogProbs = ext.op('LogSoftmax', [soften(studentLogits)], { axis });
  const teacherLogProbs = ext.op('LogSoftmax', [soften(teacherLogits)], { axis });
  // p_t from its log: one softmax evaluation, and p_t · (log p_t − log p_s) is exactly 0 where p_t underflows.
  const teacherProbs = ext.op('Exp', [teacherLogProbs]);
  const pointwise = ext.op('Mul', [teacherProbs, ext.op('Sub', [teacherLogProbs, studentLogProbs])]);
  const perPosition = ext.op('ReduceSum', [pointwise, int64s(ext, 'kl/axis', [axis])], { keepdims: 0 });
  const mean = meanOfAll(ext, perPosition);
  return T === 1 ? mean : ext.op('Mul', [mean, float(ext, 'kl/T_squared', T * T)]);
}

/** Mean squared error over all elements. */
export function mse(ext: GraphExtension, a: string, b: string, options: MseOptions = {}): string {
  assertSameShape('mse', a, b, options.shapes);
  const diff = ext.op('Sub', [a, b]);
  return meanOfAll(ext, ext.op('Mul', [diff, diff]));
}

/**
 * Token-wise InfoNCE: within each sequence, student token i should be most similar to teacher token i among all
 * teacher tokens. Features [B, S, D] (or [N, D], one sequence) are L2-normalized along D; sim[b,i,j] =
 * <s_bi, t_bj> / T; the loss is the mean over (b, i) of logsumexp_j sim[b,i,j] − sim[b,i,i], i.e. cross-entropy of
 * each row against its diagonal. Its minimum over teachers is not 0: with identical features it is
 * mean(logsumexp − 1/T), between 0 and log S. Student and teacher widths must match (no projection yet).
 */
export function tokenWiseContrastive(ext: GraphExtension, studentFeat: string, teacherFeat: string, options: TokenWiseContrastiveOptions = {}): string {
  const T = options.T ?? 1;
  assertTemperature('token_wise_contrastive', T);
  const [sShape, tShape] = options.shapes ?? [undefined, undefined];
  const rank = options.rank ?? sShape?.length ?? tShape?.length;
  if (rank !== 2 && rank !== 3) {
    throw new Error(`token_wise_contrastive takes features of rank 2 ([N, D]) or 3 ([B, S, D]), ${rank === undefined ? `and the rank of '${studentFeat}' is unknown (pass rank or shapes)` : `'${studentFeat}' has rank ${rank}`}`);
  }
  const sWidth = sShape?.[rank - 1], tWidth = tShape?.[rank - 1];
  if (typeof sWidth === 'number' && typeof tWidth === 'number' && sWidth !== tWidth) {
    throw new Error(`token_wise_contrastive needs equal feature widths: student '${studentFeat}' has ${sWidth}, teacher '${teacherFeat}' has ${tWidth} (no projection layer yet)`);
  }
  assertSameShape('token_wise_contrastive', studentFeat, teacherFeat, options.shapes);
  const lastAxis = int64s(ext, 'contrastive/axis', [-1]);
  const normalize = (x: string): string => {
    const squaredNorm = ext.op('ReduceSum', [ext.op('Mul', [x, x]), lastAxis], { keepdims: 1 });
    return ext.op('Div', [x, ext.op('Sqrt', [ext.op('Add', [squaredNorm, float(ext, 'contrastive/epsilon', NORM_EPSILON)])])]);
  };
  const student = normalize(studentFeat), teacher = normalize(teacherFeat);
  const invT = float(ext, 'contrastive/inv_T', 1 / T);
  const teacherT = ext.op('Transpose', [teacher], { perm: rank === 3 ? [0, 2, 1] : [1, 0] });
  const sim = ext.op('Mul', [ext.op('MatMul', [student, teacherT]), invT]);
  // The diagonal as a row-wise dot product: no S×S mask, so the sequence length may stay dynamic.
  const positive = ext.op('Mul', [ext.op('ReduceSum', [ext.op('Mul', [student, teacher]), lastAxis], { keepdims: 0 }), invT]);
  // logsumexp_j sim[i,j] = sim[i,j] − log_softmax(sim)[i,j] for any j; column 0 always exists. LogSoftmax keeps it
  // stable for small T without a ReduceMax (which has no simple gradient).
  const logSumExp = ext.op('Gather', [ext.op('Sub', [sim, ext.op('LogSoftmax', [sim], { axis: -1 })]), int64Scalar(ext, 'contrastive/first', 0)], { axis: -1 });
  return meanOfAll(ext, ext.op('Sub', [logSumExp, positive]));
}

/** Mean over every element to a scalar: ReduceMean with no axes means all axes in every opset. */
function meanOfAll(ext: GraphExtension, x: string): string {
  return ext.op('ReduceMean', [x], { keepdims: 0 });
}

function float(ext: GraphExtension, hint: string, value: number): string {
  return ext.constant(hint, Tensor.scalar(DataType.FLOAT, value));
}

function int64s(ext: GraphExtension, hint: string, values: readonly number[]): string {
  return ext.constant(hint, Tensor.fromArray(DataType.INT64, [values.length], BigInt64Array.from(values, (v) => BigInt(v))));
}

function int64Scalar(ext: GraphExtension, hint: string, value: number): string {
  return ext.constant(hint, Tensor.scalar(DataType.INT64, value));
}

function assertTemperature(loss: string, T: number): void {
  if (!(T > 0) || !Number.isFinite(T)) throw new Error(`${loss} needs a temperature T > 0, got ${T}`);
}

function assertSameShape(loss: string, a: string, b: string, shapes: PairShapes | undefined): void {
  const [sa, sb] = shapes ?? [undefined, undefined];
  if (!sa || !sb) return;
  const clash = sa.length !== sb.length || sa.some((d, i) => typeof d === 'number' && typeof sb[i] === 'number' && d !== sb[i]);
  if (clash) throw new Error(`${loss} compares '${a}' [${sa.map(String)}] with '${b}' [${sb.map(String)}]: the shapes differ`);
}
