// Dynamic mode: int8 weights offline, activations quantized at run time (no calibration data needed).
import type { Model } from '../../src/ir/model.js';
import type { PassContext } from '../../src/passes/pass.js';
import { OptionError } from '../../src/passes/options.js';
import { applyRules } from '../../src/rewrite/driver.js';
import { removeDeadCode } from '../../src/rewrite/dead-code.js';
import { dynamicQuantRules } from '../../rules/quant/index.js';
import { mergeSiblingMatMuls } from '../../rules/quant/merge-sibling-matmuls.js';
import { mergeSiblingLinears } from '../../rules/quant/merge-sibling-linears.js';
import { RuleSet } from '../../src/rewrite/rule.js';
import { exclusionPredicate } from './exclusion.js';
import { applyAttentionFusion } from '../../rules/quant/fuse-attention.js';

export const DYNAMIC_OP_TYPES = ['MatMul', 'Gemm', 'Gather'];

export interface DynamicOptions {
  readonly weight_quantize_type: string;
  readonly quantize_op_types: readonly string[];
  readonly not_quant_pattern: readonly string[];
  readonly merge_sibling_matmuls: boolean;
  readonly fuse_attention: boolean;
}

export function quantizeDynamic(model: Model, options: DynamicOptions, ctx: PassContext): Model {
  const unsupported = options.quantize_op_types.filter((t) => !DYNAMIC_OP_TYPES.includes(t));
  if (unsupported.length) {
    throw new OptionError(`quant: mode dynamic quantizes ${DYNAMIC_OP_TYPES.join(', ')}; not ${unsupported.join(', ')} (onnxruntime has no fast int8-weight kernel for them)`);
  }
  if (options.weight_quantize_type === 'asymmetric') throw new OptionError('quant: dynamic mode quantizes weights symmetrically (weight_quantize_type channel_wise_abs_max or abs_max)');
  const excluded = exclusionPredicate(options.not_quant_pattern);
  const rules = dynamicQuantRules({ opTypes: options.quantize_op_types, perChannel: options.weight_quantize_type === 'channel_wise_abs_max', excluded });
  let merged = model;
  // Attention first: it needs the Q/K/V MatMuls as written (unmerged, unquantized).
  if (options.fuse_attention && options.quantize_op_types.includes('MatMul')) {
    const fused = applyAttentionFusion(model, { form: 'QAttention', perChannel: options.weight_quantize_type === 'channel_wise_abs_max', excluded }, ctx.driver);
    for (const [rule, n] of fused.stats.applied) ctx.note(rule, n);
    for (const [why, n] of fused.misses) ctx.note(`attention left unfused (${why})`, n);
    merged = fused.model;
  }
  if (options.merge_sibling_matmuls && options.quantize_op_types.includes('MatMul')) {
    const result = applyRules(merged, new RuleSet('quant-merge', [mergeSiblingLinears(excluded), mergeSiblingMatMuls(excluded)]), ctx.driver);
    for (const [rule, n] of result.stats.applied) ctx.note(rule, n);
    merged = removeDeadCode(result.model);
  }
  const { model: out, stats } = applyRules(merged, rules, ctx.driver);
  for (const [rule, n] of stats.applied) ctx.note(rule, n);
  // The float weights the rules replaced are now unread.
  return removeDeadCode(out);
}
