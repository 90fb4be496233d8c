// prune: structured pruning. A channel dependency analysis (passes/prune/analysis.ts) finds the groups of tensor
// axes that must shrink together — FFN/MLP hidden units (SwiGLU gate and up included), attention heads (key/value
// heads with their query heads under grouped-query attention), conv channels through BN, activations, depthwise
// convs, residual Adds and Concats — ranks each group's units by l1/l2 norm over all its tensors, and removes the
// least important, so the model really gets smaller and faster in any runtime. What it cannot follow stays whole
// and is reported with the reason. With calibration data, each removed channel's mean activation is folded into its
// consumer's bias (passes/prune/compensate.ts), or each consumer's kept weights and bias are solved by least squares
// to reproduce its unpruned output (passes/prune/reconstruct.ts).
import { definePass, type PassContext } from '../src/passes/pass.js';
import { OptionError, type OptionsOf, type OptionsSchema } from '../src/passes/options.js';
import { allclose, exact } from '../src/passes/contract.js';
import { mapGraphs } from '../src/rewrite/edit.js';
import { modelStats } from '../src/ir/analysis.js';
import type { Graph, Model, Node } from '../src/ir/model.js';
import { estimateFlops } from '../src/analysis/flops.js';
import { exclusionPredicate } from './quant/exclusion.js';
import { findChannelGroups, type ChannelGroup } from './prune/groups.js';
import { chooseUnits, type Criterion, globalKeptCounts, keptCount, unitImportance } from './prune/select.js';
import { applyChoice } from './prune/transform.js';
import { compensate, type CompensationPlan } from './prune/compensate.js';
import { reconstruct } from './prune/reconstruct.js';
import { calibrationData, type CalibrationSource } from '../src/calib/data.js';

export { findChannelGroups, type ChannelGroup, type GroupAnalysis, type GroupSlice, type Rejection } from './prune/groups.js';
export { unitImportance, keptCount, chooseUnits } from './prune/select.js';
export { analyzeDependencies } from './prune/analysis.js';

const KINDS = ['mlp', 'heads', 'conv'] as const;

const PRUNE_OPTIONS = {
  ratio: { type: 'number', default: 0, min: 0, max: 0.999, aliases: ['pruned_ratio'], description: 'share of each group\'s units to remove (pruned_ratio); with scope global, share of the prunable parameters' },
  criterion: { type: 'enum', values: ['l1_norm', 'l2_norm', 'random'], default: 'l1_norm', description: 'unit importance: sum over the group\'s tensors of the slice norms (random: a seeded baseline)' },
  seed: { type: 'integer', default: 0, min: 0, description: 'seed of the random criterion' },
  targets: { type: 'list', default: [...KINDS], description: 'group kinds to prune: mlp (FFN/MLP hidden units), heads (attention heads), conv (conv channels)' },
  scope: { type: 'enum', values: ['layer', 'global'], default: 'layer', description: 'layer: every group at `ratio`; global: units ranked across groups' },
  floor: { type: 'number', default: 0.1, min: 0, max: 1, description: 'with scope global, the share of each group\'s units that always stays' },
  round_to: { type: 'integer', default: 1, min: 1, description: 'keep channel counts multiples of this (8 for SIMD; not applied to heads)' },
  reorder: { type: 'boolean', default: false, description: 'sort each group\'s units by importance (most important first); with ratio 0 nothing is removed' },
  skip: { type: 'list', default: [], description: 'producer nodes whose groups stay whole: name (first output name for an unnamed node) substrings or /regex/' },
  ratios: { type: 'list', default: [], description: 'per-group ratios overriding ratio (PaddleSlim\'s per-parameter pruned ratios, e.g. from a sensitivity analysis): pattern=ratio, the pattern matching producer names as skip does; the first match wins; scope layer only' },
  compensate: { type: 'boolean', default: true, description: 'compensate the consumers of removed channels on calibration data (see compensation); needs calib or calib_data, nothing is compensated without' },
  compensation: { type: 'enum', values: ['mean', 'lstsq'], default: 'mean', description: 'mean: fold each removed channel\'s mean activation into its consumer\'s bias; lstsq: solve each consumer\'s kept weights and bias by ridge least squares to reproduce its unpruned output' },
  sequential: { type: 'boolean', default: true, description: 'lstsq: solve consumers stage by stage on the pruned model\'s own inputs (corrects the error of earlier layers; the data is read once per stage, so calib_data must be re-iterable, e.g. an array); false: one run of the unpruned model' },
  ridge: { type: 'number', default: 0.1, min: 0, description: 'lstsq: how hard the solve pulls toward the kept weights as they were (λ as a multiple of the mean squared kept input feature; large: mean compensation); 0: chosen per consumer by 4-fold cross-validation over the calibration samples (slow on wide layers)' },
  calib: { type: 'string', default: '', description: 'compensation data: a folder of test_data_set_*/input_N.pb folders or of <input>.npy files (--prune-calib DIR)' },
  calib_data: { type: 'data', default: undefined, description: 'compensation feeds as an (async) iterable of {input: Tensor} (in code)' },
  batch_num: { type: 'integer', default: 10, min: 1, description: 'calibration batches run for compensation' },
} as const satisfies OptionsSchema;

type PruneOptions = OptionsOf<typeof PRUNE_OPTIONS>;

export const prune = definePass({
  name: 'prune',
  description: 'structured pruning: remove the least important FFN/MLP hidden units, attention heads and conv channels (l1/l2 norm over each dependency group); '
    + 'with calibration data, each removed channel\'s mean activation is folded into its consumer\'s bias, or (compensation lstsq) each consumer '
    + 'is refitted by least squares to its unpruned output (without data, no compensation)',
  options: PRUNE_OPTIONS,
  // Outputs change. When every removed unit's weights are zero the outputs stay allclose (what the property tests
  // check), and reordering alone keeps them allclose; otherwise the pass promises a valid model with the same
  // output shapes.
  contract: (o) => (o.ratio === 0 && o.ratios.length === 0 && !o.reorder ? exact : allclose(1e-4, 1e-5)),
  configSections: ['Prune'],
  run: {
    kind: 'transform',
    async transform(model, options, ctx) {
      if (options.ratio === 0 && options.ratios.length === 0 && !options.reorder) return model;
      const unknown = options.targets.filter((t) => !(KINDS as readonly string[]).includes(t));
      if (unknown.length) throw new Error(`prune: unknown target '${unknown[0]}' (expected ${KINDS.join(', ')})`);
      const pruned: PrunedGroup[] = [];
      let plan: CompensationPlan | undefined;
      const out = mapGraphs(model, (graph, depth) => (depth > 0 ? graph : pruneGraph(graph, model, options, ctx, pruned, (p) => { plan = p; })));
      const source = (options.calib_data ?? (options.calib || undefined)) as CalibrationSource | undefined;
      if (out === model || !plan || !options.compensate || !source) {
        if (out !== model) report(model, out, pruned, ctx);
        return out;
      }
      const data = calibrationData(model, source, { batchNum: options.batch_num });
      let graph: Graph, how: string;
      if (options.compensation === 'lstsq') {
        const r = await reconstruct(model, out.graph, plan, data, { ridge: options.ridge, sequential: options.sequential });
        ({ graph } = r);
        how = `${r.compensated} of ${r.sinks} consumers of removed channels (least-squares reconstruction, `
          + `${options.sequential ? `sequential, ${r.stages} stages` : 'one-shot'}, ${ridgeSummary(options.ridge, r.ridges)})`;
      } else {
        const r = await compensate(model, out.graph, plan, data);
        ({ graph } = r);
        how = `${r.compensated} of ${r.sinks} consumers of removed channels (mean activations folded into their biases)`;
      }
      const next = graph === out.graph ? out : { ...out, graph };
      ctx.note('compensated', how);
      report(model, next, pruned, ctx);
      return next;
    },
  },
});

/** "ridge 0.1", or the cross-validated choices counted ("ridge by cross-validation: 0.1 ×3, 1 ×2"). */
function ridgeSummary(fixed: number, used: readonly number[]): string {
  if (fixed > 0) return `ridge ${fixed}`;
  const counts = new Map<number, number>();
  for (const r of used) counts.set(r, (counts.get(r) ?? 0) + 1);
  return `ridge by cross-validation: ${[...counts].sort((a, b) => a[0] - b[0]).map(([r, n]) => `${r} ×${n}`).join(', ')}`;
}

interface PrunedGroup {
  readonly group: ChannelGroup;
  readonly kept: number;
  /** Nodes reading the group's tensors, by first output (how FLOPs are attributed to it). */
  readonly readers: readonly string[];
}

function pruneGraph(
  graph: Graph, model: Model, options: PruneOptions, ctx: PassContext, pruned: PrunedGroup[], planned: (p: CompensationPlan) => void,
): Graph {
  const { groups, rejected, dependencies } = findChannelGroups(graph, model);
  for (const r of rejected) ctx.note(`left alone ${r.node}`, r.reason);
  // Unnamed producers (SqueezeNet's) are matched, and labelled in the notes, by their first output.
  const matches = exclusionPredicate(options.skip);
  const skipped = (n: Node): boolean => matches(labelled(n));
  const chosen: ChannelGroup[] = [];
  for (const g of groups) {
    if (!options.targets.includes(g.kind)) continue;
    if (g.sources.some(skipped)) { ctx.note(`skipped ${g.label}`, `${g.units} units`); continue; }
    chosen.push(g);
  }
  const importance = chosen.map((g) => unitImportance(g, options.criterion as Criterion, options.seed));
  const ratioOf = groupRatios(options, (g: ChannelGroup) => g.sources.map(labelled));
  const counts = options.scope === 'global'
    ? globalKeptCounts(chosen, importance, options.ratio, options.floor)
    : chosen.map((g) => keptCount(g.units, ratioOf(g), g.kind === 'heads' ? 1 : options.round_to));
  const choice = new Map<number, number[]>();
  chosen.forEach((g, i) => {
    if (counts[i] === g.units && !options.reorder) return;
    choice.set(g.space, chooseUnits(importance[i], counts[i], options.reorder));
    const tensors = new Set(g.slices.map((s) => s.name));
    const readers = dependencies.slices.filter((s) => tensors.has(s.tensor)).map((s) => s.reader.outputs[0]);
    pruned.push({ group: g, kept: counts[i], readers: [...new Set(readers)] });
  });
  planned({ dependencies, choice });
  return applyChoice(graph, dependencies, choice);
}

/** Unnamed producers (SqueezeNet's) go by their first output's name. */
const labelled = (n: Node): Node => (n.name ? n : { ...n, name: n.outputs[0] });

/** Each group's ratio: the first `ratios` entry whose pattern matches one of its producers, else `ratio`. */
function groupRatios(options: PruneOptions, producers: (g: ChannelGroup) => readonly Node[]): (g: ChannelGroup) => number {
  if (options.ratios.length && options.scope === 'global') throw new OptionError('prune: per-group ratios apply with scope layer, not global');
  const overrides = options.ratios.map((entry) => {
    const at = entry.lastIndexOf('=');
    const ratio = Number(entry.slice(at + 1));
    if (at <= 0 || entry.slice(at + 1).trim() === '' || !(ratio >= 0 && ratio < 1)) throw new OptionError(`prune: ratios entry '${entry}' should read pattern=ratio with a ratio in [0, 1)`);
    return { matches: exclusionPredicate([entry.slice(0, at)]), ratio };
  });
  return (g) => overrides.find((o) => producers(g).some(o.matches))?.ratio ?? options.ratio;
}

/** Per pruned group: units, channels, parameters and FLOPs before → after (FLOPs of the nodes reading its
 *  tensors, symbolic dims as 1); then the whole model's. */
function report(before: Model, after: Model, pruned: readonly PrunedGroup[], ctx: PassContext): void {
  const [fb, fa] = [estimateFlops(before), estimateFlops(after)];
  const flopsOf = (byNode: ReadonlyMap<string, number>, nodes: readonly string[]) => nodes.reduce((n, o) => n + (byNode.get(o) ?? 0), 0);
  for (const { group: g, kept, readers } of pruned) {
    const share = kept / g.units;
    const params = g.slices.reduce((n, s) => n + (s.tensor.size / s.tensor.dims[s.axis]) * s.runs.reduce((k, r) => k + r.length, 0), 0);
    ctx.note(`${g.kind} ${g.label}`, `units ${g.units} -> ${kept}, channels ${g.channels} -> ${g.channels * share}, `
      + `params ${params} -> ${Math.round(params * share)}, flops ${flopsOf(fb.byNode, readers)} -> ${flopsOf(fa.byNode, readers)}`);
  }
  ctx.note('parameters', `${modelStats(before).parameters} -> ${modelStats(after).parameters}`);
  ctx.note('flops', `${fb.total} -> ${fa.total}`);
}
