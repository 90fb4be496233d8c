// Importance of each unit over the whole group, and which units to keep: per group at one ratio, or globally
// (units of all groups ranked together, each group keeping at least a floor).
import type { ChannelGroup, GroupSlice } from './groups.js';
import { rng } from '../../src/runtime/feeds.js';

export type Criterion = 'l1_norm' | 'l2_norm' | 'random';

/** Per unit: the sum over the group's tensor axes of the unit's slice norm (l1, or l2), or a seeded draw. */
export function unitImportance(group: ChannelGroup, criterion: Criterion, seed = 0): Float64Array {
  const total = new Float64Array(group.units);
  if (criterion === 'random') {
    const next = rng(seed * 7919 + hashOf(group.label));
    return total.map(() => next());
  }
  for (const s of group.slices) {
    if (s.statistic) continue;
    const perChannel = channelSums(s, criterion);
    for (const run of s.runs) {
      const unitSize = run.length / group.units;
      for (let u = 0; u < group.units; u++) {
        let acc = 0;
        for (let c = 0; c < unitSize; c++) acc += perChannel[run.offset + u * unitSize + c];
        total[u] += criterion === 'l2_norm' ? Math.sqrt(acc) : acc;
      }
    }
  }
  return total;
}

/** Sum of |x| (l1) or x² (l2) per index along the slice's axis. */
function channelSums(s: GroupSlice, criterion: Criterion): Float64Array {
  const data = s.tensor.toFloat32();
  const n = s.tensor.dims[s.axis];
  const inner = s.tensor.dims.slice(s.axis + 1).reduce((a, b) => a * b, 1);
  const acc = new Float64Array(n);
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    acc[Math.floor(i / inner) % n] += criterion === 'l2_norm' ? x * x : Math.abs(x);
  }
  return acc;
}

/** Parameters one unit of the group holds (what global selection weighs). */
export function unitCost(group: ChannelGroup): number {
  let cost = 0;
  for (const s of group.slices) {
    const perIndex = s.tensor.size / s.tensor.dims[s.axis];
    for (const run of s.runs) cost += (run.length / group.units) * perIndex;
  }
  return cost;
}

/** Units kept at `ratio` of one group: floor(units × ratio) go, at least one stays, rounded up to `roundTo`. */
export function keptCount(units: number, ratio: number, roundTo = 1): number {
  let keep = Math.max(1, units - Math.floor(units * ratio));
  if (roundTo > 1) keep = Math.min(units, Math.ceil(keep / roundTo) * roundTo);
  return keep;
}

/**
 * Global selection: units of all groups ranked by importance relative to their group's mean, removed cheapest
 * score first while the removed parameters stay within `ratio` of the groups'; no group drops below `floor` of its units.
 */
export function globalKeptCounts(groups: readonly ChannelGroup[], importance: readonly Float64Array[], ratio: number, floor: number): number[] {
  const costs = groups.map(unitCost);
  const budget = ratio * groups.reduce((n, g, i) => n + g.units * costs[i], 0);
  const ranked = groups.flatMap((g, i) => {
    const mean = importance[i].reduce((a, b) => a + b, 0) / g.units || 1;
    return Array.from(importance[i], (v, u) => ({ group: i, unit: u, score: v / mean }));
  }).sort((a, b) => a.score - b.score || a.group - b.group || a.unit - b.unit);
  const kept = groups.map((g) => g.units);
  const minimum = groups.map((g) => Math.max(1, Math.ceil(g.units * floor)));
  let removed = 0;
  for (const r of ranked) {
    // Units that would overshoot the budget are passed over for cheaper ones further down the ranking.
    if (kept[r.group] <= minimum[r.group] || removed + costs[r.group] > budget) continue;
    kept[r.group]--;
    removed += costs[r.group];
  }
  return kept;
}

/** The `keep` most important units: ascending index order, or most important first when reordering. */
export function chooseUnits(importance: ArrayLike<number>, keep: number, reorder: boolean): number[] {
  const order = Array.from({ length: importance.length }, (_, i) => i).sort((a, b) => importance[b] - importance[a] || a - b);
  const chosen = order.slice(0, keep);
  return reorder ? chosen : chosen.sort((a, b) => a - b);
}

function hashOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
