// PP-OCRv4 rec pruned (structured, l1 norm) then distilled from its fp32 self on rendered, unlabeled text lines:
// character accuracy of fp32, pruned-only and pruned+distilled on rendered evaluation lines (the same 200 lines as
// bench/quant-ocr; the training lines use other texts and render seeds, see lib/distill-ocr-data.ts). Target: the
// distilled model within 1 point of fp32. Uniform pruning (every group at the ratio) is reported pruned-only; the
// model distilled skips the groups whose pruning alone moves the readings of some training lines below
// --min-agreement with fp32 (lib/distill-ocr-sensitivity.ts; --min-agreement 0 distils the uniform one).
//   node dist/bench/distill-ocr.bench.js [--ratios 0.125,0.25] [--steps 100] [--batch 4] [--width 320] [--lr 3e-4]
//        [--T 1] [--eval-lines 200] [--train-lines 192] [--min-agreement 0.97] [--sensitivity-lines 32]
//        [--threads 2] [--seed 0] [--progress auto|bar|log|off]
// One step runs student and teacher forward, the student backward and AdamW, all as one onnxruntime inference graph.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildStepGraph, exportTrained, modelStats, train, warmupCosine } from '../src/index.js';
import type { ProgressMode } from '../src/train/progress.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { hasImageMagick, recDictionary } from './lib/ocr.js';
import { lineBatches, renderLineSets } from './lib/distill-ocr-data.js';
import { exactName, groupSensitivity } from './lib/distill-ocr-sensitivity.js';
import { distillRec, loadRecFp32, pruneRec, REC_INPUT, recAccuracy, type RecScore } from './lib/distill-ocr-model.js';
import { table } from './lib/measure.js';

const TARGET_POINTS = 1;

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const num = (name: string, fallback: number): number => {
  const n = Number(arg(name) ?? fallback);
  if (!(n > 0)) throw new Error(`--${name} needs a positive number, got ${arg(name)}`);
  return n;
};

const o = {
  ratios: (arg('ratios') ?? '0.125,0.25').split(',').map(Number),
  steps: num('steps', 100), batch: num('batch', 4), width: num('width', 320), lr: num('lr', 3e-4), T: num('T', 1),
  minAgreement: Number(arg('min-agreement') ?? 0.97), sensitivityLines: num('sensitivity-lines', 32),
  evalLines: num('eval-lines', 200), trainLines: num('train-lines', 192), threads: num('threads', 2), seed: Number(arg('seed') ?? 0),
  progress: (arg('progress') ?? 'auto') as ProgressMode,
};
if (o.ratios.some((r) => !(r > 0 && r < 1))) throw new Error(`--ratios needs shares in (0, 1), got ${arg('ratios')}`);
if (!hasImageMagick()) {
  console.log('needs ImageMagick and the Noto CJK fonts: apt-get install imagemagick fonts-noto-cjk');
  process.exit(1);
}

const benchStart = performance.now();
const seconds = (from: number): number => (performance.now() - from) / 1000;
let t0 = performance.now();
const { evalLines, trainLines } = renderLineSets(o.evalLines, o.trainLines);
const chars = evalLines.reduce((n, l) => n + Array.from(l.text).length, 0);
console.log(`rendered ${evalLines.length} evaluation lines (${chars} characters) and ${trainLines.length} unlabeled training lines in ${seconds(t0).toFixed(1)} s`);
const dict = recDictionary();
const fp32 = await loadRecFp32();

interface Row {
  readonly label: string;
  readonly ratio: number;
  readonly parameters: number;
  readonly score: RecScore;
  readonly steps?: number;
  readonly trainWallS?: number;
  readonly samplesPerSec?: number;
  readonly firstLoss?: number;
  readonly lastLoss?: number;
  /** Groups left whole (sensitivity). */
  readonly skipped?: readonly string[];
}

const rows: Row[] = [{ label: 'fp32', ratio: 0, parameters: modelStats(fp32).parameters, score: await recAccuracy(fp32, evalLines, dict, o.threads) }];
for (const ratio of o.ratios) rows.push(...(await pruneAndDistill(ratio)));

async function pruneAndDistill(ratio: number): Promise<Row[]> {
  const uniform = await pruneRec(fp32, ratio);
  const rows: Row[] = [{ label: `pruned ${100 * ratio} % (all groups)`, ratio, parameters: modelStats(uniform).parameters, score: await recAccuracy(uniform, evalLines, dict, o.threads) }];
  console.log(`${rows[0].label}: ${rows[0].parameters} parameters, character accuracy ${pct(rows[0].score.accuracy)}`);
  let pruned = uniform, skipped: string[] = [];
  if (o.minAgreement > 0) {
    t0 = performance.now();
    const sensitivity = await groupSensitivity(fp32, trainLines.slice(0, o.sensitivityLines), ratio, dict, o.threads);
    skipped = sensitivity.filter((g) => g.agreement < o.minAgreement).map((g) => g.label);
    console.log(`sensitivity (${o.sensitivityLines} training lines, ${seconds(t0).toFixed(0)} s), agreement with fp32 when only this group is pruned:\n  `
      + sensitivity.map((g) => `${g.label} (${g.kind} ${g.units}) ${pct(g.agreement)}${skipped.includes(g.label) ? ' SKIP' : ''}`).join('\n  '));
    pruned = await pruneRec(fp32, ratio, skipped.map(exactName));
    rows.push({ label: `pruned ${100 * ratio} % (${skipped.length} sensitive groups whole)`, ratio, parameters: modelStats(pruned).parameters, score: await recAccuracy(pruned, evalLines, dict, o.threads) });
    console.log(`${rows[1].label}: ${rows[1].parameters} parameters, character accuracy ${pct(rows[1].score.accuracy)}`);
  }
  const parameters = modelStats(pruned).parameters;

  t0 = performance.now();
  const distill = distillRec(pruned, fp32, { batch: o.batch, width: o.width, T: o.T });
  const step = buildStepGraph(distill.model, { loss: distill.loss, trainable: distill.trainable, optimizer: { kind: 'adamw', weightDecay: 0.01 } });
  console.log(`step graph: ${step.model.graph.nodes.length} nodes, ${distill.trainable.length} trainable tensors, built in ${seconds(t0).toFixed(1)} s`);
  const batches = lineBatches(trainLines, { batch: o.batch, width: o.width, input: REC_INPUT });
  t0 = performance.now();
  const result = await train({
    step, batches, stepsPerEpoch: batches.stepsPerEpoch, epochs: Math.ceil(o.steps / batches.stepsPerEpoch), trainIter: o.steps,
    lr: warmupCosine({ peak: o.lr, warmupSteps: Math.max(1, Math.round(o.steps / 10)), totalSteps: o.steps, floor: o.lr / 50 }),
    seed: o.seed, threads: o.threads, progress: o.progress, logEvery: 10,
  });
  const trainWallS = seconds(t0);
  const distilled = exportTrained(pruned, result.params);
  const distilledRow: Row = {
    label: `${rows[rows.length - 1].label} + distilled`, ratio, parameters, score: await recAccuracy(distilled, evalLines, dict, o.threads),
    skipped, steps: result.steps, trainWallS, samplesPerSec: result.samplesPerSec, firstLoss: result.losses[0], lastLoss: mean(result.losses.slice(-10)),
  };
  console.log(`${distilledRow.label}: character accuracy ${pct(distilledRow.score.accuracy)} after ${result.steps} steps in ${trainWallS.toFixed(0)} s`);
  return [...rows, distilledRow];
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)} %`;
}

function mean(xs: Float32Array): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

const base = rows[0].score.accuracy;
const points = (r: Row): number => 100 * (r.score.accuracy - base);
console.log(`\nPP-OCRv4 rec, ${evalLines.length} rendered evaluation lines (${chars} characters); training: ${trainLines.length} other lines, `
  + `batch ${o.batch} × 3×48×${o.width}, AdamW peak lr ${o.lr}, warm-up + cosine, KL T=${o.T} on the pre-softmax logits; ${o.threads} threads on a `
  + `${os.availableParallelism()}-core machine shared with other jobs\n`);
console.log(table([
  ['model', 'char accuracy', 'vs fp32 (points)', 'exact lines', 'parameters', 'steps', 'train wall', 'samples/s', 'KL first → last 10'],
  ...rows.map((r) => [
    r.label, pct(r.score.accuracy), r === rows[0] ? '' : points(r).toFixed(2), pct(r.score.exact), String(r.parameters),
    r.steps === undefined ? '' : String(r.steps), r.trainWallS === undefined ? '' : `${r.trainWallS.toFixed(0)} s`,
    r.samplesPerSec === undefined ? '' : r.samplesPerSec.toFixed(2),
    r.firstLoss === undefined ? '' : `${r.firstLoss.toFixed(2)} → ${r.lastLoss!.toFixed(3)}`,
  ]),
]));
const distilledRows = rows.filter((r) => r.steps !== undefined);
for (const r of distilledRows) {
  console.log(`target: ${r.label} within ${TARGET_POINTS} point of fp32 — ${points(r).toFixed(2)} points ${points(r) >= -TARGET_POINTS ? 'PASS' : 'FAIL'}`);
}
console.log(`whole bench: ${seconds(benchStart).toFixed(0)} s`);
mkdirSync(path.join(REPO_ROOT, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(REPO_ROOT, 'bench', 'out', 'distill-ocr.json'), JSON.stringify({ options: o, cores: os.availableParallelism(), rows }, null, 2));
if (distilledRows.some((r) => points(r) < -TARGET_POINTS)) process.exitCode = 1;

