// The adapter table: for each default-domain op, every version boundary up to MAX_TARGET (a since-version in
// versions.ts other than the op's first) and how a node crosses it — compatible (the old form means the same under
// the new version: just bump), a rewrite rule (rules/opset), a kernel that rounds differently in onnxruntime (opt-in),
// or a refusal with the reason. A boundary missing from the table is an error when a model needs it, never a silent
// bump (test/opset.test.ts checks the table is complete and agrees with Operators.md).
import type { Node } from '../../src/ir/model.js';
import { attrInts, attrString } from '../../src/ir/model.js';
import type { Rule } from '../../src/rewrite/rule.js';
import {
  adaptSoftmaxAxis, axesAttrToInput, castToEnum, clipAttrsToInputs, dftAxisToInput, dropBatchnormSpatial,
  dropDropoutMask, dropGemmBroadcast, dropIsTest, dropRnnOutputSequence, dropoutRatioToInput, expandGroupNormScale,
  expandLegacyBroadcast, lpPoolPToInt, padAttrsToInputs, pinResizeCoordinates, removeConsumedInputs,
  renameGridSampleModes, renamePadPaddings, scatterToScatterElements, setConcatAxis, setRoiAlignHalfPixel,
  setSplitNumOutputs, shapeAttrToInput, sliceAttrsToInputs, splitAttrToInput, splitInputToAttr, topkKToInput,
  trimBatchnormOutputs, unbatchScan, upsampleScalesToInput, upsampleToResize,
} from '../../rules/opset/index.js';

/**
 * The newest default-domain opset the pass upgrades to. The table also classifies opset 22 (bfloat16 for ~50 ops,
 * nothing else), but onnxruntime 1.30 has no opset-22 kernel for Bernoulli, GlobalLpPool, MaxRoiPool, Multinomial,
 * Random*, RoiAlign: models with them would stop loading, so 21 is the limit.
 */
export const MAX_TARGET = 21;

export type Step =
  /** The old form means the same under the new version. `unless` names the uses that do not. */
  | { readonly kind: 'compatible'; readonly why: string; readonly unless?: (node: Node) => string | undefined }
  /** The node is rewritten into the new version's form. */
  | { readonly kind: 'rewrite'; readonly rule: Rule }
  /**
   * The same semantics, but onnxruntime runs the new version with another kernel that rounds differently (for the
   * nodes `applies` selects; the others are compatible). Crossed only when the pass may round (allclose contract).
   */
  | { readonly kind: 'rounding'; readonly why: string; readonly applies: (node: Node) => boolean }
  /** No exact rewrite: the upgrade stops with `why`. */
  | { readonly kind: 'refuse'; readonly why: string };

const compatible = (why: string, unless?: (node: Node) => string | undefined): Step => ({ kind: 'compatible', why, ...(unless ? { unless } : {}) });
const rewrite = (rule: Rule): Step => ({ kind: 'rewrite', rule });
const refuse = (why: string): Step => ({ kind: 'refuse', why });

const TYPES = compatible('type-only: more element types');
const NEGATIVE_AXES = compatible('negative axes (or indices) now allowed; valid old uses mean the same');
const defaults = (attrs: string): Step => compatible(`new attribute(s) ${attrs} whose default is the old behavior`);
const WORDING = compatible('specification reworded; same semantics');

const CONSUMED = rewrite(removeConsumedInputs);
const LEGACY_BROADCAST = rewrite(expandLegacyBroadcast);
const VARIADIC_BROADCAST = compatible('numpy broadcasting of the inputs; equal shapes (the old requirement) mean the same');

type Table = Readonly<Record<string, Readonly<Record<number, Step>>>>;

const same = (ops: readonly string[], steps: Readonly<Record<number, Step>>): Table => Object.fromEntries(ops.map((o) => [o, steps]));

export const ADAPTERS: Table = {
  ...same(['Abs', 'Ceil', 'Exp', 'Floor', 'Log', 'Neg', 'Reciprocal', 'Sigmoid', 'Sqrt', 'Tanh'], { 6: CONSUMED, 13: TYPES }),
  Relu: { 6: CONSUMED, 13: TYPES, 14: TYPES },
  ...same(['Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Cos', 'Cosh', 'Sin', 'Sinh', 'Tan'], { 22: TYPES }),
  ...same(['Add', 'Sub', 'Mul', 'Div'], { 6: CONSUMED, 7: LEGACY_BROADCAST, 13: TYPES, 14: TYPES }),
  ...same(['And', 'Or', 'Xor'], { 7: LEGACY_BROADCAST }),
  Equal: { 7: LEGACY_BROADCAST, 11: TYPES, 13: TYPES, 19: TYPES },
  ...same(['Greater', 'Less'], { 7: LEGACY_BROADCAST, 9: TYPES, 13: TYPES }),
  Pow: { 7: LEGACY_BROADCAST, 12: TYPES, 13: TYPES, 15: TYPES },
  ...same(['ArgMax', 'ArgMin'], { 11: NEGATIVE_AXES, 12: defaults('select_last_index=0'), 13: TYPES }),
  AveragePool: {
    7: defaults('count_include_pad=0'), 10: defaults('ceil_mode=0'), 11: WORDING,
    // Measured: 2-D pooling differs in the last bit from AveragePool-18 (MLAS) in onnxruntime 1.30; 1-D does not.
    19: {
      kind: 'rounding', applies: (n) => (attrInts(n, 'kernel_shape')?.length ?? 2) >= 2,
      why: 'AveragePool-19 (new attribute dilations=1) runs in onnxruntime on a kernel that rounds 2-D/3-D averages differently from AveragePool-11..18',
    },
    22: TYPES,
  },
  BatchNormalization: {
    6: CONSUMED, 7: rewrite(dropIsTest), 9: rewrite(dropBatchnormSpatial), 14: rewrite(trimBatchnormOutputs),
    15: compatible('type-only: scale/bias and mean/var may differ in type from X'),
  },
  Bernoulli: { 22: TYPES },
  Cast: { 6: rewrite(castToEnum), 9: compatible('casts from and to string added'), 13: TYPES, 19: defaults('saturate=1 (float8 targets only)'), 21: TYPES },
  CastLike: { 19: defaults('saturate=1 (float8 targets only)'), 21: TYPES },
  Clip: { 6: CONSUMED, 11: rewrite(clipAttrsToInputs), 12: TYPES, 13: TYPES },
  Compress: { 11: NEGATIVE_AXES },
  Concat: { 4: rewrite(setConcatAxis), 11: NEGATIVE_AXES, 13: TYPES },
  Constant: { 9: TYPES, 11: compatible('sparse_value added'), 12: compatible('value_float(s)/int(s)/string(s) added'), 13: TYPES, 19: TYPES, 21: TYPES },
  ConstantOfShape: { 20: TYPES, 21: TYPES },
  ...same(['Conv', 'ConvTranspose'], { 11: WORDING, 22: TYPES }),
  CumSum: { 14: TYPES },
  DFT: { 20: rewrite(dftAxisToInput) },
  DeformConv: { 22: TYPES },
  DepthToSpace: { 11: defaults('mode=DCR'), 13: TYPES },
  DequantizeLinear: { 13: defaults('axis=1 (per-axis scales added)'), 19: TYPES, 21: defaults('block_size=0') },
  Det: { 22: TYPES },
  Dropout: { 6: CONSUMED, 7: rewrite(dropIsTest), 10: rewrite(dropDropoutMask), 12: rewrite(dropoutRatioToInput), 13: TYPES, 22: TYPES },
  ...same(['Elu', 'HardSigmoid', 'Selu'], { 6: CONSUMED, 22: TYPES }),
  Erf: { 13: TYPES },
  Expand: { 13: TYPES },
  EyeLike: { 22: TYPES },
  Flatten: { 9: TYPES, 11: NEGATIVE_AXES, 13: TYPES, 21: TYPES },
  GRU: { 3: defaults('linear_before_reset=0'), 7: rewrite(dropRnnOutputSequence), 14: defaults('layout=0'), 22: TYPES },
  ...same(['LSTM', 'RNN'], { 7: rewrite(dropRnnOutputSequence), 14: defaults('layout=0'), 22: TYPES }),
  Gather: { 11: NEGATIVE_AXES, 13: TYPES },
  GatherElements: { 13: TYPES },
  GatherND: { 12: defaults('batch_dims=0'), 13: TYPES },
  Gemm: { 6: WORDING, 7: rewrite(dropGemmBroadcast), 9: TYPES, 11: compatible('C became optional'), 13: TYPES },
  ...same(['GlobalAveragePool', 'GlobalMaxPool'], { 22: TYPES }),
  GlobalLpPool: { 2: rewrite(lpPoolPToInt), 22: TYPES },
  LpPool: { 2: rewrite(lpPoolPToInt), 11: WORDING, 18: defaults('ceil_mode=0, dilations=1'), 22: TYPES },
  ...same(['GreaterOrEqual', 'LessOrEqual'], { 16: TYPES }),
  GridSample: { 20: rewrite(renameGridSampleModes), 22: TYPES },
  GroupNormalization: { 21: rewrite(expandGroupNormScale) },
  HardSwish: { 22: TYPES },
  ...same(['Softmax', 'LogSoftmax', 'Hardmax'], { 11: NEGATIVE_AXES, 13: rewrite(adaptSoftmaxAxis) }),
  Identity: { 13: TYPES, 14: compatible('sequence types added'), 16: compatible('optional types added'), 19: TYPES, 21: TYPES },
  If: { 11: compatible('branches may yield different shapes'), 13: compatible('sequence types added'), 16: compatible('optional types added'), 19: TYPES, 21: TYPES },
  Loop: { 11: compatible('loop-carried values may change shape'), 13: compatible('sequence types added'), 16: compatible('optional types added'), 19: TYPES, 21: TYPES },
  InstanceNormalization: { 6: CONSUMED, 22: TYPES },
  IsInf: { 20: TYPES },
  IsNaN: { 13: TYPES, 20: TYPES },
  LRN: { 13: TYPES },
  LeakyRelu: { 6: CONSUMED, 16: TYPES },
  LpNormalization: { 22: TYPES },
  MatMul: { 9: TYPES, 13: TYPES },
  ...same(['Max', 'Min'], { 6: CONSUMED, 8: VARIADIC_BROADCAST, 12: TYPES, 13: TYPES }),
  ...same(['Mean', 'Sum'], { 6: CONSUMED, 8: VARIADIC_BROADCAST, 13: TYPES }),
  MaxPool: { 8: defaults('storage_order=0 (and the optional Indices output)'), 10: defaults('ceil_mode=0, dilations=1'), 11: WORDING, 12: TYPES, 22: TYPES },
  MaxRoiPool: { 22: TYPES },
  MaxUnpool: { 11: WORDING, 22: TYPES },
  MeanVarianceNormalization: { 13: TYPES },
  Mish: { 22: TYPES },
  Mod: { 13: TYPES },
  Multinomial: { 22: TYPES },
  NegativeLogLikelihoodLoss: { 13: TYPES, 22: TYPES },
  NonMaxSuppression: { 11: WORDING },
  NonZero: { 13: TYPES },
  OneHot: { 11: NEGATIVE_AXES },
  ...same(['OptionalGetElement', 'OptionalHasElement'], { 18: compatible('also accept plain tensors') }),
  PRelu: { 6: CONSUMED, 7: compatible('slope broadcasts to X (unidirectional)'), 9: TYPES, 16: TYPES },
  Pad: {
    2: rewrite(renamePadPaddings), 11: rewrite(padAttrsToInputs), 13: TYPES, 18: defaults('axes input (all axes)'),
    19: compatible("'wrap' mode added"), 21: TYPES,
  },
  QLinearMatMul: { 21: TYPES },
  QuantizeLinear: { 13: defaults('axis=1 (per-axis scales added)'), 19: defaults('saturate=1 (float8 only)'), 21: defaults('block_size=0, output_dtype=0') },
  ...same(['RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike'], { 22: TYPES }),
  ...same(['ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMean', 'ReduceProd', 'ReduceSumSquare'], {
    11: NEGATIVE_AXES, 13: TYPES, 18: rewrite(axesAttrToInput),
  }),
  ...same(['ReduceMax', 'ReduceMin'], { 11: NEGATIVE_AXES, 12: TYPES, 13: TYPES, 18: rewrite(axesAttrToInput), 20: TYPES }),
  ReduceSum: { 11: NEGATIVE_AXES, 13: rewrite(axesAttrToInput) },
  Reshape: { 5: rewrite(shapeAttrToInput), 13: TYPES, 14: defaults('allowzero=0'), 19: TYPES, 21: TYPES },
  Resize: {
    11: rewrite(pinResizeCoordinates),
    13: compatible('roi and scales became optional; tf_half_pixel_for_nn was removed', (n) =>
      attrString(n, 'coordinate_transformation_mode') === 'tf_half_pixel_for_nn' ? 'coordinate_transformation_mode tf_half_pixel_for_nn was removed in opset 13' : undefined),
    18: defaults('antialias=0, axes (all), keep_aspect_ratio_policy=stretch'),
    19: compatible("coordinate mode 'half_pixel_symmetric' added"),
  },
  RoiAlign: { 16: rewrite(setRoiAlignHalfPixel), 22: TYPES },
  Round: { 22: TYPES },
  Scan: {
    9: rewrite(unbatchScan),
    11: NEGATIVE_AXES, 16: TYPES, 19: TYPES, 21: TYPES,
  },
  Scatter: { 11: rewrite(scatterToScatterElements) },
  ...same(['ScatterElements', 'ScatterND'], { 13: TYPES, 16: defaults('reduction=none'), 18: compatible('reductions max/min added') }),
  Shape: { 13: TYPES, 15: defaults('start=0, end=rank'), 19: TYPES, 21: TYPES },
  Sign: { 13: TYPES },
  Size: { 13: TYPES, 19: TYPES, 21: TYPES },
  Slice: { 10: rewrite(sliceAttrsToInputs), 11: NEGATIVE_AXES, 13: TYPES },
  SoftmaxCrossEntropyLoss: { 13: TYPES },
  ...same(['Softplus', 'Softsign', 'ThresholdedRelu'], { 22: TYPES }),
  SpaceToDepth: { 13: TYPES },
  Split: { 2: rewrite(splitInputToAttr), 11: NEGATIVE_AXES, 13: rewrite(splitAttrToInput), 18: rewrite(setSplitNumOutputs) },
  ...same(['Squeeze', 'Unsqueeze'], { 11: NEGATIVE_AXES, 13: rewrite(axesAttrToInput), 21: TYPES }),
  Tile: { 6: refuse('Tile-1 repeated along one axis given as inputs (tiles, axis); no rewrite is implemented'), 13: TYPES },
  TopK: { 10: rewrite(topkKToInput), 11: defaults('largest=1, sorted=1; negative axis allowed') },
  Transpose: { 13: TYPES, 21: TYPES },
  Upsample: {
    7: refuse('Upsample-1 is experimental (height_scale/width_scale, bilinear mode)'),
    9: rewrite(upsampleScalesToInput), 10: rewrite(upsampleToResize),
  },
  Where: { 16: TYPES },
};
