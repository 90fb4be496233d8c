// The static (QDQ) quantization rule family, in the rule sets the pass applies one after the other:
//   prepare  float rewrites that let more of the model fuse (BatchNormalization folded into its Conv), before placement
//   kernels  quantizers in front of kernels, int8 weights, int32 biases (keyed by the kernels' outputs, which
//            these rules leave alone); float Attention → QAttention; MatMul + bias Add → MatMulIntegerToFloat where
//            onnxruntime makes no Gemm of them
//   outputs  quantizers right after the nodes whose outputs are quantized (renames those outputs, so it runs after)
//   cleanup  clips made redundant by their quantizer, duplicate quantizers
// plus the range rules the placement applies before calibration.
import { RuleSet } from '../../../src/rewrite/rule.js';
import type { Node } from '../../../src/ir/model.js';
import type { RangeRule } from '../../../src/quant/placement.js';
import { gatherWeight } from '../gather-weight.js';
import type { StaticQuantData } from './data.js';
import { quantizeInput } from './quantize-input.js';
import { quantizeWeightRule } from './quantize-weight.js';
import { quantizeBias } from './quantize-bias.js';
import { quantizeAttention } from './quantize-attention.js';
import { matmulIntegerToFloat } from './matmul-integer-to-float.js';
import { quantizeOutput } from './quantize-output.js';
import { removeClip } from './remove-clip.js';
import { shareQuantize } from './share-quantize.js';
import { adoptClipRange } from './adopt-clip-range.js';
import { foldBatchNorm } from './fold-batchnorm.js';

export type { StaticQuantData, Quantizer } from './data.js';
export { quantizeInput, quantizeWeightRule, quantizeBias, quantizeAttention, matmulIntegerToFloat, quantizeOutput, removeClip, shareQuantize, adoptClipRange, foldBatchNorm };

export const staticRangeRules: readonly RangeRule[] = [adoptClipRange];

export interface StaticRuleSets {
  readonly kernels: RuleSet;
  readonly outputs: RuleSet;
  readonly cleanup: RuleSet;
}

/** Rewrites of the float model before placement and calibration. */
export function staticPrepareRules(excluded: (node: Node) => boolean): RuleSet {
  return new RuleSet('quant-static-prepare', [foldBatchNorm(excluded)]);
}

export function staticQuantRules(data: StaticQuantData, options: { producerOps: readonly string[]; gather?: (node: Node) => boolean }): StaticRuleSets {
  return {
    kernels: new RuleSet('quant-static-kernels', [
      quantizeInput(data), quantizeWeightRule(data), quantizeBias(data), quantizeAttention(data), matmulIntegerToFloat(data),
      ...(options.gather ? [gatherWeight(options.gather)] : []),
    ]),
    outputs: new RuleSet('quant-static-outputs', options.producerOps.length ? [quantizeOutput(data, options.producerOps)] : []),
    cleanup: new RuleSet('quant-static-cleanup', [removeClip, shareQuantize]),
  };
}
