// Last sweep of every quant mode: forms that are exact rewrites but run faster in onnxruntime than what its own
// graph optimizer would fuse them into.
import type { Model } from '../../src/ir/model.js';
import type { PassContext } from '../../src/passes/pass.js';
import { applyRules } from '../../src/rewrite/driver.js';
import { RuleSet } from '../../src/rewrite/rule.js';
import { flattenResidualLayerNorm } from '../../rules/quant/flatten-residual-layernorm.js';

const ORT_LAYOUT = new RuleSet('quant-ort-layout', [flattenResidualLayerNorm]);

/** `model` with the layout rules applied; `ctx` (inside the quant pass) gets the driver options and the counts. */
export function flattenResidualLayerNorms(model: Model, ctx?: PassContext): Model {
  const { model: out, stats } = applyRules(model, ORT_LAYOUT, ctx?.driver);
  if (ctx) for (const [rule, n] of stats.applied) ctx.note(rule, n);
  return out;
}
