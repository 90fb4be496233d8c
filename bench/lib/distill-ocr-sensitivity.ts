// Which channel groups of PP-OCRv4 rec can be pruned: each group alone is pruned at the ratio and its outputs on
// some training lines compared with the fp32 model's: agreement (character accuracy of its readings against the fp32
// readings) and divergence (mean per-frame KL from fp32's output, which moves before a reading flips), so no labels
// and no evaluation lines are involved. PP-LCNetV3's weakest-l1 channels still carry constants (conv
// biases and the learnable affine blocks' offsets through hard-swish) into the next layer; in some groups removing
// them alone wipes out recognition, which distillation on a few hundred lines cannot win back.
import { modelStats, type Model } from '../../src/index.js';
import { findChannelGroups } from '../../passes/prune.pass.js';
import { characterAccuracy, ctcDecode, type TextLine } from './ocr.js';
import { meanFrameKl, pruneRec, recOutputs } from './distill-ocr-model.js';

export interface GroupSensitivity {
  readonly label: string;
  readonly kind: string;
  readonly units: number;
  /** Agreement with fp32 when only this group is pruned. */
  readonly agreement: number;
  /** Mean per-frame KL(fp32 ‖ pruned) when only this group is pruned. */
  readonly divergence: number;
  /** Parameters that pruning this group alone removes. */
  readonly removed: number;
}

/** A `skip` pattern naming exactly this producer (plain names would also match p2o.Conv.12 for p2o.Conv.1). */
export const exactName = (name: string): string => `/^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$/`;

export async function groupSensitivity(fp32: Model, lines: readonly TextLine[], ratio: number, dict: readonly string[], threads = 2, calib: readonly TextLine[] = [], compensation: 'mean' | 'lstsq' = 'mean'): Promise<GroupSensitivity[]> {
  const referenceOutputs = await recOutputs(fp32, lines, threads);
  const reference = referenceOutputs.map((t) => ctcDecode(t, dict));
  const parameters = modelStats(fp32).parameters;
  const { groups } = findChannelGroups(fp32.graph, fp32);
  const out: GroupSensitivity[] = [];
  for (const g of groups) {
    const others = groups.filter((o) => o !== g).map((o) => exactName(o.label));
    const pruned = await pruneRec(fp32, ratio, others, calib, compensation);
    const outputs = await recOutputs(pruned, lines, threads);
    const agreement = characterAccuracy(reference.map((truth, i) => ({ truth, predicted: ctcDecode(outputs[i], dict) })));
    const divergence = outputs.reduce((sum, t, i) => sum + meanFrameKl(referenceOutputs[i], t), 0) / outputs.length;
    out.push({ label: g.label, kind: g.kind, units: g.units, agreement, divergence, removed: parameters - modelStats(pruned).parameters });
  }
  return out;
}

/** One group's loss (1 − agreement, or divergence) at several ratios. */
export type SensitivityCurves = ReadonlyMap<string, ReadonlyArray<{ readonly ratio: number; readonly loss: number }>>;

/**
 * Per-group ratios for a parameter budget, as PaddleSlim's get_ratios_by_loss: under a loss threshold t, each group
 * takes the ratio at which its loss curve (linear between the measured ratios, from 0 at ratio 0, and
 * never falling) reaches t; t is found by bisection so that the model `removedBy` prunes with those ratios loses at
 * least `budget` parameters, and as few more as the bisection can tell. Groups interact (a conv's input and output
 * channels belong to different groups), hence the real count at every probe.
 */
export async function ratiosByLoss(curves: SensitivityCurves, budget: number, removedBy: (ratios: ReadonlyMap<string, number>) => Promise<number>, probes = 24): Promise<{ ratios: Map<string, number>; threshold: number; removed: number }> {
  const monotone = new Map([...curves].map(([label, curve]) => {
    let worst = 0;
    return [label, [{ ratio: 0, loss: 0 }, ...[...curve].sort((a, b) => a.ratio - b.ratio).map((p) => ({ ratio: p.ratio, loss: (worst = Math.max(worst, p.loss)) }))]];
  }));
  const ratiosAt = (t: number): Map<string, number> => new Map([...monotone].map(([label, points]) => {
    const above = points.findIndex((p) => p.loss > t);
    if (above < 0) return [label, points.at(-1)!.ratio];
    const a = points[above - 1], b = points[above];
    return [label, a.ratio + ((t - a.loss) / (b.loss - a.loss)) * (b.ratio - a.ratio)];
  }));
  let low = 0, high = Math.max(...[...monotone.values()].map((p) => p.at(-1)!.loss));
  let best = { ratios: ratiosAt(high), threshold: high, removed: await removedBy(ratiosAt(high)) };
  if (best.removed < budget) throw new Error(`pruning every group at its largest measured ratio removes ${best.removed} parameters, fewer than ${budget}`);
  for (let i = 0; i < probes; i++) {
    const t = (low + high) / 2, ratios = ratiosAt(t), removed = await removedBy(ratios);
    if (removed >= budget) { high = t; best = { ratios, threshold: t, removed }; } else low = t;
  }
  return best;
}
