// One model pruned with every criterion (l1, l2, random over seeds) at the same ratio and targets, a quality metric
// evaluated on each, and the comparison the pruning issue asks for: does l1 beat random channels?
import type { Model } from '../../src/index.js';
import { table } from './measure.js';
import {
  applyPrune, fmtParams, formatSizes, meanSd, notesLine, type PruneOutcome, type PruneRequest, type SizeFigures,
} from './prune-report.js';

export interface Variant {
  readonly label: string;
  readonly criterion: PruneRequest['criterion'];
  readonly outcome: PruneOutcome;
}

/** l1, l2, then random with seeds 1..seeds (`base` may carry calibration data for compensation). */
export async function criterionSweep(model: Model, base: Omit<PruneRequest, 'criterion' | 'seed'>, seeds: number): Promise<Variant[]> {
  const variants: Variant[] = [];
  for (const criterion of ['l1_norm', 'l2_norm'] as const) variants.push({ label: criterion, criterion, outcome: await applyPrune(model, { ...base, criterion }) });
  for (let seed = 1; seed <= seeds; seed++) {
    variants.push({ label: `random seed ${seed}`, criterion: 'random', outcome: await applyPrune(model, { ...base, criterion: 'random', seed }) });
  }
  return variants;
}

export interface Column<M> {
  readonly key: keyof M & string;
  readonly label: string;
  readonly fmt: (x: number) => string;
}

export interface SweepReport {
  /** The table, the l1 variant's notes summary and any warning, ready to print. */
  readonly text: string;
  /** l1_norm beats the mean of the random seeds on the first column. */
  readonly l1VsRandom: { readonly target: string; readonly ok: boolean; readonly detail: string };
  readonly json: unknown;
}

/**
 * Evaluates fp32 and every variant that pruned; one row per criterion, random as mean ± sd over its seeds (each
 * seed listed). `better` says which way the first column improves.
 */
export async function sweepReport<M extends Record<string, number>>(
  fp32: Model, variants: readonly Variant[], evaluate: (m: Model) => Promise<M>,
  columns: ReadonlyArray<Column<M>>, better: 'lower' | 'higher', sizeOf: (m: Model) => SizeFigures,
): Promise<SweepReport> {
  const base = await evaluate(fp32);
  const size0 = sizeOf(fp32);
  const scores = new Map<Variant, M>();
  // A pruned model onnxruntime cannot run is that variant's result (named in its row), not the end of the sweep.
  const failures = new Map<Variant, string>();
  for (const v of variants) {
    if (!v.outcome.ok) continue;
    try {
      scores.set(v, await evaluate(v.outcome.model));
    } catch (e) {
      failures.set(v, `evaluation failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const note = (v: Variant): string => failures.get(v) ?? (v.outcome.ok ? '' : v.outcome.reason);
  const sizeCells = (o: PruneOutcome | undefined): string[] => (o?.ok ? formatSizes(size0, sizeOf(o.model)) : ['', '']);

  const rows: string[][] = [['variant', ...columns.map((c) => c.label), 'parameters', 'FLOPs', 'note']];
  rows.push(['fp32', ...columns.map((c) => c.fmt(base[c.key])), fmtParams(size0.parameters), '', '']);
  for (const v of variants.filter((x) => x.criterion !== 'random')) {
    const s = scores.get(v);
    rows.push([v.label, ...columns.map((c) => (s ? c.fmt(s[c.key]) : 'n/a')), ...sizeCells(v.outcome), note(v)]);
  }
  const randoms = variants.filter((x) => x.criterion === 'random');
  const randomScores = randoms.map((v) => scores.get(v)).filter((s): s is M => s !== undefined);
  const spread = (c: Column<M>): string => {
    if (randomScores.length === 0) return 'n/a';
    const { mean, sd } = meanSd(randomScores.map((s) => s[c.key]));
    return `${c.fmt(mean)} ± ${c.fmt(sd)} [${randomScores.map((s) => c.fmt(s[c.key])).join(' ')}]`;
  };
  rows.push([`random (${randomScores.length} seeds)`, ...columns.map(spread),
    ...sizeCells(randoms.find((v) => v.outcome.ok)?.outcome), [...new Set(randoms.map(note).filter(Boolean))].join('; ')]);

  const l1Variant = variants.find((v) => v.criterion === 'l1_norm');
  const lines = [table(rows), ''];
  if (l1Variant) lines.push(notesLine('prune notes (l1_norm)', l1Variant.outcome));
  const unchanged = variants.filter((v) => v.outcome.ok && sizeOf(v.outcome.model).parameters === size0.parameters);
  if (unchanged.length) lines.push(`note: ${unchanged.map((v) => v.label).join(', ')} left the parameter count unchanged (nothing pruned)`);

  const main = columns[0];
  const target = `l1_norm ${main.label} ${better === 'lower' ? '<' : '>'} random mean`;
  const l1 = l1Variant && scores.get(l1Variant);
  let l1VsRandom: SweepReport['l1VsRandom'];
  if (!l1) l1VsRandom = { target, ok: false, detail: `no l1 figures${l1Variant ? `: ${note(l1Variant)}` : ''}` };
  else if (randomScores.length === 0) l1VsRandom = { target, ok: false, detail: `no random figures: ${randoms[0] ? note(randoms[0]) : 'no seeds'}` };
  else {
    const randomMean = meanSd(randomScores.map((s) => s[main.key])).mean;
    const ok = better === 'lower' ? l1[main.key] < randomMean : l1[main.key] > randomMean;
    l1VsRandom = { target, ok, detail: `${main.fmt(l1[main.key])} vs ${main.fmt(randomMean)}` };
  }
  const json = {
    fp32: { ...base, ...size0 },
    variants: variants.map((v) => ({
      label: v.label,
      ...(v.outcome.ok
        ? { ...scores.get(v), ...sizeOf(v.outcome.model), notes: v.outcome.notes, ms: v.outcome.ms }
        : { error: v.outcome.reason }),
      ...(failures.has(v) ? { error: failures.get(v) } : {}),
    })),
  };
  return { text: lines.join('\n'), l1VsRandom, json };
}

export interface CompensationComparison {
  /** The three tables (plain, mean, least squares), ready to print. */
  readonly text: string;
  /** l1 vs random: uncompensated and mean-compensated (info), least-squares reconstruction (the target). */
  readonly plain: SweepReport['l1VsRandom'];
  readonly mean: SweepReport['l1VsRandom'];
  readonly lstsq: SweepReport['l1VsRandom'];
  readonly json: { readonly plain: unknown; readonly mean: unknown; readonly lstsq: unknown };
  /** The plain sweep's variants (for checks on the pruned shapes). */
  readonly variants: readonly Variant[];
}

/**
 * The same sweep three times: plain pruning; each removed channel's mean activation over `calib` folded into its
 * consumer's bias; each consumer refitted by least squares (sequential, the pass's default ridge). The same
 * evaluation on all three.
 */
export async function compensationSweeps<M extends Record<string, number>>(
  fp32: Model, base: Omit<PruneRequest, 'criterion' | 'seed' | 'calib_data'>, seeds: number, calib: unknown,
  evaluate: (m: Model) => Promise<M>, columns: ReadonlyArray<Column<M>>, better: 'lower' | 'higher', sizeOf: (m: Model) => SizeFigures,
): Promise<CompensationComparison> {
  const variants = await criterionSweep(fp32, base, seeds);
  const plain = await sweepReport(fp32, variants, evaluate, columns, better, sizeOf);
  const mean = await sweepReport(fp32, await criterionSweep(fp32, { ...base, calib_data: calib }, seeds), evaluate, columns, better, sizeOf);
  const lstsq = await sweepReport(fp32, await criterionSweep(fp32, { ...base, calib_data: calib, compensation: 'lstsq' }, seeds), evaluate, columns, better, sizeOf);
  const yes = (r: SweepReport): string => `${r.l1VsRandom.ok ? 'yes' : 'no'} (${r.l1VsRandom.detail})`;
  const text = [`without compensation:\n${plain.text}`, `with mean-activation compensation:\n${mean.text}`,
    `with least-squares reconstruction (sequential):\n${lstsq.text}`,
    `l1 vs random: without compensation ${yes(plain)}; mean ${yes(mean)}; least squares ${yes(lstsq)}`].join('\n');
  return {
    text, plain: plain.l1VsRandom, mean: mean.l1VsRandom, lstsq: lstsq.l1VsRandom,
    json: { plain: plain.json, mean: mean.json, lstsq: lstsq.json }, variants,
  };
}
