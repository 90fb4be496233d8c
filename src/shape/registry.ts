// All rule families, indexed by op type: the driver looks a node's rule up by key, never through a switch.
import type { OpRule, RuleSet } from './context.js';
import { elementwiseRules } from './ops/elementwise.js';
import { unaryRules } from './ops/unary.js';
import { matmulRules } from './ops/matmul.js';
import { convRules } from './ops/conv.js';
import { poolRules } from './ops/pool.js';
import { reshapeRules } from './ops/reshape.js';
import { sliceRules } from './ops/slice.js';
import { gatherRules } from './ops/gather.js';
import { shapeOpRules } from './ops/shape-ops.js';
import { reduceRules } from './ops/reduce.js';
import { normRules } from './ops/norm.js';
import { resizeRules } from './ops/resize.js';
import { quantRules } from './ops/quant.js';
import { controlFlowRules } from './ops/control-flow.js';
import { attentionRules } from './ops/attention.js';
import { recurrentRules } from './ops/recurrent.js';
import { lossRules } from './ops/loss.js';
import { signalRules } from './ops/signal.js';
import { generatorRules } from './ops/generators.js';
import { miscRules } from './ops/misc.js';
import { mlRules } from './ops/ml.js';
import { contribRules } from './ops/contrib.js';

const families: readonly RuleSet[] = [
  elementwiseRules, unaryRules, matmulRules, convRules, poolRules, reshapeRules, sliceRules, gatherRules,
  shapeOpRules, reduceRules, normRules, resizeRules, quantRules, controlFlowRules, attentionRules, contribRules,
  recurrentRules, lossRules, signalRules, generatorRules, miscRules, mlRules,
];

const registry: ReadonlyMap<string, OpRule> = (() => {
  const map = new Map<string, OpRule>();
  for (const family of families) {
    for (const [key, rule] of Object.entries(family)) {
      if (map.has(key)) throw new Error(`two shape rules for ${key}`);
      map.set(key, rule);
    }
  }
  return map;
})();

/** 'Op' in the default domain, 'domain:Op' elsewhere. */
export function ruleKey(domain: string, opType: string): string {
  return domain === '' || domain === 'ai.onnx' ? opType : `${domain}:${opType}`;
}

export function ruleOf(domain: string, opType: string): OpRule | undefined {
  return registry.get(ruleKey(domain, opType));
}

/** Whether inference has a rule for the op. */
export function hasShapeRule(domain: string, opType: string): boolean {
  return registry.has(ruleKey(domain, opType));
}

/** Every op type with a rule (for coverage reports). */
export function coveredOps(): string[] {
  return [...registry.keys()].sort();
}
