// A FLOPs estimate from inferred shapes, for `onnx-slim inspect` and for judging what pruning saves.
//
// Counting: a multiply-accumulate is 2 FLOPs (MatMul, Gemm, Conv and their quantized/contrib forms: 2·MACs, plus
// one per output element for a bias). Elementwise ops count 1 per output element (QuantizeLinear and
// DequantizeLinear included). Normalisations and Softmax count a small constant per element (SOFTMAX_PER_ELEMENT,
// NORM_PER_ELEMENT, BATCHNORM_PER_ELEMENT: the passes an implementation makes over the data). Pooling counts
// one per window element per output (global pooling and reductions: one per input element). Data movement
// (Reshape, Transpose, Gather, Concat, Cast, ...) is free. Requantisation arithmetic inside QLinear* ops is not
// counted. A subgraph (If branch, Loop/Scan body) is counted once, as if called once.
import type { Graph, Model, Node } from '../ir/model.js';
import { attrInt, attrInts, subgraphsOf } from '../ir/model.js';
import { type Dim, type TensorType, makeTensorType, tensorTypeOf } from '../ir/types.js';
import { inferGraphTypes } from '../shape/index.js';

export interface FlopsOptions {
  /** Sizes for symbolic dims (e.g. `{ batch: 1, seq: 128 }`); a symbol not given counts as 1. */
  readonly dims?: Readonly<Record<string, number>>;
}

export interface FlopsEstimate {
  readonly total: number;
  /** Op type (domain-qualified outside ai.onnx, as `inspect` names them) → FLOPs; ops that cost nothing are left out. */
  readonly byOp: Record<string, number>;
  /** First output name of each counted node of the main graph → its FLOPs (what pruning reports per group). */
  readonly byNode: ReadonlyMap<string, number>;
  /** Nodes not counted: a shape the estimate needs stayed unknown, or the op has no FLOPs rule. */
  readonly unknown: { op: string; node: string; reason: string }[];
  /** Symbolic dims met that `dims` did not size: each was taken as 1. */
  readonly defaultedDims: string[];
}

export const SOFTMAX_PER_ELEMENT = 5; // max, subtract, exp, sum, divide
export const NORM_PER_ELEMENT = 8; //    mean, subtract, square, sum, scale by 1/σ, ×γ, +β, and the residual pass
export const BATCHNORM_PER_ELEMENT = 2; // inference form: one multiply-add per element

/** Cost 1 per output element. */
const ELEMENTWISE = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'PRelu', 'BitShift',
  'Abs', 'Neg', 'Reciprocal', 'Sqrt', 'Exp', 'Log', 'Erf', 'Sign', 'Floor', 'Ceil', 'Round',
  'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Tanh', 'Asinh', 'Acosh', 'Atanh',
  'Relu', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu', 'Gelu', 'FastGelu', 'BiasGelu',
  'Softplus', 'Softsign', 'Mish', 'ThresholdedRelu', 'Clip', 'IsNaN', 'IsInf',
  'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not',
  'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'Resize', 'Upsample',
]);

/** Cost 0: data movement and shape arithmetic. */
const FREE = new Set([
  'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Concat', 'Split', 'Slice', 'Gather', 'GatherElements',
  'GatherND', 'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Identity', 'Cast', 'CastLike', 'Expand', 'Tile', 'Pad',
  'Range', 'Dropout', 'NonZero', 'ScatterND', 'ScatterElements', 'DepthToSpace', 'SpaceToDepth', 'If', 'Loop', 'Scan',
  'SequenceConstruct', 'SequenceAt', 'SequenceEmpty', 'SequenceInsert', 'SplitToSequence', 'ConcatFromSequence',
  'EyeLike', 'OneHot', 'Trilu', 'ReverseSequence', 'Compress',
]);

const REDUCE = new Set([
  'ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceSumSquare', 'ArgMax', 'ArgMin', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool',
]);

const NORMS = new Set(['LayerNormalization', 'InstanceNormalization', 'GroupNormalization', 'SimplifiedLayerNormalization',
  'SkipLayerNormalization', 'SkipSimplifiedLayerNormalization', 'LpNormalization', 'MeanVarianceNormalization']);

/** Thrown inside a rule when a shape it needs is unknown; turned into an `unknown` entry. */
class UnknownShape extends Error {}

interface Ctx {
  readonly node: Node;
  /** Static shape of the node's i-th input / output, symbols substituted; throws UnknownShape. */
  inShape(i: number): number[];
  outShape(i?: number): number[];
  hasInput(i: number): boolean;
}

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** 2·MACs of a (batched, broadcasting) matmul with inner dim K, plus a bias per output element. */
function matmul(c: Ctx, a: number, b: number, bias = -1, k?: number): number {
  const y = numel(c.outShape());
  const inner = k ?? c.inShape(a).at(-1)!;
  if (k === undefined) c.inShape(b); // the weight's shape must be known too
  return 2 * y * inner + (bias >= 0 && c.hasInput(bias) ? y : 0);
}

/** Conv: every output element is a dot product over (C_in / group) × kernel; strides and dilations act through Y's shape. */
function conv(c: Ctx, w: number, bias: number): number {
  const y = numel(c.outShape());
  const ws = c.inShape(w);
  return 2 * y * numel(ws.slice(1)) + (bias >= 0 && c.hasInput(bias) ? y : 0);
}

/** ConvTranspose: every input element is scattered into (C_out / group) × kernel outputs. */
function convTranspose(c: Ctx): number {
  const x = numel(c.inShape(0));
  const ws = c.inShape(1);
  return 2 * x * numel(ws.slice(1)) + (c.hasInput(2) ? numel(c.outShape()) : 0);
}

/** Attention / QAttention: Q, K, V projections of [B, S, D], then QKᵀ, Softmax and P·V per head (no past state). */
function attention(c: Ctx): number {
  const [b, s, d] = c.inShape(0);
  const sizes = attrInts(c.node, 'qkv_hidden_sizes');
  const total = c.inShape(1).at(-1)!;
  const [hq, , hv] = sizes ?? [total / 3, total / 3, total / 3];
  const heads = attrInt(c.node, 'num_heads', 1);
  const tokens = b * s;
  const projections = 2 * tokens * d * total + (c.hasInput(2) ? tokens * total : 0);
  const scores = 2 * b * s * s * hq + SOFTMAX_PER_ELEMENT * b * heads * s * s;
  return projections + scores + 2 * b * s * s * hv;
}

function pool(c: Ctx): number {
  const kernel = attrInts(c.node, 'kernel_shape');
  if (!kernel) throw new UnknownShape('no kernel_shape');
  return numel(c.outShape()) * numel(kernel);
}

type Rule = (c: Ctx) => number;

/** Keyed by `domain:Op` ('' for ai.onnx). */
const RULES: Record<string, Rule> = {
  ':MatMul': (c) => matmul(c, 0, 1),
  ':Gemm': (c) => {
    const a = c.inShape(0);
    c.inShape(1);
    const k = attrInt(c.node, 'transA', 0) ? a[0] : a[1];
    return matmul(c, 0, 1, 2, k);
  },
  ':MatMulInteger': (c) => matmul(c, 0, 1),
  ':QLinearMatMul': (c) => matmul(c, 0, 3),
  ':Conv': (c) => conv(c, 1, 2),
  ':ConvInteger': (c) => conv(c, 1, -1),
  ':QLinearConv': (c) => conv(c, 3, 8),
  ':ConvTranspose': convTranspose,
  'com.microsoft:MatMulIntegerToFloat': (c) => matmul(c, 0, 1, 6),
  'com.microsoft:DynamicQuantizeMatMul': (c) => matmul(c, 0, 1, 4),
  'com.microsoft:MatMulNBits': (c) => {
    const k = attrInt(c.node, 'K');
    if (k === undefined) throw new UnknownShape('no K attribute');
    return matmul(c, 0, 1, 5, k);
  },
  'com.microsoft:QLinearConv': (c) => conv(c, 3, 8),
  'com.microsoft:Attention': attention,
  'com.microsoft:QAttention': attention,
  ':Softmax': (c) => SOFTMAX_PER_ELEMENT * numel(c.outShape()),
  ':LogSoftmax': (c) => SOFTMAX_PER_ELEMENT * numel(c.outShape()),
  ':BatchNormalization': (c) => BATCHNORM_PER_ELEMENT * numel(c.outShape()),
  ':MaxPool': pool,
  ':AveragePool': pool,
  ':LpPool': pool,
  ':Einsum': () => { throw new UnknownShape('Einsum is not estimated'); },
};

function ruleFor(node: Node): Rule | 'free' | undefined {
  const domain = node.domain === 'ai.onnx' ? '' : node.domain;
  const rule = RULES[`${domain}:${node.opType}`];
  if (rule) return rule;
  const op = node.opType;
  // The plain ONNX names also cover their com.microsoft twins (Gelu, SkipLayerNormalization, ...).
  if (domain !== '' && domain !== 'com.microsoft') return undefined;
  if (ELEMENTWISE.has(op)) return (c) => numel(c.outShape());
  if (NORMS.has(op)) return (c) => NORM_PER_ELEMENT * numel(c.outShape());
  if (REDUCE.has(op)) return (c) => numel(c.inShape(0));
  if (FREE.has(op)) return 'free';
  return undefined;
}

const opKey = (n: Node): string => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType);

/**
 * Estimated FLOPs of one run of `model` (see the header: 2 FLOPs per multiply-accumulate, small constants for
 * normalisations, subgraphs counted once). Symbolic dims take their size from `options.dims`, else 1 (listed in
 * `defaultedDims`); nodes whose needed shapes stay unknown are listed in `unknown` and add nothing.
 */
export function estimateFlops(model: Model, options: FlopsOptions = {}): FlopsEstimate {
  const dims = options.dims ?? {};
  const byOp = new Map<string, number>();
  const byNode = new Map<string, number>();
  const unknown: FlopsEstimate['unknown'] = [];
  const defaulted = new Set<string>();

  const size = (d: Dim, what: string): number => {
    if (typeof d === 'number') return d;
    if (typeof d === 'string') {
      const v = dims[d];
      if (v !== undefined) return v;
      defaulted.add(d);
      return 1;
    }
    throw new UnknownShape(`a dim of ${what} is unknown`);
  };

  const visit = (graph: Graph, outer?: ReadonlyMap<string, TensorType>): void => {
    const inferred = inferGraphTypes(graph, model.opsetImport, model.irVersion, outer).types;
    const declared = new Map<string, TensorType>();
    for (const vi of [...graph.valueInfo, ...graph.outputs]) {
      const t = tensorTypeOf(vi.type);
      if (t?.shape) declared.set(vi.name, t);
    }
    const typeOf = (name: string): TensorType | undefined => {
      const t = inferred.get(name);
      return t?.shape ? t : declared.get(name) ?? t ?? outer?.get(name);
    };
    const shapeOf = (name: string | undefined): number[] => {
      if (!name) throw new UnknownShape('a needed input is missing');
      const s = typeOf(name)?.shape;
      if (!s) throw new UnknownShape(`shape of ${name} is unknown`);
      return s.map((d) => size(d, name));
    };
    for (const node of graph.nodes) {
      const rule = ruleFor(node);
      if (rule === undefined) unknown.push({ op: opKey(node), node: node.name, reason: 'no FLOPs rule' });
      else if (rule !== 'free') {
        const ctx: Ctx = {
          node,
          inShape: (i) => shapeOf(node.inputs[i]),
          outShape: (i = 0) => shapeOf(node.outputs[i]),
          hasInput: (i) => (node.inputs[i] ?? '') !== '',
        };
        // Symbols are recorded as defaulted only when the node's estimate succeeds.
        const before = new Set(defaulted);
        try {
          const flops = rule(ctx);
          if (flops > 0) byOp.set(opKey(node), (byOp.get(opKey(node)) ?? 0) + flops);
          if (flops > 0 && outer === undefined) byNode.set(node.outputs[0], flops);
        } catch (e) {
          if (!(e instanceof UnknownShape)) throw e;
          defaulted.clear();
          for (const s of before) defaulted.add(s);
          unknown.push({ op: opKey(node), node: node.name, reason: e.message });
        }
      }
      const subgraphs = subgraphsOf(node);
      if (subgraphs.length) {
        // Subgraphs see the enclosing scope's values.
        const scope = new Map(outer);
        for (const [k, t] of inferred) scope.set(k, t);
        for (const s of subgraphs) visit(s, scope);
      }
    }
  };
  // Sizing the graph inputs' symbols before inference lets windowed ops (Conv, pooling) get static output shapes.
  const inputs = model.graph.inputs.map((vi) => {
    const t = tensorTypeOf(vi.type);
    if (!t?.shape?.some((d) => typeof d === 'string')) return vi;
    return { ...vi, type: makeTensorType(t.elemType, t.shape.map((d) => (typeof d === 'string' ? size(d, vi.name) : d))) };
  });
  visit({ ...model.graph, inputs });

  const sorted = [...byOp].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return {
    total: sorted.reduce((a, [, v]) => a + v, 0),
    byOp: Object.fromEntries(sorted),
    byNode,
    unknown,
    defaultedDims: [...defaulted].sort(),
  };
}

/** `1.23 GFLOPs (symbolic dims as 1; 3 ops of unknown shape)` */
export function formatFlops(f: FlopsEstimate): string {
  const units: Array<[number, string]> = [[1e12, 'TFLOPs'], [1e9, 'GFLOPs'], [1e6, 'MFLOPs'], [1e3, 'KFLOPs']];
  const [scale, unit] = units.find(([s]) => f.total >= s) ?? [1, 'FLOPs'];
  const notes: string[] = [];
  if (f.defaultedDims.length) notes.push(`symbolic dims as 1: ${f.defaultedDims.join(', ')}`);
  const shapes = f.unknown.filter((u) => u.reason !== 'no FLOPs rule').length;
  const noRule = f.unknown.length - shapes;
  if (shapes) notes.push(`${shapes} op${shapes === 1 ? '' : 's'} of unknown shape`);
  if (noRule) notes.push(`${noRule} op${noRule === 1 ? '' : 's'} without a FLOPs rule`);
  return `${(f.total / scale).toFixed(scale === 1 ? 0 : 2)} ${unit}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}
