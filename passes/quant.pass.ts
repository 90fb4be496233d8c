// quant: post-training quantization. Mode `dynamic` (the default, needs no data): int8 weights offline and
// activations quantized at run time, in the form onnxruntime fuses into MatMulIntegerToFloat /
// DynamicQuantizeMatMul; embedding tables (Gather) stored in int8. Conv stays float in this mode: onnxruntime's
// ConvInteger has no int8-weight kernel.
import { definePass } from '../src/passes/pass.js';
import { quantError } from '../src/passes/contract.js';
import { OptionError } from '../src/passes/options.js';
import { applyRules } from '../src/rewrite/driver.js';
import { removeDeadCode } from '../src/rewrite/dead-code.js';
import type { Node } from '../src/ir/model.js';
import { dynamicQuantRules } from '../rules/quant/index.js';

const DYNAMIC_OP_TYPES = ['MatMul', 'Gemm', 'Gather'];

/** `not_quant_pattern` entries: a substring of the node name, or /regex/. */
export function exclusionPredicate(patterns: readonly string[]): (node: Node) => boolean {
  const tests = patterns.map((p) => {
    const re = /^\/(.*)\/([a-z]*)$/.exec(p);
    if (!re) return (name: string) => name.includes(p);
    try {
      const regex = new RegExp(re[1], re[2]);
      return (name: string) => regex.test(name);
    } catch (e) {
      throw new OptionError(`not_quant_pattern ${p} is not a valid regular expression: ${(e as Error).message}`);
    }
  });
  return (node) => tests.some((t) => t(node.name));
}

export const quant = definePass({
  name: 'quant',
  description: 'post-training quantization (dynamic: int8 weights, activations quantized at run time)',
  options: {
    mode: { type: 'enum', values: ['dynamic'], default: 'dynamic', description: 'quantization mode' },
    weight_quantize_type: {
      type: 'enum', values: ['channel_wise_abs_max', 'abs_max'], default: 'channel_wise_abs_max',
      description: 'weight scales per output channel or per tensor (symmetric int8)',
    },
    quantize_op_types: { type: 'list', default: DYNAMIC_OP_TYPES, description: 'op types to quantize' },
    not_quant_pattern: { type: 'list', default: [], description: 'nodes to keep float: name substrings or /regex/' },
  },
  // Error per output element bounded by the analytic rounding bound of each quantized MatMul (see the property tests).
  contract: quantError(1),
  configSections: ['Quantization', 'QuantPost'],
  run: {
    kind: 'transform',
    transform(model, options, ctx) {
      const unsupported = options.quantize_op_types.filter((t) => !DYNAMIC_OP_TYPES.includes(t));
      if (unsupported.length) {
        throw new OptionError(`quant: mode dynamic quantizes ${DYNAMIC_OP_TYPES.join(', ')}; not ${unsupported.join(', ')} (onnxruntime has no fast int8-weight kernel for them)`);
      }
      const rules = dynamicQuantRules({
        opTypes: options.quantize_op_types,
        perChannel: options.weight_quantize_type === 'channel_wise_abs_max',
        excluded: exclusionPredicate(options.not_quant_pattern),
      });
      const { model: out, stats } = applyRules(model, rules, ctx.driver);
      for (const [rule, n] of stats.applied) ctx.note(rule, n);
      // The float weights the rules replaced are now unread.
      return removeDeadCode(out);
    },
  },
});
