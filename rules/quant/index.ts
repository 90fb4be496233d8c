// The quantization rule family.
import { RuleSet } from '../../src/rewrite/rule.js';
import type { Node } from '../../src/ir/model.js';
import { dynamicMatMul } from './dynamic-matmul.js';
import { shareDynamicQuantize } from './share-dynamic-quantize.js';
import { gemmToMatMul } from './gemm-to-matmul.js';
import { gatherWeight } from './gather-weight.js';

export { dynamicMatMul, shareDynamicQuantize, gemmToMatMul, gatherWeight };

export interface DynamicRulesOptions {
  readonly opTypes: readonly string[];
  readonly perChannel: boolean;
  readonly excluded: (node: Node) => boolean;
}

export function dynamicQuantRules(options: DynamicRulesOptions): RuleSet {
  return new RuleSet('quant-dynamic', [
    ...(options.opTypes.includes('Gemm') ? [gemmToMatMul(options.excluded)] : []),
    ...(options.opTypes.includes('MatMul') || options.opTypes.includes('Gemm') ? [dynamicMatMul(options)] : []),
    ...(options.opTypes.includes('Gather') ? [gatherWeight(options.excluded)] : []),
    shareDynamicQuantize,
  ]);
}
