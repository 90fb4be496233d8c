// cleanup: Constant nodes → initializers, identity and inference-Dropout removal, constant folding of shape
// arithmetic, dead code elimination, duplicate-initializer merging and (opt-in) duplicate-node merging. Outputs stay
// bitwise equal.
import { castDraft, produce } from 'immer';
import type { Model } from '../src/ir/model.js';
import { definePass } from '../src/passes/pass.js';
import { exact } from '../src/passes/contract.js';
import { applyRules } from '../src/rewrite/driver.js';
import { mapGraphs } from '../src/rewrite/edit.js';
import { makeValueInfo } from '../src/ir/builder.js';
import { modelStats } from '../src/ir/analysis.js';
import { cleanupRules } from '../rules/cleanup/index.js';
import { constantsToInitializers } from './cleanup/constants-to-initializers.js';
import { removeDeadCode } from '../src/rewrite/dead-code.js';
import { dedupeInitializers } from './cleanup/dedupe-initializers.js';
import { dedupeNodes } from './cleanup/dedupe-nodes.js';

/** Before IR 4 every initializer must also be a graph input. */
function legalizeInitializers(model: Model): Model {
  if (Number(model.irVersion) >= 4) return model;
  const g = model.graph;
  const inputs = new Set(g.inputs.map((v) => v.name));
  const missing = [...g.initializers].filter(([name]) => !inputs.has(name));
  const live = (name: string): boolean => g.initializers.has(name);
  const stale = g.inputs.filter((v) => !live(v.name) && !g.nodes.some((n) => n.inputs.includes(v.name)) && !g.outputs.some((o) => o.name === v.name));
  if (missing.length === 0 && stale.length === 0) return model;
  return produce(model, (d) => {
    const kept = g.inputs.filter((v) => !stale.includes(v));
    d.graph.inputs = castDraft([...kept, ...missing.map(([name, t]) => makeValueInfo(name, t.dataType, t.dims))]);
  });
}

export const cleanup = definePass({
  name: 'cleanup',
  description: 'dead code, identities, Constant nodes to initializers, constant folding of shape arithmetic, duplicate nodes and initializers',
  options: {
    fold_constants: { type: 'boolean', default: true, description: 'fold small all-constant subgraphs (shape arithmetic)' },
    fold_max_elements: { type: 'integer', default: 4096, min: 1, description: 'largest tensor, in elements, that folding may read or produce' },
    dedupe_initializers: { type: 'boolean', default: true, description: 'merge initializers with identical contents' },
    // Off by default: prune follows each head Reshape's own shape arithmetic, which merging would share between the
    // q, k and v projections. quant merges duplicates itself, right before placing Q/DQ.
    dedupe_nodes: { type: 'boolean', default: false, description: 'merge nodes computing the same value (same op, inputs and attributes; never random ops or Q/DQ)' },
  },
  contract: exact,
  configSections: ['Cleanup'],
  run: {
    kind: 'transform',
    transform(model, options, ctx) {
      const counted = (step: (m: Model) => Model, note: string, measure: (m: Model) => number): ((m: Model) => Model) => (m) => {
        const out = step(m);
        const delta = measure(m) - measure(out);
        if (delta) ctx.note(note, delta);
        return out;
      };
      const nodes = (m: Model): number => modelStats(m).nodes;
      const initializers = (m: Model): number => modelStats(m).initializers;
      let m = counted((x) => mapGraphs(x, constantsToInitializers), 'constant nodes to initializers', nodes)(model);
      const { model: rewritten, stats } = applyRules(m, cleanupRules({ fold: options.fold_constants, foldMaxElements: options.fold_max_elements }), ctx.driver);
      for (const [rule, n] of stats.applied) ctx.note(rule, n);
      m = counted(removeDeadCode, 'dead nodes removed', nodes)(rewritten);
      // After the initializers merge, nodes that read equal constants under two names become duplicates too.
      if (options.dedupe_initializers) m = counted((x) => mapGraphs(x, dedupeInitializers), 'duplicate initializers merged', initializers)(m);
      if (options.dedupe_nodes) m = counted((x) => mapGraphs(x, dedupeNodes), 'duplicate nodes merged', nodes)(m);
      return legalizeInitializers(m);
    },
  },
});
