// Figures the pruning bench reports for every model: the prune pass run with the verifier on, parameters and FLOPs,
// the pass's per-group notes counted, latency ratios, mean ± sd over seeds.
import { existsSync } from 'node:fs';
import os from 'node:os';
import { median } from './measure.js';
import { compile, estimateFlops, modelStats, prune, tensorTypeOf, type Model } from '../../src/index.js';

export interface PruneRequest {
  readonly ratio: number;
  readonly criterion: 'l1_norm' | 'l2_norm' | 'random';
  readonly seed?: number;
  readonly targets?: readonly ('mlp' | 'heads' | 'conv')[];
  readonly round_to?: number;
  /** Calibration feeds for compensation (none: plain pruning). */
  readonly calib_data?: unknown;
  readonly batch_num?: number;
  /** mean (the pass's default) or lstsq. */
  readonly compensation?: 'mean' | 'lstsq';
}

/** Fails the bench in one line when an input it needs is not there (or an argument is wrong). */
export function requireFile(file: string, what: string): string {
  if (!existsSync(file)) throw new BenchInputError(`missing ${what}: ${file}`);
  return file;
}

export class BenchInputError extends Error {}

export interface SizeFigures {
  readonly parameters: number;
  readonly flops: number;
  /** Nodes whose FLOPs the estimate could not count (unknown shapes). */
  readonly uncounted: number;
}

/** `inputShapes` sizes the symbolic dims of the named inputs (e.g. PP-OCR det `x: [1, 3, 640, 640]`). */
export function sizeFigures(model: Model, inputShapes: Readonly<Record<string, readonly number[]>> = {}): SizeFigures {
  const flops = estimateFlops(model, { dims: symbolicDims(model, inputShapes) });
  return { parameters: modelStats(model).parameters, flops: flops.total, uncounted: flops.unknown.length };
}

/** Symbol → size, read off the graph inputs' declared shapes against concrete ones. */
export function symbolicDims(model: Model, inputShapes: Readonly<Record<string, readonly number[]>>): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const input of model.graph.inputs) {
    const shape = inputShapes[input.name];
    const declared = input.type && tensorTypeOf(input.type)?.shape;
    if (!shape || !declared) continue;
    declared.forEach((d, i) => { if (typeof d === 'string' && d !== '') dims[d] = shape[i]; });
  }
  return dims;
}

export interface NotesSummary {
  /** Group kind (first word of the note: mlp, conv, heads, ...) → groups whose channels shrank. */
  readonly pruned: Record<string, number>;
  readonly leftAlone: number;
  readonly skipped: number;
  /** Left-alone reasons with node names blanked, most frequent first. */
  readonly reasons: ReadonlyArray<readonly [string, number]>;
  /** The pass's compensation note ("N of M consumers ..."), when it compensated. */
  readonly compensated?: string;
}

/**
 * Counts the prune pass's per-group notes: `<kind> <group>` = "... C -> K ..." for a pruned group, `left alone <node>`
 * = reason, `skipped <group>` for groups the `skip` option kept whole. One-word notes (totals) are not groups.
 */
export function summarizeNotes(notes: Readonly<Record<string, number | string>>): NotesSummary {
  const pruned: Record<string, number> = {};
  const reasons = new Map<string, number>();
  let leftAlone = 0, skipped = 0;
  let compensated: string | undefined;
  for (const [key, value] of Object.entries(notes)) {
    if (key === 'compensated') compensated = String(value);
    else if (key.startsWith('left alone')) {
      leftAlone++;
      const reason = String(value).replace(/'[^']*'/g, "'…'");
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    } else if (key.startsWith('skipped ')) skipped++;
    else if (key.includes(' ') && String(value).includes('->')) { // totals ('parameters', 'flops') are one word
      const kind = key.split(' ')[0];
      pruned[kind] = (pruned[kind] ?? 0) + 1;
    }
  }
  return { pruned, leftAlone, skipped, reasons: [...reasons].sort((a, b) => b[1] - a[1]), compensated };
}

export function formatNotesSummary(s: NotesSummary, topReasons = 3): string {
  const kinds = Object.entries(s.pruned).map(([k, n]) => `${k} ${n}`).join(', ');
  const total = Object.values(s.pruned).reduce((a, b) => a + b, 0);
  const lines = [`groups pruned ${total}${kinds ? ` (${kinds})` : ''}, left alone ${s.leftAlone}${s.skipped ? `, skipped ${s.skipped}` : ''}`
    + (s.compensated ? `; compensated ${s.compensated.split(' (')[0]}` : '')];
  for (const [reason, n] of s.reasons.slice(0, topReasons)) lines.push(`  left alone ×${n}: ${reason}`);
  if (s.reasons.length > topReasons) lines.push(`  (${s.reasons.length - topReasons} other reasons)`);
  return lines.join('\n');
}

export function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
}

export const fmtFlops = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : `${(n / 1e6).toFixed(1)} M`);

export const fmtParams = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n));

/** "before → after (ratio)" for parameters and FLOPs. */
export function formatSizes(before: SizeFigures, after: SizeFigures): string[] {
  const arrow = (a: string, b: string, r: number): string => `${a} -> ${b} (${r.toFixed(3)})`;
  return [
    arrow(fmtParams(before.parameters), fmtParams(after.parameters), after.parameters / before.parameters),
    arrow(fmtFlops(before.flops), fmtFlops(after.flops), after.flops / before.flops) + (after.uncounted ? ` [${after.uncounted} nodes uncounted]` : ''),
  ];
}

export const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');

export type PruneOutcome =
  | { readonly ok: true; readonly model: Model; readonly notes: Readonly<Record<string, number | string>>; readonly ms: number }
  | { readonly ok: false; readonly reason: string };

/** Runs the prune pass with the verifier on, so a malformed result is an outcome to report, not a crash later. */
export async function applyPrune(model: Model, request: PruneRequest): Promise<PruneOutcome> {
  const t0 = performance.now();
  try {
    const { model: out, reports } = await compile(model, [prune(request)], { verify: true });
    return { ok: true, model: out, notes: reports[0].notes, ms: performance.now() - t0 };
  } catch (e) {
    return { ok: false, reason: `prune failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

/**
 * Output width of every MatMul whose node name matches `pattern` (group 1: the layer, group 2: the projection,
 * e.g. `wq`), per layer in graph order: what attention heads and FFN widths look like after pruning.
 */
export function projectionWidths(model: Model, pattern: RegExp): Array<Record<string, number>> {
  const layers = new Map<string, Record<string, number>>();
  for (const n of model.graph.nodes) {
    const m = n.opType === 'MatMul' ? pattern.exec(n.name) : null;
    const w = m ? model.graph.initializers.get(n.inputs[1]) : undefined;
    if (!m || !w) continue;
    const layer = layers.get(m[1]) ?? {};
    layer[m[2]] = w.dims[w.dims.length - 1];
    layers.set(m[1], layer);
  }
  return [...layers.values()];
}

/** The pass's time and per-group counts under `label`, or why there is no pruned model. */
export function notesLine(label: string, o: PruneOutcome): string {
  return o.ok ? `${label} (${o.ms.toFixed(0)} ms): ${formatNotesSummary(summarizeNotes(o.notes))}` : `${label}: ${o.reason}`;
}

export interface LatencyComparison {
  readonly baseMs: number;
  readonly prunedMs: number;
  /** Of medians (what the target reads). */
  readonly ratio: number;
  /** Median of per-round ratios. */
  readonly paired: number;
  /** Of minimums: the least disturbed runs. */
  readonly minRatio: number;
  /** Max / min of the baseline's samples: far above 1 when other processes took the cores during the loop. */
  readonly spread: number;
}

export function compareLatency(base: readonly number[], pruned: readonly number[]): LatencyComparison {
  const baseMs = median(base), prunedMs = median(pruned);
  return {
    baseMs, prunedMs, ratio: prunedMs / baseMs,
    paired: median(pruned.map((v, i) => v / base[i])),
    minRatio: Math.min(...pruned) / Math.min(...base),
    spread: Math.max(...base) / Math.min(...base),
  };
}

export function formatLatency(c: LatencyComparison): string {
  return `${c.ratio.toFixed(3)} (paired ${c.paired.toFixed(3)}, mins ${c.minRatio.toFixed(3)})`;
}

/** A warning when the samples say the machine was busy (the quant bench's rule: spread over 1.5×). */
export function noiseWarning(c: LatencyComparison, loadBefore: number, loadAfter: number): string {
  const busy = c.spread > 1.5 || Math.max(loadBefore, loadAfter) > os.cpus().length;
  return `unpruned max/min ${c.spread.toFixed(2)}x, 1-min load ${loadBefore.toFixed(1)} before / ${loadAfter.toFixed(1)} after on ${os.cpus().length} CPUs` +
    (busy ? ' -- other processes competed for the cores: latency figures are noisy, rerun on a quiet machine' : '');
}
