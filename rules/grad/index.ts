// The gradient rule table, indexed by op type (default domain).
import type { GradRule } from './rule.js';
import { activationRules } from './activations.js';
import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { matmulRules } from './matmul.js';
import { normRules } from './norm.js';
import { poolRules } from './pool.js';
import { quantRules } from './quant.js';
import { reduceRules } from './reduce.js';
import { shapeOpRules } from './shape-ops.js';

const families: readonly (readonly GradRule[])[] = [
  elementwiseRules, activationRules, matmulRules, shapeOpRules, reduceRules, normRules, convRules, poolRules, quantRules,
];

export const gradRules: ReadonlyMap<string, GradRule> = new Map(families.flat().map((r) => [r.op, r]));

export type { GradRule, GradContext } from './rule.js';
