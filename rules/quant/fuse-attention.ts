// Multi-head self-attention written op by op (Q/K/V linears → Reshape to heads → Transpose → QKᵀ → scale →
// [causal mask] → Softmax → ·V → Transpose → Reshape) becomes onnxruntime's com.microsoft.Attention, or, with
// dynamic quantization, com.microsoft.QAttention: one integer Q/K/V GEMM and the attention itself in one kernel,
// instead of three integer GEMMs, two batched float MatMuls, a Softmax and four Transpose + Reshape pairs.
// Static mode fuses to float Attention first, calibrates its input, then quant/static-quantize-attention makes
// it a QAttention with that range.
import { produce } from 'immer';
import { defineRule, RuleSet, type Rule, type RuleContext } from '../../src/rewrite/rule.js';
import { constant, op, v, type Match, type NodePattern } from '../../src/rewrite/pattern.js';
import { applyRules, type DriverOptions, type RewriteStats } from '../../src/rewrite/driver.js';
import { attrInt, attrInts, opsetVersion, type Model, type Node } from '../../src/ir/model.js';
import { graphIndex } from '../../src/ir/analysis.js';
import { attr, type AttributeInput } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { quantizeWeight, type QuantizedWeight } from '../../src/quant/weights.js';
import { concatColumns } from './merge-sibling-matmuls.js';

export interface FuseAttentionOptions {
  /**
   * QAttention: Q/K/V weights int8 (activations quantized at run time) inside the fused node; Attention: all float;
   * MultiHeadAttention: the Q/K/V linears stay (for the MatMul rules to quantize), only attention itself is fused.
   */
  readonly form: 'QAttention' | 'Attention' | 'MultiHeadAttention';
  /** Quantized: one weight scale per output column (else one per Q, K and V weight). */
  readonly perChannel: boolean;
  readonly excluded: (node: Node) => boolean;
}

const MS = 'com.microsoft';
/** Additive mask values at or below this drop a score as surely as onnxruntime's own mask value (-10000). */
const DROPPED = -1e4;

/** Heads of one projection: Transpose(Reshape(proj, [0, 0, heads, head_size])). */
const heads = (name: 'q' | 'k' | 'v'): NodePattern =>
  op('Transpose', [op('Reshape', [v(`${name}Proj`), constant(`${name}Shape`)], { bind: `${name}Reshape`, singleUse: true })],
    { bind: `${name}Heads`, singleUse: true });

/** The attention block, rooted at the Reshape that merges the heads back; `masked`: a mask is added to the scores. */
function attentionPattern(masked: boolean): NodePattern {
  const scaled = op(['Div', 'Mul'], [op('MatMul', [heads('q'), heads('k')], { bind: 'qk', singleUse: true }), constant('scale')],
    { bind: 'scaled', singleUse: true });
  const scores = masked ? op('Add', [scaled, v('mask')], { bind: 'masked', singleUse: true }) : scaled;
  const context = op('MatMul', [op('Softmax', [scores], { bind: 'softmax', singleUse: true }), heads('v')], { bind: 'context', singleUse: true });
  return op('Reshape', [op('Transpose', [context], { bind: 'merge', singleUse: true }), constant('mergeShape')]);
}

/** A linear layer: MatMul(x, W) with a constant float [D, N] weight, plus a constant [N] bias on either side (or none). */
interface Projection {
  readonly x: string;
  readonly matmul: Node;
  readonly add?: Node;
  readonly weight: Tensor;
  readonly weightName: string;
  readonly bias?: Tensor;
}

function projectionOf(value: string, ctx: RuleContext, index: ReadonlyMap<string, Node>): Projection | string {
  const producer = index.get(value);
  const isMatMul = (n: Node | undefined): boolean => n?.opType === 'MatMul' && n.domain === '';
  let matmul: Node | undefined, add: Node | undefined, bias: Tensor | undefined;
  if (producer && isMatMul(producer)) {
    matmul = producer;
  } else if (producer?.opType === 'Add' && producer.domain === '') {
    const side = [0, 1].find((i) => isMatMul(index.get(producer.inputs[i])) && ctx.constant(producer.inputs[1 - i]));
    if (side === undefined) return 'is not MatMul + constant bias';
    matmul = index.get(producer.inputs[side])!;
    add = producer;
    bias = ctx.constant(producer.inputs[1 - side]);
    if (ctx.consumers(matmul.outputs[0]).length !== 1 || ctx.isGraphOutput(matmul.outputs[0])) return 'has its MatMul output read elsewhere';
  } else {
    return 'is not a linear layer (MatMul with a constant weight)';
  }
  const weight = ctx.constant(matmul.inputs[1]);
  if (!weight || weight.dataType !== DataType.FLOAT || weight.dims.length !== 2) return 'has no constant float [in, out] weight';
  if (bias && (bias.dataType !== DataType.FLOAT || bias.dims.length !== 1 || bias.dims[0] !== weight.dims[1])) return `has a bias that is not [${weight.dims[1]}]`;
  if (ctx.consumers(value).length !== 1 || ctx.isGraphOutput(value)) return 'is read elsewhere too';
  return { x: matmul.inputs[0], matmul, add, weight, weightName: matmul.inputs[1], bias };
}

const int64s = (t: Tensor | undefined): number[] | undefined =>
  t && (t.dataType === DataType.INT64 || t.dataType === DataType.INT32) && t.dims.length === 1 ? Array.from(t.toArray() as ArrayLike<number | bigint>, Number) : undefined;

/**
 * [batch, seq, heads, head_size] from a Reshape shape: the first two copy (0) or repeat the input's dims, one
 * entry may be -1. Returns heads and head size, or why not.
 */
function splitHeads(shape: number[] | undefined, n: number, input: readonly (number | string | undefined)[] | undefined): { heads: number; size: number } | string {
  if (!shape || shape.length !== 4) return 'is not a constant 4-D shape';
  const keeps = (i: number) => shape[i] === 0 || (input?.[i] !== undefined && shape[i] === input[i]);
  if (shape.filter((d) => d === -1).length > 1) return 'has more than one -1';
  if (![0, 1].every((i) => keeps(i) || shape[i] === -1)) return `[${shape}] does not keep batch and sequence`;
  let [, , h, d] = shape;
  if (h === -1) h = d > 0 && n % d === 0 ? n / d : NaN;
  if (d === -1) d = h > 0 && n % h === 0 ? n / h : NaN;
  if (!(h > 0 && d > 0)) return `[${shape}] leaves heads or head size unknown`;
  return { heads: h, size: d };
}

/** What check establishes and rewrite builds from. */
interface Facts {
  readonly q: Projection;
  readonly k: Projection;
  readonly v: Projection;
  readonly heads: number;
  readonly scale: number;
  readonly unidirectional: boolean;
}

/**
 * The mask is causal: 0 on and below the diagonal, ≤ -1e4 above, a constant or its top-left corner (Slice from 0),
 * and as large as the scores (a smaller mask would broadcast, and a [1, 1] corner of zeros masks nothing).
 */
function causalMask(m: Match, ctx: RuleContext, index: ReadonlyMap<string, Node>): true | string {
  const value = m.values.mask;
  const maskDims = ctx.typeOf(value)?.shape?.slice(-2);
  const scoreDims = ctx.typeOf(m.nodes.scaled.outputs[0])?.shape?.slice(-2);
  if (!maskDims || !scoreDims || maskDims.length !== 2 || scoreDims.length !== 2 || maskDims.some((d, i) => d === undefined || d !== scoreDims[i])) {
    return `the mask [${maskDims ?? '?'}] is not known to be as large as the scores [${scoreDims ?? '?'}]`;
  }
  let t = ctx.constant(value);
  if (!t) {
    const slice = index.get(value);
    if (slice?.opType !== 'Slice' || slice.domain !== '') return 'the mask added to the scores is neither constant nor sliced from a constant';
    t = ctx.constant(slice.inputs[0]);
    if (!t) return 'the mask is sliced from a value that is not constant';
    const rank = t.dims.length;
    const starts = int64s(ctx.constant(slice.inputs[1]));
    const axes = slice.inputs[3] ? int64s(ctx.constant(slice.inputs[3])) : [...Array(starts?.length ?? 0).keys()];
    const steps = slice.inputs[4] ? int64s(ctx.constant(slice.inputs[4])) : undefined;
    if (!starts || !axes || !starts.every((x) => x === 0) || steps?.some((x) => x !== 1)) return 'the mask slice does not start at the top-left corner';
    if (axes.some((a) => (a < 0 ? a + rank : a) < rank - 2)) return 'the mask slice cuts batch or head axes';
  }
  if (t.dataType !== DataType.FLOAT || t.dims.length < 2 || t.dims.slice(0, -2).some((d) => d !== 1)) return 'the mask is not a float [.., S, S] shared by all batches and heads';
  const [rows, cols] = t.dims.slice(-2);
  const values = t.toFloat32();
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const x = values[i * cols + j];
      if (j <= i ? x !== 0 : !(x <= DROPPED)) return `the mask is not causal (entry [${i}, ${j}] is ${x})`;
    }
  }
  return true;
}

function establish(m: Match, ctx: RuleContext, options: FuseAttentionOptions): Facts | string {
  const index = graphIndex(ctx.graph).producer;
  const perms: Array<[string, number[]]> = [['qHeads', [0, 2, 1, 3]], ['kHeads', [0, 2, 3, 1]], ['vHeads', [0, 2, 1, 3]], ['merge', [0, 2, 1, 3]]];
  for (const [bind, perm] of perms) {
    if (attrInts(m.nodes[bind], 'perm')?.join() !== perm.join()) return `${bind === 'merge' ? 'the context' : bind[0].toUpperCase()} is not transposed with perm [${perm}]`;
  }
  const softmaxAxis = attrInt(m.nodes.softmax, 'axis', (ctx.opset() ?? 13) >= 13 ? -1 : 1);
  if (softmaxAxis !== -1 && softmaxAxis !== 3) return 'Softmax does not run over the keys (last axis)';
  const proj: Partial<Record<'q' | 'k' | 'v', Projection>> = {};
  for (const name of ['q', 'k', 'v'] as const) {
    const p = projectionOf(m.values[`${name}Proj`], ctx, index);
    if (typeof p === 'string') return `the ${name.toUpperCase()} projection ${p}`;
    proj[name] = p;
  }
  const { q, k, v: val } = proj as Required<typeof proj>;
  if (q.x !== k.x || q.x !== val.x) return 'Q, K and V do not project the same input (cross-attention)';
  const excluded = [m.root, q.matmul, k.matmul, val.matmul].find(options.excluded);
  if (excluded) return `excluded by the configuration (${excluded.name})`;
  const xType = ctx.typeOf(q.x);
  if (xType?.elemType !== DataType.FLOAT || xType.shape?.length !== 3) return 'its input is not known to be a float [batch, seq, hidden]';
  const n = q.weight.dims[1];
  if (q.weight.dims.join() !== k.weight.dims.join() || q.weight.dims.join() !== val.weight.dims.join()) {
    return `Q, K and V weights differ in shape ([${q.weight.dims}], [${k.weight.dims}], [${val.weight.dims}])`;
  }
  if (q.weight.dims[0] !== xType.shape[2] && typeof xType.shape[2] === 'number') return 'the input width does not match the weights';
  const split: Record<string, { heads: number; size: number }> = {};
  for (const name of ['q', 'k', 'v']) {
    const s = splitHeads(int64s(m.constants[`${name}Shape`]), n, xType.shape);
    if (typeof s === 'string') return `the ${name.toUpperCase()} head split ${s}`;
    if (s.heads * s.size !== n) return `the ${name.toUpperCase()} head split gives ${s.heads} heads × ${s.size} = ${s.heads * s.size}, but its weight has ${n} columns`;
    split[name] = s;
  }
  if (split.q.heads !== split.k.heads || split.q.heads !== split.v.heads) {
    return `head counts disagree: Q ${split.q.heads}, K ${split.k.heads}, V ${split.v.heads}`;
  }
  const merged = int64s(m.constants.mergeShape);
  if (!merged || merged.length !== 3 || merged[0] !== 0 || merged[1] !== 0 || (merged[2] !== n && merged[2] !== -1)) {
    return `the heads are not merged back to [batch, seq, ${n}] (shape [${merged}])`;
  }
  const c = m.constants.scale;
  if (c.dataType !== DataType.FLOAT || c.size !== 1) return 'the scores are not scaled by a float scalar';
  const factor = c.toFloat32()[0];
  const scale = m.nodes.scaled.opType === 'Div' ? 1 / factor : factor;
  if (!(Number.isFinite(scale) && scale > 0)) return `the score scale ${scale} is not a positive number`;
  if (m.nodes.masked) {
    const causal = causalMask(m, ctx, index);
    if (causal !== true) return `${causal} (only causal masks map to unidirectional attention)`;
  }
  if (options.form === 'QAttention' && (ctx.opset() ?? 0) < 11) return 'DynamicQuantizeLinear needs opset 11 or later';
  return { q, k, v: val, heads: split.q.heads, scale, unidirectional: !!m.nodes.masked };
}

/** Weights quantized exactly as quant/dynamic-matmul quantizes each projection, laid side by side: [D, 3N]. */
export function quantizedColumns(ws: readonly Tensor[], perChannel: boolean): { codes: Tensor; scale: Tensor } {
  const parts: QuantizedWeight[] = ws.map((w) => quantizeWeight(w, { dataType: DataType.INT8, symmetric: true, axis: perChannel ? 1 : undefined }));
  const [rows, n] = ws[0].dims;
  const codes = new Int8Array(rows * n * parts.length);
  parts.forEach((p, i) => {
    const src = p.codes.toArray() as Int8Array;
    for (let r = 0; r < rows; r++) codes.set(src.subarray(r * n, (r + 1) * n), (r * parts.length + i) * n);
  });
  const scales = parts.map((p) => p.scale.toFloat32());
  const uniform = !perChannel && scales.every((s) => s[0] === scales[0][0]);
  // Per tensor with three different scales: one scale per column, constant over each of Q, K and V.
  const perColumn = uniform ? Float32Array.of(scales[0][0]) : Float32Array.from({ length: n * parts.length }, (_, j) => scales[Math.floor(j / n)][perChannel ? j % n : 0]);
  return {
    codes: Tensor.fromArray(DataType.INT8, [rows, n * parts.length], codes),
    scale: Tensor.fromArray(DataType.FLOAT, uniform ? [] : [perColumn.length], perColumn),
  };
}

/** [D, P·N] → P tensors [D, N] (the inverse of concatColumns). */
export function splitColumns(w: Tensor, parts: number): Tensor[] {
  const [rows, total] = w.dims;
  const n = total / parts;
  const values = w.toFloat32();
  return Array.from({ length: parts }, (_, i) => {
    const out = new Float32Array(rows * n);
    for (let r = 0; r < rows; r++) out.set(values.subarray(r * total + i * n, r * total + (i + 1) * n), r * n);
    return Tensor.fromArray(DataType.FLOAT, [rows, n], out);
  });
}

export function fuseAttention(options: FuseAttentionOptions, masked: boolean): Rule {
  const facts = new WeakMap<Match, Facts>();
  return defineRule({
    name: masked ? 'quant/fuse-causal-attention' : 'quant/fuse-attention',
    description: masked
      ? 'self-attention with a causal mask runs as one com.microsoft (Q)Attention node, unidirectional'
      : 'self-attention runs as one com.microsoft (Q)Attention node: fused Q/K/V GEMM, scores, softmax and context',
    pattern: attentionPattern(masked),
    check: (m, ctx) => {
      const f = establish(m, ctx, options);
      if (typeof f === 'string') return f;
      facts.set(m, f);
      return true;
    },
    rewrite: (m, b, ctx) => {
      const f = facts.get(m) ?? (establish(m, ctx, options) as Facts);
      const { q, k, v: val } = f;
      const n = q.weight.dims[1];
      const attrs: Record<string, AttributeInput> = { num_heads: f.heads };
      if (f.unidirectional) attrs.unidirectional = 1;
      // Attention's default scale is 1/√head_size: write it only when the model scales otherwise.
      if (Math.fround(f.scale) !== Math.fround(1 / Math.sqrt(n / f.heads))) attrs.scale = attr.float(f.scale);
      if (options.form === 'MultiHeadAttention') {
        const fused = b.node('MultiHeadAttention', [m.values.qProj, m.values.kProj, m.values.vProj], attrs, { domain: MS, outputs: m.root.outputs });
        return { nodes: [fused.node] };
      }
      const subsumes = [q, k, val].flatMap((p) => (p.add ? [p.matmul, p.add] : [p.matmul]));
      const biases = [q, k, val].map((p) => p.bias ?? Tensor.fromArray(DataType.FLOAT, [n], new Float32Array(n)));
      const bias = b.constant(concatColumns(biases), `${q.weightName}_qkv_bias`);
      if (options.form === 'Attention') {
        const weights = b.constant(concatColumns([q.weight, k.weight, val.weight]), `${q.weightName}_qkv`);
        const fused = b.node('Attention', [q.x, weights, bias], attrs, { domain: MS, outputs: m.root.outputs });
        return { nodes: [fused.node], subsumes };
      }
      const w = quantizedColumns([q.weight, k.weight, val.weight], options.perChannel);
      const dq = b.node('DynamicQuantizeLinear', [q.x], {}, { outputs: 3 });
      const [xq, xScale, xZero] = dq.outputs;
      const inputs = [xq, b.constant(w.codes, `${q.weightName}_qkv_quantized`), bias, xScale, b.constant(w.scale, `${q.weightName}_qkv_scale`), '', xZero];
      const fused = b.node('QAttention', inputs, attrs, { domain: MS, outputs: m.root.outputs });
      return { nodes: [dq.node, fused.node], subsumes };
    },
  });
}

export function fuseAttentionRules(options: FuseAttentionOptions): RuleSet {
  return new RuleSet('quant-attention', [fuseAttention(options, false), fuseAttention(options, true)]);
}

/**
 * Applies the attention rules; where they fired, imports com.microsoft. `misses` counts the attention-shaped blocks
 * left alone, by reason.
 */
export function applyAttentionFusion(model: Model, options: FuseAttentionOptions, driver: DriverOptions = {}): { model: Model; stats: RewriteStats; misses: Map<string, number> } {
  const misses = new Map<string, number>();
  const onMiss: DriverOptions['onMiss'] = (rule, node, why) => {
    misses.set(why, (misses.get(why) ?? 0) + 1);
    driver.onMiss?.(rule, node, why);
  };
  const { model: out, stats } = applyRules(model, fuseAttentionRules(options), { ...driver, onMiss });
  return { model: out === model ? out : importMicrosoftDomain(out), stats, misses };
}

/** The model importing com.microsoft (version 1), for the contrib ops rules write. */
export function importMicrosoftDomain(model: Model): Model {
  if (opsetVersion(model, MS) !== undefined) return model;
  return produce(model, (d) => { d.opsetImport.push({ domain: MS, version: 1 }); });
}
