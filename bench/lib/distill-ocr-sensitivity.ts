// Which channel groups of PP-OCRv4 rec can be pruned: each group alone is pruned at the ratio and its readings of
// some training lines compared with the fp32 model's (agreement = character accuracy against the fp32 readings, so
// no labels and no evaluation lines are involved). PP-LCNetV3's weakest-l1 channels still carry constants (conv
// biases and the learnable affine blocks' offsets through hard-swish) into the next layer; in some groups removing
// them alone wipes out recognition, which distillation on a few hundred lines cannot win back.
import type { Model } from '../../src/index.js';
import { findChannelGroups } from '../../passes/prune.pass.js';
import { characterAccuracy, type TextLine } from './ocr.js';
import { pruneRec, recPredictions } from './distill-ocr-model.js';

export interface GroupSensitivity {
  readonly label: string;
  readonly kind: string;
  readonly units: number;
  /** Agreement with fp32 when only this group is pruned. */
  readonly agreement: number;
}

/** A `skip` pattern naming exactly this producer (plain names would also match p2o.Conv.12 for p2o.Conv.1). */
export const exactName = (name: string): string => `/^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$/`;

export async function groupSensitivity(fp32: Model, lines: readonly TextLine[], ratio: number, dict: readonly string[], threads = 2, calib: readonly TextLine[] = [], compensation: 'mean' | 'lstsq' = 'mean'): Promise<GroupSensitivity[]> {
  const reference = await recPredictions(fp32, lines, dict, threads);
  const { groups } = findChannelGroups(fp32.graph, fp32);
  const out: GroupSensitivity[] = [];
  for (const g of groups) {
    const others = groups.filter((o) => o !== g).map((o) => exactName(o.label));
    const predicted = await recPredictions(await pruneRec(fp32, ratio, others, calib, compensation), lines, dict, threads);
    const agreement = characterAccuracy(reference.map((truth, i) => ({ truth, predicted: predicted[i] })));
    out.push({ label: g.label, kind: g.kind, units: g.units, agreement });
  }
  return out;
}
