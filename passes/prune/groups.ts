// Channel groups for structured pruning: each healthy space of the dependency analysis, with the tensor axes that
// hold its channels. A space the analysis poisoned is reported with the reason and left whole.
import type { Graph, Model, Node } from '../../src/ir/model.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { analyzeDependencies, type DependencyAnalysis } from './analysis.js';

/** Where a group's channels sit along one axis of one tensor: runs of `units` equal blocks each. */
export interface GroupSlice {
  readonly name: string;
  readonly tensor: Tensor;
  readonly axis: number;
  readonly runs: readonly { readonly offset: number; readonly length: number }[];
  /** Running statistics: sliced with the group, left out of its importance. */
  readonly statistic: boolean;
}

export type GroupKind = 'mlp' | 'heads' | 'conv';

export interface ChannelGroup {
  /** conv: opened by a Conv; heads: cut into attention heads by a reshape; mlp: hidden units of linear layers. */
  readonly kind: GroupKind;
  /** The first producer's name: what reports and `skip` use. */
  readonly label: string;
  readonly sources: readonly Node[];
  readonly space: number;
  /** Prunable blocks (channels, heads, or key/value heads with their query heads). */
  readonly units: number;
  /** Output channels of the widest producer (query channels for heads; each member of a residual sum has as many). */
  readonly channels: number;
  readonly slices: readonly GroupSlice[];
}

export interface Rejection {
  readonly node: string;
  readonly reason: string;
}

export interface GroupAnalysis {
  readonly groups: readonly ChannelGroup[];
  readonly rejected: readonly Rejection[];
  readonly dependencies: DependencyAnalysis;
}

const cache = new WeakMap<Graph, GroupAnalysis>();
const labelOf = (n: Node): string => n.name || n.outputs[0];

export function findChannelGroups(graph: Graph, model: Pick<Model, 'irVersion' | 'opsetImport'>): GroupAnalysis {
  const hit = cache.get(graph);
  if (hit) return hit;
  const dependencies = analyzeDependencies(graph, model);
  const { spaces } = dependencies;
  const bySpace = new Map<number, Node[]>();
  const rejected: Rejection[] = [];
  for (const s of dependencies.sources) {
    const reason = spaces.poisoned(s.space);
    if (reason) { rejected.push({ node: labelOf(s.node), reason }); continue; }
    const root = spaces.find(s.space);
    bySpace.set(root, [...(bySpace.get(root) ?? []), s.node]);
  }
  const groups: ChannelGroup[] = [];
  for (const [space, sources] of bySpace) {
    const slices = slicesOf(graph, dependencies, space);
    const units = spaces.units(space);
    const channels = Math.max(...dependencies.sources.filter((s) => spaces.find(s.space) === space).map((s) => s.length));
    const coarse = dependencies.sources.some((s) => spaces.find(s.space) === space && s.length !== units);
    const kind: GroupKind = sources.some((n) => n.opType.startsWith('Conv')) ? 'conv' : coarse ? 'heads' : 'mlp';
    groups.push({ kind, label: labelOf(sources[0]), sources, space, units, channels, slices });
  }
  const out = { groups, rejected, dependencies };
  cache.set(graph, out);
  return out;
}

/** The axes holding `space`, one entry per tensor axis (readers agree: the analysis checked it). */
function slicesOf(graph: Graph, { spaces, slices }: DependencyAnalysis, space: number): GroupSlice[] {
  const seen = new Map<string, GroupSlice>();
  for (const s of slices) {
    const key = `${s.tensor}\u0000${s.axis}`;
    if (seen.has(key)) continue;
    const runs: { offset: number; length: number }[] = [];
    let offset = 0;
    for (const seg of s.layout) {
      if (seg.space !== undefined && spaces.find(seg.space) === space) runs.push({ offset, length: seg.length });
      offset += seg.length;
    }
    if (runs.length) seen.set(key, { name: s.tensor, tensor: graph.initializers.get(s.tensor)!, axis: s.axis, runs, statistic: s.statistic ?? false });
  }
  return [...seen.values()];
}
