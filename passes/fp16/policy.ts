// What may run in float16: the default block list, the ops onnxruntime runs in float16, the inputs that stay
// float32 parameters, and the attributes that fix an output's element type.
import type { Node } from '../../src/ir/model.js';
import { OptionError } from '../../src/passes/options.js';

/**
 * Ops kept in float32 by default. From onnxconverter-common's DEFAULT_OP_BLOCK_LIST we keep the ops whose fp16
 * results are wrong or discrete decisions flip (NonMaxSuppression, TopK, RoiAlign, Range, CumSum, the random
 * ops, Quantize/DequantizeLinear); we drop Resize/Upsample (their scales and roi stay float32 here, the data
 * converts), Min/Max (exact in fp16, native kernels) and the ai.onnx.ml ops (other domains never convert).
 * We add the accumulating reductions: a sum over a large axis overflows fp16's 65504 even when every addend and
 * the mean fit, so they accumulate in float32 (onnxruntime's CPU falls back to float32 itself, GPU kernels may
 * not), and RandomNormal/RandomUniform, which have no float16 kernel in onnxruntime at all.
 */
export const DEFAULT_OP_BLOCK_LIST: readonly string[] = [
  'NonMaxSuppression', 'TopK', 'RoiAlign', 'Range', 'CumSum', 'QuantizeLinear', 'DequantizeLinear',
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike',
  'ReduceMean', 'ReduceSum', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceProd',
];

/**
 * Default-domain ops that load and run with float16 tensors in onnxruntime-node 1.30 (CPU), with the first opset
 * at which they do (probed op by op at opsets 7-23). Only the data-movement ops, Cast, Clip/Max/Min (13+), Round,
 * Sign, Mod, LayerNormalization and the opset-23 attention ops have native float16 CPU kernels on x86; for the
 * others onnxruntime inserts Casts to float32 around the node itself, so they run but compute in float32.
 * Ops absent here stay float32: no kernel at all (RandomNormal/RandomUniform), float16 not in their schema
 * (Celu, Range, NonMaxSuppression; IsInf before 20, CumSum before 14, Q/DQ before 19), broken function
 * expansions (MeanVarianceNormalization), or not probed.
 */
const ANY = 1;
export const ORT_FLOAT16_SINCE: ReadonlyMap<string, number> = new Map([
  ...['Abs', 'Neg', 'Relu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Erf',
    'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Sign', 'Softplus',
    'Softsign', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'LeakyRelu', 'ThresholdedRelu', 'Mish', 'Gelu', 'IsNaN',
    'Shrink', 'Identity', 'Dropout', 'NonZero', 'Shape', 'Size', 'Softmax', 'LogSoftmax', 'Hardmax',
    'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mean', 'Sum', 'Mod', 'PRelu', 'Where', 'Equal', 'Less',
    'Greater', 'LessOrEqual', 'GreaterOrEqual', 'MatMul', 'Gemm', 'Einsum', 'Conv', 'ConvTranspose', 'MaxPool',
    'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool', 'MaxRoiPool', 'LRN',
    'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'LpNormalization', 'RMSNormalization',
    'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
    'ReduceLogSumExp', 'ReduceSumSquare', 'ArgMax', 'ArgMin', 'Transpose', 'Reshape', 'Flatten', 'Squeeze',
    'Unsqueeze', 'Concat', 'Split', 'Slice', 'Gather', 'GatherElements', 'GatherND', 'ScatterND', 'ScatterElements',
    'Expand', 'Tile', 'Pad', 'Resize', 'Upsample', 'DepthToSpace', 'SpaceToDepth', 'Cast', 'CastLike', 'Clip',
    'TopK', 'OneHot', 'ConstantOfShape', 'EyeLike', 'Trilu', 'Compress', 'RandomNormalLike', 'RandomUniformLike',
    'Bernoulli', 'GridSample', 'RoiAlign', 'LSTM', 'GRU', 'RNN', 'ReverseSequence', 'Det', 'Unique', 'Col2Im',
    'CenterCropPad', 'Attention', 'RotaryEmbedding'].map((op): [string, number] => [op, ANY]),
  ['IsInf', 20], ['CumSum', 14], ['QuantizeLinear', 19], ['DequantizeLinear', 19], ['GroupNormalization', 21], ['AffineGrid', 21],
]);

/** Inputs that stay float32 whatever the node runs in: parameters, not data (onnxruntime requires float scales). */
export const FLOAT32_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Resize: [1, 2], // roi, scales (opset 10: scales at 1)
  Upsample: [1], // scales
  OneHot: [0, 1], // indices and depth may be float; only `values` is data
};

/** Outputs whose type an attribute fixes at float32 (LayerNormalization's Mean / InvStdDev follow stash_type). */
export const FLOAT32_OUTPUTS: Readonly<Record<string, readonly number[]>> = {
  LayerNormalization: [1, 2],
};

/** Attributes that name an output element type: set to FLOAT16 where they say FLOAT and the node converts. */
export const DTYPE_ATTRIBUTE: Readonly<Record<string, string>> = {
  Cast: 'to', EyeLike: 'dtype', RandomNormalLike: 'dtype', RandomUniformLike: 'dtype', Bernoulli: 'dtype',
};

/**
 * Ops that only move or select elements (exact in any type): they run in whatever type their data already has,
 * so a float32 region's Reshape or Gather adds no Casts. Ops without float outputs (Shape, comparisons, ArgMax,
 * Cast to integers) behave the same way.
 */
export const MOVEMENT_OPS: ReadonlySet<string> = new Set([
  'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Concat', 'Split', 'Slice', 'Gather', 'GatherElements',
  'GatherND', 'ScatterND', 'ScatterElements', 'Expand', 'Tile', 'Identity', 'Dropout', 'DepthToSpace', 'SpaceToDepth',
  'Compress', 'ReverseSequence', 'Pad', 'Where', 'Trilu', 'Cast',
]);

/** Ops that read only their input's shape: they read a value in whatever type it has, and never need a Cast. */
export const TYPE_AGNOSTIC: ReadonlySet<string> = new Set(['Shape', 'Size']);

/** `node_block_list`: exact node names, or /regex/. */
export function nodeNameMatcher(patterns: readonly string[]): (node: Node) => boolean {
  const tests = patterns.map((p) => {
    const re = /^\/(.*)\/([a-z]*)$/.exec(p);
    if (!re) return (name: string) => name === p;
    try {
      const regex = new RegExp(re[1], re[2]);
      return (name: string) => regex.test(name);
    } catch (e) {
      throw new OptionError(`fp16: node_block_list entry ${p} is not a valid regular expression: ${(e as Error).message}`);
    }
  });
  return (node) => tests.some((t) => t(node.name));
}
