// PP-OCRv4 rec pruned (structured, l1 norm) then distilled from its fp32 self on rendered, unlabeled text lines:
// character accuracy of fp32, pruned-only and pruned+distilled on 1,000 rendered evaluation lines (text seed 1; the
// first 200 are bench/quant-ocr's, whose 1,771 characters alone cannot resolve a few tenths of a point), each gap to
// fp32 with a 95 % interval by a paired bootstrap over the lines. Target: the distilled model within 1 point of fp32.
// Three disjoint line sets besides (lib/distill-ocr-data.ts): training lines (text seed 3, render seeds 300000+i),
// calibration lines (text seed 5, render seeds 500000+i) run one by one at natural width for the prune pass's compensation (--compensation lstsq:
// each consumer of removed channels refitted by least squares; mean: mean activations folded into biases), and
// validation lines (text seed 7, render seeds 700000+i; --val-lines 0 falls back to the calibration lines) that choose
// the distillation checkpoint: --select accuracy (default) by character accuracy against their rendered texts, as
// ACT's eval_iter does with its labelled eval set (training stays unlabeled); --select agreement by unlabeled
// agreement with fp32's readings, which rose on every start while accuracy did not follow. --trace-eval logs every
// checkpoint's evaluation accuracy too, for the record; it chooses nothing. Pruned-only is reported plain and
// compensated, with every group pruned and with the groups whose pruning alone moves the readings of some training
// lines below --min-agreement with fp32 kept whole (lib/distill-ocr-sensitivity.ts, measured with compensation;
// --min-agreement 0 distils the uniform one). Distillation runs over --buckets width buckets of the training lines,
// one static-width step graph per bucket sharing parameters and AdamW moments (lib/distill-ocr-buckets.ts); with
// --fit crop each bucket's width is its narrowest line's and wider lines are cropped at random offsets (no white
// padding: training on padded windows lowered the KL but worsened the readings at natural width), --fit pad pads
// every line up to the bucket's widest.
//   node dist/bench/distill-ocr.bench.js [--ratios 0.125] [--steps 400] [--batch 4] [--buckets 8] [--fit crop|pad]
//        [--lr 3e-5] [--weight-decay 0] [--T 1] [--eval-lines 1000] [--train-lines 1024] [--calib-lines 32] [--val-lines 512] [--select accuracy|agreement] [--trace-eval]
//        [--compensate 1] [--compensation mean|lstsq (lstsq)] [--min-agreement 0.97] [--sensitivity-lines 64] [--validate-every 50] [--threads 2] [--seed 0]
//        [--hidden X (5; 0: logits only)] [--channels X (0)] [--ema DECAY (0.99; 0: the last weights)] [--allocate sensitivity|uniform] [--sensitivity-ratios 0.125,0.25,0.375] [--sensitivity-by agreement|kl] [--budget SHARE]
// --allocate sensitivity (default) spends the uniform start's parameter budget (or --budget, a share of fp32's
// parameters) group by group: each group's sensitivity at --sensitivity-ratios, then PaddleSlim's loss-threshold
// allocation (per-group prune ratios); it started 0.8 points above the uniform prune at the same budget. uniform
// distils the uniform start itself. --sensitivity-by agreement (default) measures each group's loss as 1 − agreement
// with fp32's readings, kl as the mean per-frame KL from fp32's output, which on a few dozen lines resolves what agreement
// rounds to whole characters (but misses the few frames that flip readings: a start 4.5 points lower, bench/README).
// Sensitivities are read on --sensitivity-lines training lines: 64, as 32 gave a start and a distilled model that
// both read lower on validation.
// --hidden adds MSE on every LayerNorm input of the SVTR neck (its residual stream, whose width of 120 pruning
// keeps), each over the teacher's variance on 16 training lines, X shared among them (as distill-llm does);
// --channels adds MSE between every pruned feature map a Conv reads and the teacher's same channels
// (lib/distill-ocr-channels.ts), weighted the same way. --ema validates and keeps a moving average of the weights (+0.06 points on two starts).
// One step runs student and teacher forward, the student backward and AdamW, all as one onnxruntime inference graph.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel, modelStats, saveModel, warmupCosine } from '../src/index.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { hasImageMagick, recDictionary } from './lib/ocr.js';
import type { Model } from '../src/index.js';
import { renderCalibLines, renderLineSets, widthBuckets } from './lib/distill-ocr-data.js';
import { distillBuckets } from './lib/distill-ocr-buckets.js';
import { exactName, groupSensitivity, type GroupSensitivity, ratiosByLoss } from './lib/distill-ocr-sensitivity.js';
import { loadRecFp32, pruneRec, REC_INPUT, recAccuracy, recPredictions, type RecScore } from './lib/distill-ocr-model.js';
import { hiddenStatePairs, layerNormInputs, valueVariances } from '../src/cli/distill-hidden.js';
import { channelPairs, matchPrunedChannels, withChannelViews } from './lib/distill-ocr-channels.js';
import { characterAccuracy } from './lib/ocr.js';
import { onnxFileArg, table } from './lib/measure.js';
import { pairedAccuracyInterval } from './lib/paired-bootstrap.js';

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
  ratios: (arg('ratios') ?? '0.125').split(',').map(Number),
  steps: num('steps', 400), batch: num('batch', 4), buckets: num('buckets', 8), fit: (arg('fit') ?? 'crop') as 'crop' | 'pad', lr: num('lr', 3e-5), weightDecay: Number(arg('weight-decay') ?? 0), T: num('T', 1),
  allocate: (arg('allocate') ?? 'sensitivity') as 'uniform' | 'sensitivity', budget: arg('budget') === undefined ? undefined : Number(arg('budget')), sensitivityRatios: (arg('sensitivity-ratios') ?? '0.125,0.25,0.375').split(',').map(Number),
  minAgreement: Number(arg('min-agreement') ?? 0.97), sensitivityLines: num('sensitivity-lines', 64), compensate: arg('compensate') !== '0',
  evalLines: num('eval-lines', 1000), trainLines: num('train-lines', 1024), calibLines: num('calib-lines', 32), valLines: Number(arg('val-lines') ?? 512), validateEvery: num('validate-every', 50),
  sensitivityBy: (arg('sensitivity-by') ?? 'agreement') as 'agreement' | 'kl', select: (arg('select') ?? 'accuracy') as 'accuracy' | 'agreement', traceEval: process.argv.includes('--trace-eval'),
  ema: Number(arg('ema') ?? 0.99), threads: num('threads', 2), seed: Number(arg('seed') ?? 0), hidden: Number(arg('hidden') ?? 5), channels: Number(arg('channels') ?? 0), compensation: (arg('compensation') ?? 'lstsq') as 'mean' | 'lstsq',
};
if (!['mean', 'lstsq'].includes(o.compensation)) throw new Error(`--compensation needs mean or lstsq, got ${o.compensation}`);
const from = onnxFileArg('from', 'a pruned start');
if (from && o.ratios.length > 1) throw new Error('--from starts one distillation: give one --ratios value at most');
/** Each run's distillation start and result, for --from and for a look at them. */
const SAVE_DIR = path.join(REPO_ROOT, '.tmp', 'bench-distill-ocr');
mkdirSync(SAVE_DIR, { recursive: true });
if (!['agreement', 'kl'].includes(o.sensitivityBy)) throw new Error(`--sensitivity-by needs agreement or kl, got ${o.sensitivityBy}`);
if (!['accuracy', 'agreement'].includes(o.select)) throw new Error(`--select needs accuracy or agreement, got ${o.select}`);
if (!(o.ema >= 0 && o.ema < 1)) throw new Error(`--ema needs a decay in [0, 1), got ${arg('ema')}`);
if (!['uniform', 'sensitivity'].includes(o.allocate)) throw new Error(`--allocate needs uniform or sensitivity, got ${arg('allocate')}`);
if (o.budget !== undefined && !(o.budget > 0 && o.budget < 1)) throw new Error(`--budget needs a share of the parameters in (0, 1), got ${arg('budget')}`);
if (o.sensitivityRatios.some((r) => !(r > 0 && r < 1))) throw new Error(`--sensitivity-ratios needs shares in (0, 1), got ${arg('sensitivity-ratios')}`);
if (!(o.channels >= 0)) throw new Error(`--channels needs a number ≥ 0, got ${arg('channels')}`);
if (!(o.hidden >= 0)) throw new Error(`--hidden needs a number ≥ 0, got ${arg('hidden')}`);
if (!(o.weightDecay >= 0)) throw new Error(`--weight-decay needs a number ≥ 0, got ${arg('weight-decay')}`);
if (o.ratios.some((r) => !(r > 0 && r < 1))) throw new Error(`--ratios needs shares in (0, 1), got ${arg('ratios')}`);
if (!hasImageMagick()) {
  console.log('needs ImageMagick and the Noto CJK fonts: apt-get install imagemagick fonts-noto-cjk');
  process.exit(1);
}

const benchStart = performance.now();
const seconds = (since: number): number => (performance.now() - since) / 1000;
let t0 = performance.now();
const { evalLines, trainLines } = renderLineSets(o.evalLines, o.trainLines);
const calibLines = renderCalibLines(o.calibLines, [...evalLines, ...trainLines]);
const valLines = o.valLines > 0 ? renderCalibLines(o.valLines, [...evalLines, ...trainLines, ...calibLines], 7) : calibLines;
const chars = evalLines.reduce((n, l) => n + Array.from(l.text).length, 0);
console.log(`rendered ${evalLines.length} evaluation lines (${chars} characters), ${trainLines.length} unlabeled training lines, ${calibLines.length} calibration lines and ${o.valLines > 0 ? valLines.length : 'no separate'} validation lines in ${seconds(t0).toFixed(1)} s`);
const dict = recDictionary();
const fp32 = await loadRecFp32();
const valReference = o.select === 'agreement' ? await recPredictions(fp32, valLines, dict, o.threads) : [];
/** --select agreement, unlabeled: character accuracy of the model's readings of the validation lines against fp32's. */
const valAgreement = async (m: Model): Promise<number> => {
  const predicted = await recPredictions(m, valLines, dict, o.threads);
  return characterAccuracy(valReference.map((truth, i) => ({ truth, predicted: predicted[i] })));
};
/** --select accuracy, ACT's eval_iter metric: character accuracy against the validation lines' rendered texts. */
const valAccuracy = async (m: Model): Promise<number> => (await recAccuracy(m, valLines, dict, o.threads)).accuracy;
if (o.select === 'accuracy') console.log(`fp32 on the validation lines (origin_metric): ${pct(await valAccuracy(fp32))}`);
/** The checkpoint metric; --trace-eval also logs each checkpoint's evaluation accuracy, which chooses nothing. */
const validateCheckpoint = async (m: Model): Promise<number> => {
  const metric = await (o.select === 'accuracy' ? valAccuracy : valAgreement)(m);
  if (o.traceEval) console.log(`  (trace, chooses nothing) evaluation lines: ${pct((await recAccuracy(m, evalLines, dict, o.threads)).accuracy)}`);
  return metric;
};

interface Row {
  readonly label: string;
  readonly ratio: number;
  readonly parameters: number;
  readonly score: RecScore;
  readonly steps?: number;
  readonly bestStep?: number;
  readonly trainWallS?: number;
  readonly samplesPerSec?: number;
  readonly firstLoss?: number;
  readonly lastLoss?: number;
  /** Validation agreement with fp32 by step. */
  readonly validations?: ReadonlyArray<{ step: number; metric: number }>;
  /** Groups left whole (sensitivity). */
  readonly skipped?: readonly string[];
}

const rows: Row[] = [{ label: 'fp32', ratio: 0, parameters: modelStats(fp32).parameters, score: await recAccuracy(fp32, evalLines, dict, o.threads) }];
for (const ratio of o.ratios) rows.push(...(await pruneAndDistill(ratio)));

async function pruneAndDistill(ratio: number): Promise<Row[]> {
  const out: Row[] = [];
  const add = async (label: string, m: Model): Promise<void> => {
    t0 = performance.now();
    out.push({ label, ratio, parameters: modelStats(m).parameters, score: await recAccuracy(m, evalLines, dict, o.threads) });
    console.log(`${label}: ${out.at(-1)!.parameters} parameters, character accuracy ${pct(out.at(-1)!.score.accuracy)} (${seconds(t0).toFixed(0)} s)`);
  };
  let pruned: Model, skipped: string[] = [];
  if (from) {
    pruned = loadModel(from);
    await add(`start: ${path.basename(from)}`, pruned);
  } else {
    [pruned, skipped] = await pruneStart(ratio, add);
    const file = path.join(SAVE_DIR, `pruned-${ratio}.onnx`);
    saveModel(pruned, file);
    console.log(`distillation start saved (for --from; the next run overwrites it): ${path.relative(REPO_ROOT, file)}`);
  }
  const parameters = modelStats(pruned).parameters;

  const buckets = widthBuckets(trainLines, o.buckets, o.batch, o.fit);
  const hiddenValues = o.hidden > 0 ? layerNormInputs(fp32) : [];
  const variances = await valueVariances(fp32, hiddenValues, trainLines.slice(0, 16).map((l) => ({ [REC_INPUT]: l.input })), o.threads);
  const hidden = hiddenStatePairs(hiddenValues, variances, o.hidden);
  if (hidden.length) console.log(`hidden-state MSE on ${hidden.length} LayerNorm inputs (weight ${o.hidden}): ${hiddenValues.join(', ')}`);
  const views = o.channels > 0 ? await matchPrunedChannels(pruned, fp32, trainLines.slice(0, 8).map((l) => ({ [REC_INPUT]: l.input })), o.threads) : [];
  if (views.length) console.log(`channel MSE on ${views.length} pruned feature maps (weight ${o.channels}): ${views.map((v) => `${v.value} (${v.channels.length}, r ${v.correlation.toFixed(2)})`).join(', ')}`);
  const teacher = views.length ? withChannelViews(fp32, views) : fp32;
  t0 = performance.now();
  const result = await distillBuckets({
    student: pruned, teacher, buckets, batch: o.batch, T: o.T, steps: o.steps, hidden: [...hidden, ...channelPairs(views, o.channels)],
    lr: warmupCosine({ peak: o.lr, warmupSteps: Math.max(1, Math.round(o.steps / 10)), totalSteps: o.steps, floor: o.lr / 50 }),
    weightDecay: o.weightDecay, ...(o.ema > 0 ? { ema: o.ema } : {}), seed: o.seed, threads: o.threads, validate: validateCheckpoint, validateEvery: o.validateEvery,
    metricName: o.select === 'accuracy' ? 'validation accuracy' : 'agreement with fp32', log: (l) => console.log(`  ${l}`),
  });
  const trainWallS = seconds(t0);
  const distilledRow: Row = {
    label: `${out.at(-1)!.label} + distilled`, ratio, parameters, score: await recAccuracy(result.student, evalLines, dict, o.threads),
    skipped, steps: result.steps, bestStep: result.bestStep, trainWallS, samplesPerSec: result.samplesPerSec,
    firstLoss: result.losses[0], lastLoss: mean(result.losses.slice(-10)), validations: result.validations,
  };
  saveModel(result.student, path.join(SAVE_DIR, `distilled-${ratio}.onnx`));
  console.log(`${distilledRow.label}: character accuracy ${pct(distilledRow.score.accuracy)} after ${result.steps} steps (kept step ${result.bestStep}) in ${trainWallS.toFixed(0)} s`);
  return [...out, distilledRow];
}

/** The distillation start: pruned-only rows (plain and compensated, every group, sensitive groups whole, and the
 *  sensitivity allocation) added on the way; returns the start and the groups it leaves whole. */
async function pruneStart(ratio: number, add: (label: string, m: Model) => Promise<void>): Promise<[Model, string[]]> {
  const all = `pruned ${100 * ratio} % (all groups)`;
  await add(`${all}, plain`, await pruneRec(fp32, ratio));
  const uniformComp = await pruneRec(fp32, ratio, [], calibLines, o.compensation);
  await add(`${all}, compensated (${o.compensation})`, uniformComp);
  let pruned = o.compensate ? uniformComp : await pruneRec(fp32, ratio), skipped: string[] = [];
  if (o.minAgreement > 0) {
    t0 = performance.now();
    const sensitivity = await groupSensitivity(fp32, trainLines.slice(0, o.sensitivityLines), ratio, dict, o.threads, o.compensate ? calibLines : [], o.compensation);
    skipped = sensitivity.filter((g) => g.agreement < o.minAgreement).map((g) => g.label);
    console.log(`sensitivity (${o.sensitivityLines} training lines, ${o.compensate ? `compensated (${o.compensation})` : 'plain'}, ${seconds(t0).toFixed(0)} s), agreement with fp32 when only this group is pruned:\n  `
      + sensitivity.map((g) => `${g.label} (${g.kind} ${g.units}) ${pct(g.agreement)}${skipped.includes(g.label) ? ' SKIP' : ''}`).join('\n  '));
    const some = `pruned ${100 * ratio} % (${skipped.length} sensitive groups whole)`;
    await add(`${some}, plain`, await pruneRec(fp32, ratio, skipped.map(exactName)));
    const skipComp = await pruneRec(fp32, ratio, skipped.map(exactName), calibLines, o.compensation);
    await add(`${some}, compensated (${o.compensation})`, skipComp);
    pruned = o.compensate ? skipComp : await pruneRec(fp32, ratio, skipped.map(exactName));
    if (o.allocate === 'sensitivity') [pruned, skipped] = await allocateBySensitivity(ratio, sensitivity, pruned, add);
  }
  return [pruned, skipped];
}

/**
 * The parameter budget of `start` (the uniform prune with sensitive groups whole) or --budget, spent where it costs least:
 * each group's sensitivity at --sensitivity-ratios, then PaddleSlim's loss-threshold allocation (ratiosByLoss).
 */
async function allocateBySensitivity(ratio: number, atRatio: readonly GroupSensitivity[], start: Model, add: (label: string, m: Model) => Promise<void>): Promise<[Model, string[]]> {
  t0 = performance.now();
  const point = (r: number, g: GroupSensitivity): { ratio: number; loss: number; agreement: number; divergence: number } =>
    ({ ratio: r, loss: o.sensitivityBy === 'kl' ? g.divergence : 1 - g.agreement, agreement: g.agreement, divergence: g.divergence });
  const curves = new Map(atRatio.map((g) => [g.label, [point(ratio, g)]]));
  for (const r of o.sensitivityRatios.filter((x) => x !== ratio)) {
    for (const g of await groupSensitivity(fp32, trainLines.slice(0, o.sensitivityLines), r, dict, o.threads, o.compensate ? calibLines : [], o.compensation)) curves.get(g.label)!.push(point(r, g));
  }
  const total = modelStats(fp32).parameters, budget = o.budget === undefined ? total - modelStats(start).parameters : Math.ceil(o.budget * total);
  const patterns = (ratios: ReadonlyMap<string, number>): string[] => [...ratios].map(([label, r]) => `${exactName(label)}=${r}`);
  const allocation = await ratiosByLoss(curves, budget, async (ratios) => total - modelStats(await pruneRec(fp32, 0, [], [], 'mean', patterns(ratios))).parameters);
  console.log(`sensitivity allocation (${seconds(t0).toFixed(0)} s): budget ${budget} parameters (${o.budget === undefined ? 'the uniform start\'s' : `--budget ${o.budget}`}), loss (${o.sensitivityBy === 'kl' ? 'KL' : '1 − agreement'}) threshold ${allocation.threshold.toFixed(5)}, ${allocation.removed} removed; per group agreement (KL) at ${o.sensitivityRatios.join(' / ')} → ratio:\n  `
    + [...curves].map(([label, c]) => `${label} ${[...c].sort((a, b) => a.ratio - b.ratio).map((p) => `${pct(p.agreement)} (${p.divergence.toFixed(4)})`).join(' / ')} → ${allocation.ratios.get(label)!.toFixed(3)}`).join('\n  '));
  const allocated = await pruneRec(fp32, 0, [], o.compensate ? calibLines : [], o.compensation, patterns(allocation.ratios));
  await add(`pruned by sensitivity (${o.sensitivityBy}, ${allocation.removed} parameters), ${o.compensate ? `compensated (${o.compensation})` : 'plain'}`, allocated);
  return [allocated, [...allocation.ratios].filter(([, r]) => r === 0).map(([label]) => label)];
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)} %`;
}

function mean(xs: Float32Array): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

const base = rows[0].score.accuracy;
const points = (r: Row): number => 100 * (r.score.accuracy - base);
/** 95 % interval of the gap to fp32 in points, by a paired bootstrap over the evaluation lines. */
const interval = (r: Row): string => pairedAccuracyInterval(rows[0].score.lines, r.score.lines).map((x) => (100 * x).toFixed(2)).join(' … ');
console.log(`\nPP-OCRv4 rec, ${evalLines.length} rendered evaluation lines (${chars} characters); training: ${trainLines.length} other lines, `
  + `${o.buckets} width buckets (${o.fit}), batch ${o.batch}, AdamW peak lr ${o.lr} (weight decay ${o.weightDecay}), warm-up + cosine${o.ema > 0 ? `, weights averaged (EMA ${o.ema})` : ''}, KL T=${o.T} on the pre-softmax logits${o.hidden > 0 ? ` + MSE on the neck's LayerNorm inputs (weight ${o.hidden})` : ''}${o.channels > 0 ? ` + channel MSE on pruned feature maps (weight ${o.channels})` : ''}, checkpoint chosen by ${o.select === 'accuracy' ? 'character accuracy' : 'agreement with fp32'} on ${valLines.length} ${o.valLines > 0 ? 'validation (text seed 7)' : 'calibration'} lines; ${o.threads} threads on a `
  + `${os.availableParallelism()}-core machine shared with other jobs\n`);
console.log(table([
  ['model', 'char accuracy', 'vs fp32 (points)', '95 % interval', 'exact lines', 'parameters', 'steps (kept)', 'train wall', 'samples/s', 'KL first → last 10'],
  ...rows.map((r) => [
    r.label, pct(r.score.accuracy), r === rows[0] ? '' : points(r).toFixed(2), r === rows[0] ? '' : interval(r), pct(r.score.exact), String(r.parameters),
    r.steps === undefined ? '' : `${r.steps} (${r.bestStep})`, r.trainWallS === undefined ? '' : `${r.trainWallS.toFixed(0)} s`,
    r.samplesPerSec === undefined ? '' : r.samplesPerSec.toFixed(2),
    r.firstLoss === undefined ? '' : `${r.firstLoss.toFixed(2)} → ${r.lastLoss!.toFixed(3)}`,
  ]),
]));
const distilledRows = rows.filter((r) => r.steps !== undefined);
for (const r of distilledRows) {
  console.log(`target: ${r.label} within ${TARGET_POINTS} point of fp32 — ${points(r).toFixed(2)} points (95 % interval ${interval(r)}) ${points(r) >= -TARGET_POINTS ? 'PASS' : 'FAIL'}`);
}
console.log(`whole bench: ${seconds(benchStart).toFixed(0)} s`);
mkdirSync(path.join(REPO_ROOT, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(REPO_ROOT, 'bench', 'out', 'distill-ocr.json'), JSON.stringify({
  options: o, cores: os.availableParallelism(), rows: rows.map(({ score: { lines, ...score }, ...r }) => ({ ...r, score, vsFp32Interval: r.label === 'fp32' ? undefined : pairedAccuracyInterval(rows[0].score.lines, lines) })),
}, null, 2));
if (distilledRows.some((r) => points(r) < -TARGET_POINTS)) process.exitCode = 1;

