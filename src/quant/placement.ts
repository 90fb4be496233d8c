// Where static (QDQ) quantization puts quantizers: the nodes onnxruntime will run as integer kernels and the
// activation values that need a QuantizeLinear → DequantizeLinear pair for it to fuse them, nothing more (a pair
// onnxruntime cannot fuse is a float round trip that only costs time). Structure only: ranges come later, from
// calibration or from the range rules below.
//
// What onnxruntime (CPU, x86, 1.30) fuses, and so what this analysis aims at:
//   kernels   DQ(x), DQ(w int8)[, DQ(b int32)] → Conv → Q               ⇒ QLinearConv (needs the output Q)
//             DQ(x), DQ(w int8) → MatMul → Q | (no Q)                 ⇒ QLinearMatMul | MatMulIntegerToFloat (a following
//             bias Add stays float: where it does not become a Gemm, the rules write MatMulIntegerToFloat with the bias)
//             DQ(x), DQ(w int8)[, DQ(b int32)] → Gemm → Q | (no Q)     ⇒ QGemm (u8 | float output); a MatMul → Add(bias)
//             with static shapes becomes Gemm first (MatMulAddFusion), so its bias must be DQ(int32) too
//   qlinear   DQ… → Add/Mul/Concat/Where/AveragePool/GlobalAveragePool/Sigmoid/Softmax/LeakyRelu → Q ⇒ QLinear*
//   pass      DQ → Reshape/Transpose/Gather/Slice/… → Q with equal parameters ⇒ both dropped (runs on uint8)
//   attention com.microsoft.Attention (float, from quant/fuse-attention) becomes QAttention: it takes a uint8 input
//             and int8 weights directly (no QDQ form), so its input is quantized in front of it, its output float
// A node fuses only if every reader of its output is a Q (so a quantized output is quantized for all readers), its
// output is no graph output, and a single Relu/Clip reader is absorbed only when the Q makes it redundant — a
// MatMul whose one reader is a Relu/Clip or an Add is therefore given its output Q (else it is not fused at all,
// or an earlier onnxruntime fusion turns it into a float Gemm).
import type { Model, Node } from '../ir/model.js';
import { attrFloat, attrInt, opsetVersion } from '../ir/model.js';
import { constantOf, graphIndex } from '../ir/analysis.js';
import { DataType } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { typesOf } from '../rewrite/type-oracle.js';
import { weightAxisFor } from './math.js';
import { paramsFromRange, qRange, roundHalfEven, type QuantType } from './params.js';

/** Ops with a constant weight that become integer kernels. */
export const KERNEL_OPS: readonly string[] = ['Conv', 'MatMul', 'Gemm'];
/** Ops onnxruntime replaces by a QLinear* kernel when all their float inputs and their output are quantized. */
export const QLINEAR_OPS: readonly string[] = ['Add', 'Mul', 'Concat', 'Where', 'AveragePool', 'GlobalAveragePool', 'Sigmoid', 'Softmax', 'LeakyRelu'];
/** Data-movement ops onnxruntime runs on the integers when the DQ before and the Q after have equal parameters. */
export const PASS_THROUGH_OPS: readonly string[] = ['Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Gather', 'GatherElements', 'Slice', 'Expand', 'Tile', 'MaxPool', 'Resize', 'Split'];

/** The float com.microsoft.Attention that static mode turns into QAttention. */
export const isAttention = (n: Node): boolean => n.opType === 'Attention' && n.domain === 'com.microsoft';

/** Scale and zero point of one activation quantizer. */
export interface ActivationParams {
  readonly scale: number;
  readonly zeroPoint: number;
  readonly dataType: QuantType;
}

/** Where a quantizer's range comes from. */
export type RangeSource =
  | { readonly kind: 'calibrate'; readonly nonNegative?: boolean }
  /** A constant Clip in front of the quantizer (PACT): its bounds are the range. */
  | { readonly kind: 'clip'; readonly min: number; readonly max: number }
  /** Pass-through ops keep their input's parameters (onnxruntime drops the pair only if they are equal). */
  | { readonly kind: 'same-as'; readonly value: string };

export interface KernelPlacement {
  readonly node: Node;
  /** The activation input (input 0). */
  readonly input: string;
  /** The constant float weight (input 1; Attention: Q, K and V side by side). */
  readonly weight: Tensor;
  /** Per-channel axis of the weight; undefined: one scale. */
  readonly axis?: number;
  /** The bias: input 2 of Conv/Gemm, or the constant of the Add that follows a MatMul. */
  readonly bias?: { readonly tensor: Tensor; readonly value: string; readonly add?: Node };
  /** Whether the kernel's (unit's) output is quantized too (QLinearConv/QLinearMatMul/QGemm with u8 output). */
  readonly quantizedOutput: boolean;
  /**
   * MatMul → Add(bias) that onnxruntime will not turn into a Gemm (shapes not static): written as
   * com.microsoft.MatMulIntegerToFloat with the bias inside, since its own QDQ fusion leaves the Add in float.
   */
  readonly integerToFloat?: boolean;
}

export interface Placement {
  readonly kernels: readonly KernelPlacement[];
  /** Nodes that become QLinear* kernels. */
  readonly qlinear: readonly Node[];
  /** Nodes that run on the integers between two quantized nodes. */
  readonly passThrough: readonly Node[];
  /** Values quantized where they are made: every reader gets the dequantized value (the producer fuses with its Q). */
  readonly atProducer: ReadonlyMap<string, RangeSource>;
  /** Kernel inputs made by float nodes or graph inputs: quantized in front of the kernels only, other readers keep the float. */
  readonly atConsumer: ReadonlyMap<string, RangeSource>;
  /** Why candidate nodes were left in float (for tracing and notes). */
  readonly skipped: ReadonlyMap<Node, string>;
}

export interface PlacementOptions {
  /** Kernel op types to quantize (of KERNEL_OPS). */
  readonly kernelOps: readonly string[];
  /** Also place QLinear* and pass-through ops between quantized nodes. */
  readonly qlinear: boolean;
  /** Quantize com.microsoft.Attention nodes (into QAttention: uint8 input, int8 weights, float output). */
  readonly attention?: boolean;
  /** Write a MatMul → Add(bias) onnxruntime makes no Gemm of as MatMulIntegerToFloat (else the Add stays float). */
  readonly integerToFloat?: boolean;
  readonly perChannel: boolean;
  readonly activationType: QuantType;
  readonly excluded: (node: Node) => boolean;
  /** Ranges some producers fix without calibration (e.g. PACT clips). */
  readonly rangeRules: readonly RangeRule[];
}

/** A range rule: the range a quantizer of `node`'s output takes without calibration, or undefined. */
export interface RangeRule {
  readonly name: string;
  readonly ops: readonly string[];
  range(node: Node, constant: (name: string) => Tensor | undefined, opset: number): RangeSource | undefined;
}

// ---------------------------------------------------------------- clips

/** Constant bounds of a Relu ([0, ∞)) or Clip (attributes before opset 11, inputs from 11); undefined if not constant. */
export function clipBounds(node: Node, constant: (name: string) => Tensor | undefined, opset: number): { min: number; max: number } | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  if (node.opType === 'Relu') return { min: 0, max: Infinity };
  if (node.opType !== 'Clip') return undefined;
  if (opset < 11) return { min: attrFloat(node, 'min', -Infinity), max: attrFloat(node, 'max', Infinity) };
  const bound = (i: number, fallback: number): number | undefined => {
    const name = node.inputs[i];
    if (!name) return fallback;
    const t = constant(name);
    if (!t || t.size !== 1 || t.dataType !== DataType.FLOAT) return undefined;
    return t.toFloat32()[0];
  };
  const min = bound(1, -Infinity), max = bound(2, Infinity);
  return min === undefined || max === undefined ? undefined : { min, max };
}

/**
 * True when quantizing with `p` already clips to [min, max], so the clip in front of the quantizer can go:
 * onnxruntime's test (IsClipMadeRedundantByQ) in the integer domain — a Relu needs zero point = qmin, a Clip
 * needs rint(min/scale) + zp ≤ qmin and rint(max/scale) + zp ≥ qmax (float32 division, as onnxruntime computes it).
 */
export function clipIsRedundant(opType: string, bounds: { min: number; max: number }, p: ActivationParams): boolean {
  const [qmin, qmax] = qRange(p.dataType);
  if (opType === 'Relu') return p.zeroPoint === qmin;
  // Double division rounded to float32 is float32 division (double rounding is innocuous for / in binary32).
  const lo = Number.isFinite(bounds.min) ? roundHalfEven(Math.fround(bounds.min / p.scale)) + p.zeroPoint : -Infinity;
  const hi = Number.isFinite(bounds.max) ? roundHalfEven(Math.fround(bounds.max / p.scale)) + p.zeroPoint : Infinity;
  return lo <= qmin && hi >= qmax;
}

/** The parameters a range gives (asymmetric, onnxruntime's formula). */
export function activationParams(min: number, max: number, dataType: QuantType): ActivationParams {
  const { scale, zeroPoint } = paramsFromRange(min, max, dataType);
  return { scale, zeroPoint, dataType };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Parameters for a clip range [min, max]: onnxruntime's formula, with the scale lowered by up to a few float32 ulps
 * where that makes the quantizer saturate exactly at the clip bounds (Clip(-1, 1): float32(2/255) is a hair above
 * 2/255, so -1/scale rounds to -127 instead of -128 and the Clip would have to stay).
 */
export function clipParams(min: number, max: number, dataType: QuantType): ActivationParams {
  const p = activationParams(min, max, dataType);
  const bounds = { min, max };
  f32[0] = p.scale;
  for (let k = 0; k < 4 && f32[0] > 0; k++, u32[0]--) {
    const q = { ...p, scale: f32[0] };
    if (clipIsRedundant('Clip', bounds, q)) return q;
  }
  return p;
}

// ---------------------------------------------------------------- the analysis

interface Unit {
  readonly root: Node;
  readonly role: 'kernel' | 'qlinear' | 'passThrough';
  /** Float activation inputs that must arrive quantized. */
  readonly inputs: readonly string[];
  /** Output values after the bias Add and absorbed clip. */
  outputs: string[];
  kernel?: Omit<KernelPlacement, 'quantizedOutput'>;
  clip?: Node;
  /** The output must be quantized for onnxruntime to fuse the node at all. */
  forced: boolean;
  /** The kernel's output is float whatever reads it (QAttention, MatMulIntegerToFloat). */
  readonly floatOutput?: boolean;
}

const isDefaultDomain = (n: Node): boolean => n.domain === '' || n.domain === 'ai.onnx';

/** Decides which nodes run as integer kernels and where the quantizers go. Reads the frozen graph only. */
export function placeQuantizers(model: Model, options: PlacementOptions): Placement {
  const g = model.graph;
  const index = graphIndex(g);
  const opset = opsetVersion(model) ?? 0;
  const types = typesOf(g, model);
  const constant = (name: string): Tensor | undefined => (name ? constantOf(g, name, model.irVersion) : undefined);
  // Unknown types pass: every candidate also has a float weight or a quantized producer, which makes its input float.
  const isFloat = (name: string): boolean => {
    if (!name || constant(name)) return false;
    const t = types.get(name)?.elemType;
    return t === undefined || t === DataType.UNDEFINED || t === DataType.FLOAT;
  };
  const fromDQ = (name: string): boolean => index.producer.get(name)?.opType === 'DequantizeLinear';
  const readers = (name: string): readonly Node[] => index.consumers.get(name) ?? [];
  const skipped = new Map<Node, string>();
  const units = new Map<Node, Unit>();
  const ruleRange = (node: Node): RangeSource | undefined =>
    options.rangeRules.find((r) => r.ops.includes(node.opType))?.range(node, constant, opset);

  for (const node of g.nodes) {
    if (options.attention && isAttention(node)) {
      const why = options.excluded(node) ? 'excluded by the configuration' : attentionProblem(node);
      if (typeof why === 'string') skipped.set(node, why);
      else units.set(node, why);
      continue;
    }
    if (!isDefaultDomain(node)) continue;
    const role = KERNEL_OPS.includes(node.opType) ? 'kernel' : QLINEAR_OPS.includes(node.opType) ? 'qlinear'
      : PASS_THROUGH_OPS.includes(node.opType) ? 'passThrough' : undefined;
    if (!role) continue;
    if (role === 'kernel' && !options.kernelOps.includes(node.opType)) continue;
    if (role !== 'kernel' && !options.qlinear) continue;
    if (options.excluded(node)) { skipped.set(node, 'excluded by the configuration'); continue; }
    const why = role === 'kernel' ? kernelProblem(node) : role === 'qlinear' ? qlinearProblem(node) : passThroughProblem(node);
    if (typeof why === 'string') { skipped.set(node, why); continue; }
    units.set(node, why);
  }

  // onnxruntime's MatMulAddFusion makes MatMul → Add a Gemm when A is a matrix or has a static shape; unknown
  // shapes count as fusable (its shape inference may know more than ours).
  function gemmFusable(x: string): boolean {
    const shape = types.get(x)?.shape;
    return !shape || shape.length === 2 || shape.every((d) => typeof d === 'number');
  }

  function kernelProblem(node: Node): Unit | string {
    const [x, wName, bName] = node.inputs;
    const w = constant(wName);
    if (!w || w.dataType !== DataType.FLOAT) {
      if (fromDQ(wName)) return 'its weight is already quantized';
      // Attention products: quantizing both activations measured no faster on BERT (and costs accuracy).
      return isFloat(wName) ? 'it multiplies two activations' : 'its weight is not a constant float tensor';
    }
    if (fromDQ(x)) return 'its input is already quantized';
    if (!isFloat(x)) return 'its input is not a float32 activation';
    const perChannel = options.perChannel && opset >= 13;
    let bias: { tensor: Tensor; value: string; add?: Node } | undefined;
    let axis: number | undefined;
    switch (node.opType) {
      case 'Conv': {
        if (w.dims.length < 3 || w.dims.length > 4) return 'only 1-D and 2-D convolutions have integer kernels';
        if (bName) {
          const b = constant(bName);
          if (!b || b.dataType !== DataType.FLOAT || b.size !== w.dims[0]) return 'its bias is not a constant float vector';
          bias = { tensor: b, value: bName };
        }
        axis = perChannel ? weightAxisFor('Conv', 1) : undefined;
        break;
      }
      case 'MatMul': {
        if (w.dims.length !== 2) return 'its weight is not a matrix';
        const rank = types.get(x)?.shape?.length;
        if (rank !== undefined && rank < 2) return 'its input is a vector';
        axis = perChannel ? weightAxisFor('MatMul', 1, {}, 2) : undefined;
        const out = node.outputs[0];
        const next = readers(out);
        if ((gemmFusable(x) || options.integerToFloat) && next.length === 1 && !index.graphOutputs.has(out) && next[0].opType === 'Add' && isDefaultDomain(next[0])) {
          const add = next[0];
          const other = add.inputs[0] === out ? add.inputs[1] : add.inputs[0];
          const b = constant(other);
          if (add.inputs[0] !== add.inputs[1] && b && b.dataType === DataType.FLOAT && b.dims.length === 1 && b.dims[0] === w.dims[1]) {
            bias = { tensor: b, value: other, add };
          }
        }
        break;
      }
      case 'Gemm': {
        if (w.dims.length !== 2) return 'its weight is not a matrix';
        if (attrInt(node, 'transA', 0) !== 0) return 'transA is set (QGemm reads A as is)';
        if (attrFloat(node, 'alpha', 1) !== 1) return 'alpha is not 1';
        const transB = attrInt(node, 'transB', 0);
        const n = transB ? w.dims[0] : w.dims[1];
        if (bName) {
          const b = constant(bName);
          if (attrFloat(node, 'beta', 1) !== 1) return 'beta is not 1';
          if (!b || b.dataType !== DataType.FLOAT || b.size !== n || (b.dims.length === 2 && b.dims[0] !== 1) || b.dims.length > 2) {
            return 'its bias C is not a constant float vector of the output width';
          }
          bias = { tensor: b, value: bName };
        }
        axis = perChannel ? weightAxisFor('Gemm', 1, { transB }) : undefined;
        break;
      }
    }
    const integerToFloat = !!bias?.add && !gemmFusable(x);
    const outputs = [bias?.add ? bias.add.outputs[0] : node.outputs[0]];
    const unit: Unit = { root: node, role: 'kernel', inputs: [x], outputs, forced: node.opType === 'Conv', floatOutput: integerToFloat };
    unit.kernel = { node, input: x, weight: w, axis, bias, ...(integerToFloat ? { integerToFloat } : {}) };
    return unit;
  }

  function attentionProblem(node: Node): Unit | string {
    const [x, wName, bName, ...rest] = node.inputs;
    if (rest.some((i) => i)) return 'it has a mask, past or attention bias input';
    if (node.attributes.some((a) => a.name === 'qkv_hidden_sizes' || a.name === 'do_rotary')) return 'QAttention has no qkv_hidden_sizes or do_rotary';
    const w = constant(wName);
    if (!w || w.dataType !== DataType.FLOAT || w.dims.length !== 2 || w.dims[1] % 3 !== 0) return 'its weight is not a constant float [D, 3N] matrix';
    const b = bName ? constant(bName) : undefined;
    if (bName && (!b || b.dataType !== DataType.FLOAT || b.size !== w.dims[1])) return 'its bias is not a constant float vector';
    if (fromDQ(x)) return 'its input is already quantized';
    if (!isFloat(x)) return 'its input is not a float32 activation';
    // Per-column weight scales are an input of QAttention itself: no opset condition.
    const unit: Unit = { root: node, role: 'kernel', inputs: [x], outputs: [node.outputs[0]], forced: false, floatOutput: true };
    unit.kernel = { node, input: x, weight: w, axis: options.perChannel ? 1 : undefined };
    return unit;
  }

  function qlinearProblem(node: Node): Unit | string {
    const data = node.opType === 'Where' ? node.inputs.slice(1) : ['Add', 'Mul', 'Concat'].includes(node.opType) ? node.inputs : node.inputs.slice(0, 1);
    if (node.outputs.length !== 1) return 'it has more than one output';
    if (data.some((v) => !isFloat(v))) return 'one of its inputs is not a float32 activation';
    if (node.opType === 'Where' && !node.inputs[0]) return 'it has no condition';
    return { root: node, role: 'qlinear', inputs: data, outputs: [node.outputs[0]], forced: true };
  }

  function passThroughProblem(node: Node): Unit | string {
    if (!isFloat(node.inputs[0])) return 'its data input is not a float32 activation';
    if (node.opType === 'MaxPool') {
      if (opset < 12 || opset >= 22) return 'onnxruntime drops Q/DQ around MaxPool-12 only';
      if (node.outputs.length > 1 && node.outputs[1]) return 'it returns indices';
    }
    const outputs = node.opType === 'MaxPool' ? [node.outputs[0]] : node.outputs.filter((o) => o !== '');
    return { root: node, role: 'passThrough', inputs: [node.inputs[0]], outputs, forced: true };
  }

  // Kernels and QLinear ops take a following Relu/Clip into the unit when the output quantizer makes it redundant;
  // a MatMul/Gemm read by a single Relu/Clip or Add (not its bias) must quantize its output to be fused.
  for (const unit of units.values()) {
    if (unit.role === 'passThrough' || unit.floatOutput) continue;
    const out = unit.outputs[0];
    const next = readers(out);
    if (next.length !== 1 || index.graphOutputs.has(out)) continue;
    const reader = next[0];
    const bounds = isDefaultDomain(reader) && reader.inputs[0] === out ? clipBounds(reader, constant, opset) : undefined;
    if (bounds) {
      if (clipAbsorbable(reader, bounds)) {
        unit.clip = reader;
        unit.outputs = [reader.outputs[0]];
        unit.forced = true;
      } else if (unit.role === 'kernel') {
        unit.forced = true; // quantize before the clip, else onnxruntime sees Kernel → Clip → … and fuses nothing
      }
    } else if (unit.kernel && fusesIntoFloatGemm(unit, reader)) {
      unit.forced = true;
    }
  }

  // Fusions onnxruntime runs before its QDQ fusion that would absorb the reader into a float Gemm: MatMulAddFusion
  // (MatMul → Add), GemmSumFusion (Gemm → Sum), GemmTransposeFusion (Gemm → Transpose, which swaps A and B so the
  // int8 weight becomes A). A quantizer between them keeps the kernel's pattern.
  function fusesIntoFloatGemm(unit: Unit, reader: Node): boolean {
    if (!isDefaultDomain(reader)) return false;
    if (unit.root.opType === 'MatMul') return !unit.kernel!.bias && reader.opType === 'Add' && gemmFusable(unit.kernel!.input);
    return unit.root.opType === 'Gemm' && (reader.opType === 'Sum' || reader.opType === 'Transpose');
  }

  function clipAbsorbable(clip: Node, bounds: { min: number; max: number }): boolean {
    if (clip.opType === 'Relu') return true; // its calibrated range starts at 0: zero point = qmin
    const pact = ruleRange(clip); // without a range rule the range is calibrated: unknown here
    if (!pact || pact.kind !== 'clip') return false;
    return clipIsRedundant('Clip', bounds, clipParams(pact.min, pact.max, options.activationType));
  }

  // The greatest set of QLinear and pass-through units whose inputs come quantized from other quantized units and
  // whose outputs only quantized units read: start from all candidates and drop violators until none is left.
  const producerUnit = new Map<string, Unit>();
  for (const unit of units.values()) for (const o of unit.outputs) producerUnit.set(o, unit);
  const live = new Set(units.values());
  const takesQuantized = (reader: Node, value: string): boolean => {
    const u = units.get(reader);
    return !!u && live.has(u) && u.inputs.includes(value);
  };
  const allReadersQuantized = (value: string): boolean => {
    const r = readers(value);
    return !index.graphOutputs.has(value) && r.length > 0 && r.every((n) => takesQuantized(n, value));
  };
  // A kernel's output is quantized when a quantized node reads it: a quantizer in front of that reader alone would
  // give the kernel a Q reader among float ones, and onnxruntime then fuses it neither way. The same holds when the
  // quantizer sits behind Relu/Clip or data-movement readers: onnxruntime removes the clips (ReluQuantFusion,
  // ClipQuantFusion) and moves quantizers up through the others (QDQ propagation, transpose optimizer).
  const transparent = (n: Node, value: string): boolean =>
    n.inputs[0] === value && isDefaultDomain(n) && (PASS_THROUGH_OPS.includes(n.opType) || !!clipBounds(n, constant, opset));
  const leadsToQuantized = (value: string, depth = 0): boolean => depth <= 8 && readers(value).some((n) =>
    takesQuantized(n, value) || (transparent(n, value) && n.outputs.some((o) => leadsToQuantized(o, depth + 1))));
  const someReaderQuantized = (value: string): boolean => leadsToQuantized(value);
  const outputQuantized = (u: Unit): boolean => live.has(u) && !u.floatOutput && (u.forced || (u.role === 'kernel' ? u.outputs.some(someReaderQuantized) : u.outputs.every(allReadersQuantized)));
  // Values already read by a QuantizeLinear (QAT exports) keep their quantizers: no second one where they are made.
  const alreadyQuantized = (v: string): boolean => readers(v).some((n) => n.opType === 'QuantizeLinear');
  const arrivesQuantized = (v: string): boolean => {
    const p = producerUnit.get(v);
    return !!p && outputQuantized(p) && !alreadyQuantized(v);
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const u of live) {
      if (u.role === 'kernel') continue;
      const inputsReady = u.inputs.every(arrivesQuantized);
      if (!inputsReady || !u.outputs.every(allReadersQuantized)) {
        live.delete(u);
        skipped.set(u.root, inputsReady ? 'a reader of its output stays float' : 'an input does not come quantized from a quantized node');
        changed = true;
      }
    }
  }

  const atProducer = new Map<string, RangeSource>();
  const atConsumer = new Map<string, RangeSource>();
  const kernels: KernelPlacement[] = [];
  const rangeOf = (value: string, u?: Unit): RangeSource => {
    const producer = index.producer.get(value);
    if (u?.role === 'passThrough') return { kind: 'same-as', value: u.inputs[0] };
    const fixed = producer && ruleRange(producer);
    if (fixed) return fixed;
    return { kind: 'calibrate', nonNegative: producer?.opType === 'Relu' };
  };
  for (const u of live) {
    if (outputQuantized(u)) for (const o of u.outputs) if (!alreadyQuantized(o)) atProducer.set(o, rangeOf(o, u));
    if (u.kernel) {
      kernels.push({ ...u.kernel, quantizedOutput: outputQuantized(u) });
      if (!arrivesQuantized(u.kernel.input)) atConsumer.set(u.kernel.input, rangeOf(u.kernel.input));
    }
  }
  const byPosition = (a: Node, b: Node): number => index.position.get(a)! - index.position.get(b)!;
  const liveNodes = (role: Unit['role']): Node[] => [...live].filter((u) => u.role === role).map((u) => u.root).sort(byPosition);
  return {
    kernels: kernels.sort((a, b) => byPosition(a.node, b.node)),
    qlinear: liveNodes('qlinear'),
    passThrough: liveNodes('passThrough'),
    atProducer, atConsumer, skipped,
  };
}

/** The values whose ranges calibration must measure. */
export function valuesToCalibrate(p: Placement): string[] {
  const out = new Set<string>();
  for (const m of [p.atProducer, p.atConsumer]) for (const [v, r] of m) if (r.kind === 'calibrate') out.add(v);
  return [...out];
}
