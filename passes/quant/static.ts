// Static mode: activations quantized with ranges calibrated offline, in the QDQ form onnxruntime fuses into integer
// kernels (QLinearConv, QLinearMatMul / MatMulIntegerToFloat, QGemm, QLinear*). The pass is analysis + transform:
//   1. placement (src/quant/placement.ts): the kernels, QLinear and pass-through nodes onnxruntime will fuse, and
//      the activation values that need a quantizer for it — nowhere else (an unfused Q/DQ pair only costs time);
//   2. calibration: one onnxruntime run per batch over the values whose range no range rule fixes;
//   3. rewrite: rule sets (rules/quant/static/) given the quantizers as data — prepare (before 1: BatchNormalization
//      folded into its Conv; self-attention fused into float com.microsoft.Attention, which the kernel rules make a
//      QAttention on its calibrated input), kernels, outputs, cleanup — then dead code removal.
// uint8 activations (asymmetric) + int8 symmetric weights: onnxruntime on x86 fuses int8 activations only where it
// can turn them into uint8 itself.
import type { Model, Node } from '../../src/ir/model.js';
import { type LayerSensitivity, layerSensitivity } from '../../src/quant/sensitivity.js';
import { correctBiases } from '../../src/quant/bias-correction.js';
import { opsetVersion } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { PassContext } from '../../src/passes/pass.js';
import { OptionError } from '../../src/passes/options.js';
import { applyRules } from '../../src/rewrite/driver.js';
import type { RuleSet } from '../../src/rewrite/rule.js';
import { removeDeadCode } from '../../src/rewrite/dead-code.js';
import { freshNamer, valueNames } from '../../src/rewrite/rename.js';
import { calibrationData, type CalibrationSource } from '../../src/calib/data.js';
import { collectRanges } from '../../src/calib/collect.js';
import type { CalibRange } from '../../src/calib/observers/index.js';
import {
  type ActivationParams, KERNEL_OPS, type Placement, type RangeSource, activationParams, clipParams, placeQuantizers, valuesToCalibrate,
} from '../../src/quant/placement.js';
import type { QuantType } from '../../src/quant/params.js';
import { type Quantizer, type StaticQuantData, staticPrepareRules, staticQuantRules, staticRangeRules } from '../../rules/quant/static/index.js';
import { exclusionPredicate } from './exclusion.js';
import { applyAttentionFusion, importMicrosoftDomain } from '../../rules/quant/fuse-attention.js';

/** Op types static mode quantizes by default: kernels, and embedding tables (Gather, stored in int8 as in dynamic mode). */
export const STATIC_OP_TYPES = ['Conv', 'MatMul', 'Gemm', 'Gather'];
const SUPPORTED = [...KERNEL_OPS, 'Gather'];
/** Kernels static mode writes directly (no QDQ form), as the sensitivity analysis names their op types. */
const CONTRIB_KERNELS = ['com.microsoft.QAttention', 'com.microsoft.MatMulIntegerToFloat'];
/** The pass-wide default of quantize_op_types (dynamic mode's); static mode reads it as "its own default". */
const SHARED_DEFAULT = ['MatMul', 'Gemm', 'Gather'];

export interface StaticOptions {
  readonly calib: string;
  readonly calib_data: unknown;
  readonly algo: string;
  readonly hist_percent: number;
  readonly batch_num: number;
  readonly activation_type: string;
  readonly weight_quantize_type: string;
  readonly quantize_op_types: readonly string[];
  readonly not_quant_pattern: readonly string[];
  readonly skip_sensitive: number;
  readonly bias_correction: boolean;
  readonly fuse_attention: boolean;
  /** Only the QDQ form, no contrib kernels (QAttention, MatMulIntegerToFloat): what QAT trains as fake quant. */
  readonly qdqOnly?: boolean;
}

/**
 * Static quantization; with `skip_sensitive` N, the N quantized layers that add the most noise (SQNR lost between
 * their inputs and their output, measured on the calibration data) are kept float and the model is quantized again.
 */
export async function quantizeStatic(input: Model, options: StaticOptions, ctx: PassContext): Promise<Model> {
  const quantized = await quantizeSkippingSensitive(input, options, ctx);
  if (!options.bias_correction || quantized === input) return quantized;
  const source = (options.calib_data ?? (options.calib || undefined)) as CalibrationSource;
  const { model, corrected } = await correctBiases(input, quantized, calibrationData(input, source, { batchNum: options.batch_num }), options.batch_num);
  ctx.note('static: biases corrected', corrected);
  return model;
}

async function quantizeSkippingSensitive(input: Model, options: StaticOptions, ctx: PassContext): Promise<Model> {
  const first = await quantizeStaticOnce(input, options, ctx, () => false);
  if (options.skip_sensitive === 0 || first === input) return first;
  const source = (options.calib_data ?? (options.calib || undefined)) as CalibrationSource;
  const { layers } = await layerSensitivity(input, first, calibrationData(input, source, { batchNum: options.batch_num }), { onProgress: false });
  const worst = mostSensitive(layers, first, options.skip_sensitive);
  for (const w of worst) ctx.note(`kept float as sensitive: ${w.kernel} (${w.addedDb.toFixed(1)} dB)`, 1);
  const keep = new Set(worst.map((w) => w.kernel));
  return quantizeStaticOnce(input, options, ctx, (node) => keep.has(node.name));
}

/**
 * The `n` quantized kernels that add the most noise (SQNR lost between their input and their output), by the node
 * name the exclusion predicate will meet. Contrib kernels write the value of a float node they replaced (the bias
 * Add, attention's Reshape) whose inputs the quantized model no longer computes: their name and input are read from
 * the quantized model (named after the MatMul / the fused Attention; input behind its QuantizeLinear).
 */
function mostSensitive(layers: readonly LayerSensitivity[], quantized: Model, n: number): Array<{ kernel: string; addedDb: number }> {
  const byValue = new Map(layers.map((l) => [l.value, l]));
  const producer = new Map(quantized.graph.nodes.flatMap((node) => node.outputs.map((o) => [o, node] as const)));
  const candidates = layers.filter((l) => l.rewritten).flatMap((l) => {
    if (KERNEL_OPS.includes(l.opType)) return [{ kernel: l.node, addedDb: Math.min(l.inputSqnrDb, 300) - l.sqnrDb }];
    const node = CONTRIB_KERNELS.includes(l.quantOpType) ? producer.get(l.value) : undefined;
    if (!node) return [];
    const q = producer.get(node.inputs[0]);
    const input = q?.opType === 'QuantizeLinear' ? q.inputs[0] : node.inputs[0];
    return [{ kernel: node.name, addedDb: Math.min(byValue.get(input)?.sqnrDb ?? Infinity, 300) - l.sqnrDb }];
  });
  return candidates.sort((a, b) => b.addedDb - a.addedDb).slice(0, n);
}

async function quantizeStaticOnce(input: Model, options: StaticOptions, ctx: PassContext, sensitive: (node: Node) => boolean): Promise<Model> {
  const opset = opsetVersion(input) ?? 0;
  if (opset < 10) throw new OptionError(`quant: mode static needs QuantizeLinear, opset 10 or later (the model imports opset ${opset})`);
  const opTypes = sameList(options.quantize_op_types, SHARED_DEFAULT) ? STATIC_OP_TYPES : options.quantize_op_types;
  const unsupported = opTypes.filter((t) => !SUPPORTED.includes(t));
  if (unsupported.length) {
    throw new OptionError(`quant: mode static quantizes ${SUPPORTED.join(', ')} (QLinear and pass-through ops join between them); not ${unsupported.join(', ')}`);
  }
  const source = (options.calib_data ?? (options.calib || undefined)) as CalibrationSource | undefined;
  if (source === undefined) throw new OptionError('quant: static mode needs calibration data: --calib DIR (or calib_data in code)');
  const activationType: QuantType = options.activation_type === 'int8' ? DataType.INT8 : DataType.UINT8;
  if (options.weight_quantize_type === 'asymmetric') throw new OptionError('quant: mode static uses symmetric int8 weights (weight_quantize_type channel_wise_abs_max or abs_max)');
  const perChannel = options.weight_quantize_type === 'channel_wise_abs_max';
  if (perChannel && opset < 13) ctx.note('per-tensor weights (per-channel DequantizeLinear needs opset 13)', 1);
  const byPattern = exclusionPredicate(options.not_quant_pattern);
  const excluded = (node: Node): boolean => byPattern(node) || sensitive(node);
  let model = applyNoted(input, staticPrepareRules(excluded), ctx);
  // QAttention reads uint8 input only.
  const attention = !options.qdqOnly && options.fuse_attention && opTypes.includes('MatMul') && activationType === DataType.UINT8;
  if (attention) {
    const fused = applyAttentionFusion(model, { form: 'Attention', perChannel, excluded }, ctx.driver);
    for (const [rule, n] of fused.stats.applied) ctx.note(rule, n);
    for (const [why, n] of fused.misses) ctx.note(`attention left unfused (${why})`, n);
    model = fused.model;
  }

  const placement = placeQuantizers(model, {
    kernelOps: opTypes.filter((t) => KERNEL_OPS.includes(t)), qlinear: true, attention, integerToFloat: !options.qdqOnly, perChannel, activationType, excluded, rangeRules: staticRangeRules,
  });
  ctx.note('static: kernels', placement.kernels.length);
  const keptFloat = new Map<string, number>();
  for (const [node, why] of placement.skipped) {
    const key = `static: ${node.opType} kept float (${why})`;
    if (KERNEL_OPS.includes(node.opType)) keptFloat.set(key, (keptFloat.get(key) ?? 0) + 1);
  }
  for (const [key, n] of keptFloat) ctx.note(key, n);
  ctx.note('static: qlinear', placement.qlinear.length);
  ctx.note('static: pass-through', placement.passThrough.length);

  const names = valuesToCalibrate(placement);
  let ranges = new Map<string, CalibRange>();
  if (names.length) {
    const data = calibrationData(model, source, { batchNum: options.batch_num });
    const result = await collectRanges(model, names, data, {
      algo: options.algo, observerOptions: { histPercent: options.hist_percent }, batchNum: options.batch_num,
    });
    ranges = result.ranges;
    ctx.note('static: calibrated values', names.length);
    ctx.note('static: calibration batches', result.batches);
  }

  const quantizers = makeQuantizers(model, placement, ranges, activationType);
  const data: StaticQuantData = {
    quantizers,
    atProducer: new Set(placement.atProducer.keys()),
    atConsumer: new Set(placement.atConsumer.keys()),
    kernels: new Map(placement.kernels.map((k) => [k.node.outputs[0], k])),
    biasAdds: new Map(placement.kernels.filter((k) => k.bias?.add && !k.integerToFloat).map((k) => [k.node.outputs[0], k])),
  };
  const producers = new Set<string>();
  for (const node of model.graph.nodes) if (node.outputs.some((o) => data.atProducer.has(o))) producers.add(node.opType);
  const rules = staticQuantRules(data, {
    producerOps: [...producers],
    gather: opTypes.includes('Gather') ? excluded : undefined,
  });
  let out = model;
  for (const set of [rules.kernels, rules.outputs, rules.cleanup]) out = applyNoted(out, set, ctx);
  if (out === input) return input;
  // The float weights and biases the rules replaced are now unread.
  const live = removeDeadCode(out);
  return live.graph.nodes.some((n) => n.domain === 'com.microsoft') ? importMicrosoftDomain(live) : live;
}

function applyNoted(model: Model, rules: RuleSet, ctx: PassContext): Model {
  const { model: out, stats } = applyRules(model, rules, ctx.driver);
  for (const [rule, n] of stats.applied) ctx.note(rule, n);
  return out;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Scale and zero point per quantized value, from its range source, in initializers with names unused in the graph. */
function makeQuantizers(model: Model, placement: Placement, ranges: ReadonlyMap<string, CalibRange>, dataType: QuantType): Map<string, Quantizer> {
  const sources = new Map<string, RangeSource>([...placement.atConsumer, ...placement.atProducer]);
  const params = new Map<string, ActivationParams>();
  const resolve = (value: string, depth = 0): ActivationParams => {
    const known = params.get(value);
    if (known) return known;
    const source = sources.get(value);
    if (!source || depth > sources.size) throw new Error(`quant static: no range for '${value}'`);
    let p: ActivationParams;
    switch (source.kind) {
      case 'calibrate': {
        const r = ranges.get(value);
        if (!r) throw new Error(`quant static: calibration measured no range for '${value}'`);
        p = activationParams(source.nonNegative ? Math.max(0, r.min) : r.min, r.max, dataType);
        break;
      }
      case 'clip': p = clipParams(source.min, source.max, dataType); break;
      case 'same-as': p = resolve(source.value, depth + 1); break;
    }
    params.set(value, p);
    return p;
  };
  const taken = new Set(valueNames(model.graph));
  const fresh = freshNamer(taken);
  const out = new Map<string, Quantizer>();
  for (const value of sources.keys()) {
    const p = resolve(value);
    out.set(value, {
      params: p,
      scaleName: fresh(`${value}_scale`),
      zeroPointName: fresh(`${value}_zero_point`),
      scale: Tensor.scalar(DataType.FLOAT, p.scale),
      zeroPoint: Tensor.scalar(p.dataType, p.zeroPoint),
    });
  }
  return out;
}
