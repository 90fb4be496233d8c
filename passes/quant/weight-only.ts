// Weight-only mode: MatMul weights in 4 bits, block-wise along K, activations float. Round-to-nearest by default;
// GPTQ (error compensation with calibration Hessians) when calibration data is given.
import { produce } from 'immer';
import type { Model, Node } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { constantOf } from '../../src/ir/analysis.js';
import { calibrationData, type CalibrationSource } from '../../src/calib/data.js';
import { streamValues } from '../../src/calib/collect.js';
import { HessianAccumulator } from '../../src/calib/hessian.js';
import { gptqBlockwise4 } from '../../src/quant/gptq.js';
import { opsetVersion } from '../../src/ir/model.js';
import type { PassContext } from '../../src/passes/pass.js';
import { OptionError } from '../../src/passes/options.js';
import { applyRules } from '../../src/rewrite/driver.js';
import { removeDeadCode } from '../../src/rewrite/dead-code.js';
import { RuleSet } from '../../src/rewrite/rule.js';
import { quantizeBlockwise4, type BlockQuantized } from '../../src/quant/blockwise.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { weightOnlyMatMul } from '../../rules/quant/weight-only-matmul.js';
import { exclusionPredicate } from './exclusion.js';

export interface WeightOnlyModeOptions {
  readonly calib: string;
  readonly calib_data: unknown;
  readonly batch_num: number;
  readonly weight_bits: number;
  readonly block_size: number;
  readonly weight_only_format: 'matmulnbits' | 'qdq';
  readonly weight_quantize_type: string;
  readonly not_quant_pattern: readonly string[];
}

/** Quantizes weights by round-to-nearest, once per tensor object (tied weights share codes). */
export function roundToNearest(blockSize: number, symmetric: boolean): (weight: Tensor) => BlockQuantized {
  const cache = new WeakMap<Tensor, BlockQuantized>();
  return (weight) => {
    let q = cache.get(weight);
    if (!q) cache.set(weight, (q = quantizeBlockwise4(weight.toFloat32(), weight.dims[0], weight.dims[1], { blockSize, symmetric })));
    return q;
  };
}

/**
 * GPTQ with Hessians of each candidate MatMul's input over the calibration data; a weight read by several
 * MatMuls gets the sum of their inputs' Hessians. Weights without calibration evidence fall back to RTN.
 */
async function gptq(model: Model, options: WeightOnlyModeOptions, source: CalibrationSource, excluded: (node: Node) => boolean): Promise<(w: Tensor, name: string) => BlockQuantized> {
  const symmetric = options.weight_quantize_type !== 'asymmetric';
  const inputsOf = new Map<string, Set<string>>();
  const sinks = new Map<string, HessianAccumulator>();
  for (const node of model.graph.nodes) {
    if (node.opType !== 'MatMul' || node.domain !== '' || excluded(node)) continue;
    const w = constantOf(model.graph, node.inputs[1], model.irVersion);
    if (!w || w.dataType !== DataType.FLOAT || w.dims.length !== 2 || w.dims[0] < options.block_size) continue;
    if (!sinks.has(node.inputs[0])) sinks.set(node.inputs[0], new HessianAccumulator(w.dims[0]));
    if (!inputsOf.has(node.inputs[1])) inputsOf.set(node.inputs[1], new Set());
    inputsOf.get(node.inputs[1])!.add(node.inputs[0]);
  }
  await streamValues(model, sinks, calibrationData(model, source, { batchNum: options.batch_num }), { batchNum: options.batch_num });
  const rtn = roundToNearest(options.block_size, symmetric);
  const done = new Map<string, BlockQuantized>();
  return (weight, name) => {
    const inputs = inputsOf.get(name);
    if (!inputs) return rtn(weight);
    let q = done.get(name);
    if (!q) {
      const k = weight.dims[0];
      const h = new Float64Array(k * k);
      for (const input of inputs) {
        const part = sinks.get(input)!.hessian();
        for (let i = 0; i < h.length; i++) h[i] += part[i];
      }
      done.set(name, (q = gptqBlockwise4(weight.toFloat32(), k, weight.dims[1], h, { blockSize: options.block_size, symmetric })));
    }
    return q;
  };
}

export async function quantizeWeightOnly(model: Model, options: WeightOnlyModeOptions, ctx: PassContext): Promise<Model> {
  if (options.weight_bits !== 4) throw new OptionError(`quant: weight-only mode stores 4-bit weights; weight_bits ${options.weight_bits} is not supported`);
  if (![16, 32, 64, 128, 256].includes(options.block_size)) throw new OptionError(`quant: block_size must be 16, 32, 64, 128 or 256, not ${options.block_size}`);
  // MatMulNBits lives in com.microsoft: import it (version 1) when the model does not yet.
  const withDomain = options.weight_only_format === 'matmulnbits' && opsetVersion(model, 'com.microsoft') === undefined
    ? produce(model, (d) => { d.opsetImport.push({ domain: 'com.microsoft', version: 1 }); })
    : model;
  const excluded = exclusionPredicate(options.not_quant_pattern);
  const source = (options.calib_data as CalibrationSource | undefined) ?? (options.calib || undefined);
  const quantize = source === undefined
    ? roundToNearest(options.block_size, options.weight_quantize_type !== 'asymmetric')
    : await gptq(model, options, source, excluded);
  ctx.note('algorithm', source === undefined ? 'rtn' : 'gptq');
  const misses = new Map<string, number>();
  const rules = new RuleSet('quant-weight-only', [weightOnlyMatMul({ format: options.weight_only_format, blockSize: options.block_size, excluded, quantize })]);
  const { model: out, stats } = applyRules(withDomain, rules, { ...ctx.driver, onMiss: (_r, _n, why) => misses.set(why, (misses.get(why) ?? 0) + 1) });
  for (const [why, n] of misses) ctx.note(`left float (${why})`, n);
  for (const [rule, n] of stats.applied) ctx.note(rule, n);
  return stats.applied.size ? removeDeadCode(out) : model;
}
