// The float16 rule family: exact-in-float32 rewrites that make a node's constants fit float16 before conversion.
import { RuleSet } from '../../src/rewrite/rule.js';
import { foldBatchNormStats } from './fold-batchnorm-stats.js';

export { foldBatchNormStats };

export function fp16Rules(options: { readonly maxFinite: number }): RuleSet {
  return new RuleSet('fp16', [foldBatchNormStats(options.maxFinite)]);
}
