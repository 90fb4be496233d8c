// prune: structured pruning. Finds channel groups (FFN / MLP hidden units between two MatMul or Gemm weights,
// conv output channels through BN and activations into the next conv), ranks channels by l1/l2 norm over the
// whole group and removes the least important ones, so the model really gets smaller in any runtime.
// This slice: mlp and conv groups only; attention heads, depthwise convs, residual Adds and Concat are reported
// as left alone (see passes/prune/groups.ts).
import { definePass } from '../src/passes/pass.js';
import { allclose, exact } from '../src/passes/contract.js';
import { mapGraphs } from '../src/rewrite/edit.js';
import { modelStats } from '../src/ir/analysis.js';
import type { Tensor } from '../src/ir/tensor.js';
import { exclusionPredicate } from './quant/exclusion.js';
import { findChannelGroups } from './prune/groups.js';
import { channelImportance, selectChannels, type Criterion } from './prune/select.js';
import { keepAlong, replaceInitializers } from './prune/transform.js';

export { findChannelGroups, type ChannelGroup, type ChannelSlice, type GroupAnalysis } from './prune/groups.js';
export { channelImportance, selectChannels } from './prune/select.js';

export const prune = definePass({
  name: 'prune',
  description: 'structured pruning: remove the least important FFN/MLP hidden units and conv output channels (l1/l2 norm over each channel group)',
  options: {
    ratio: { type: 'number', default: 0, min: 0, max: 0.999, description: 'share of each group\'s channels to remove (0 ≤ ratio < 1)' },
    criterion: { type: 'enum', values: ['l1_norm', 'l2_norm'], default: 'l1_norm', description: 'channel importance: sum over the group\'s tensors of the slice norms' },
    round_to: { type: 'integer', default: 1, min: 1, description: 'keep channel counts multiples of this (8 for SIMD)' },
    skip: { type: 'list', default: [], description: 'producer nodes whose groups stay whole: name substrings or /regex/' },
  },
  // Outputs change. When every removed channel's weights are zero the outputs stay allclose (what the property tests
  // check); otherwise the pass promises only a valid model with the same output shapes.
  contract: (o) => (o.ratio === 0 ? exact : allclose(1e-5, 1e-5)),
  configSections: ['Prune'],
  run: {
    kind: 'transform',
    transform(model, options, ctx) {
      if (options.ratio === 0) return model;
      const skipped = exclusionPredicate(options.skip);
      const out = mapGraphs(model, (graph, depth) => {
        if (depth > 0) return graph;
        const { groups, rejected } = findChannelGroups(graph, model.irVersion);
        for (const r of rejected) ctx.note(`left alone ${r.node}`, r.reason);
        const replaced = new Map<string, Tensor>();
        const stale = new Set<string>();
        for (const g of groups) {
          const name = g.producer.name || g.producer.outputs[0];
          if (skipped(g.producer)) { ctx.note(`skipped ${name}`, g.channels); continue; }
          const keep = selectChannels(channelImportance(g, options.criterion as Criterion), options.ratio, options.round_to);
          if (keep.length === g.channels) continue;
          for (const s of g.slices) replaced.set(s.name, keepAlong(s.tensor, s.axis, keep));
          for (const v of g.values) stale.add(v);
          ctx.note(`${g.kind} ${name}`, `${g.channels} -> ${keep.length}`);
        }
        return replaceInitializers(graph, replaced, stale);
      });
      if (out !== model) ctx.note('parameters', `${modelStats(model).parameters} -> ${modelStats(out).parameters}`);
      return out;
    },
  },
});
