// Recovering a pruned LM by distillation: stories260K (../shared/models) after cleanup, 25 % structured pruning
// (heads GQA-consistent, SwiGLU FFN units), then distilled from the fp32 model on text the fp32 model sampled
// itself (never the validation stories: those only measure). KL at T = 1 on the logits: the student's T = 1
// distribution is what perplexity scores (the cross-entropy against the teacher's full next-token distribution,
// less a constant). Beside it, MSE on every RMSNorm input (the residual stream, whose width pruning keeps), each
// over the teacher's variance and `--hidden` shared among them: per token 64 targets per layer, not one
// distribution at the end. Then stage 2: KL on the logits alone, a fresh warm-up + cosine at a quarter of the lr
// (TinyBERT's order: intermediate layers, then the prediction layer). AdamW, warm-up + cosine, clip 1; each stage's
// checkpoint is chosen by perplexity on held-out sampled rows. Stories are sampled through a KV-cache decode step
// built from the teacher's weights (lib/llama-decode.ts: the export has no cache), optionally packed end to end into
// long rows (BOS opens each, as llama2.c packs TinyStories), and cached in .tmp/bench-distill-llm.
// By default 2,048 stories of 512 tokens, as long as the validation stories (128-token samples never showed the
// student a story's later positions); stage 1 trains 32 epochs (16,384 steps, about 90 min on 2 cores), stage 2 four
// more (about 11 min; bench/README.md has each lever's figure). Pruning ranks heads and FFN units across layers (scope
// global: 25 % of each kind overall, at least 10 % of every layer's units kept), which beat 25 % in every layer on
// held-out sampled text. --from starts from a saved student instead of the prune (stage 1 is saved as
// .tmp/bench-distill-llm/stories260K-pruned25-stage1.onnx).
//   node dist/bench/distill-llm.bench.js [--rows N (2048)] [--held-out N (4)] [--sample-length N (512)] [--pack N (1)]
//        [--batch N (4)] [--epochs N (32)] [--lr X (4e-3)] [--stage2-epochs N (4; 0: none)] [--stage2-lr X (1e-3)] [--T X (1)] [--hidden X (5; 0: logits only)]
//        [--eval-iter N (256)] [--threads N (2)] [--seed N (0)] [--compensation none|mean|lstsq (lstsq)] [--calib N (16)]
//        [--sample-temperature X (1)] [--top-p X (1)] [--scope layer|global (global)] [--ema DECAY (none: the last weights)]
//        [--from STUDENT.onnx (none: the pruned model)]
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanup, compile, loadModel, modelStats, prune, saveModel, type Model } from '../src/index.js';
import { packSequences, sampleSequences, sequenceBatches, sequenceFeeds } from '../src/data/lm-sampling.js';
import { headRows, orderedBatches, splitRows, stackRows } from '../src/cli/distill-data.js';
import { hiddenStatePairs, rmsNormInputs, valueVariances } from '../src/cli/distill-hidden.js';
import { distillStudent, planDistillation } from '../src/cli/distill-train.js';
import type { DistillPair } from '../passes/distill.pass.js';
import { perplexity, perplexityByPosition, STORIES_MODEL, validationStories } from '../test/helpers/perplexity.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { llamaDecodeStep } from './lib/llama-decode.js';
import { onnxFileArg, table } from './lib/measure.js';

const arg = (name: string, fallback: number, zeroOk = false): number => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!(n > 0 || (zeroOk && n === 0))) throw new Error(`--${name} needs a positive number, got ${process.argv[i + 1]}`);
  return n;
};
const o = {
  rows: arg('rows', 2048), heldOut: arg('held-out', 4), sampleLength: arg('sample-length', 512), pack: arg('pack', 1), batch: arg('batch', 4),
  epochs: arg('epochs', 32), lr: arg('lr', 4e-3), stage2Epochs: arg('stage2-epochs', 4, true), stage2Lr: arg('stage2-lr', 1e-3), T: arg('T', 1), hidden: arg('hidden', 5, true), evalIter: arg('eval-iter', 256), threads: arg('threads', 2),
  seed: process.argv.includes('--seed') ? Number(process.argv[process.argv.indexOf('--seed') + 1]) : 0,
  compensation: (process.argv.includes('--compensation') ? process.argv[process.argv.indexOf('--compensation') + 1] : 'lstsq') as 'none' | 'mean' | 'lstsq',
  calib: arg('calib', 16), ema: process.argv.includes('--ema') ? Number(process.argv[process.argv.indexOf('--ema') + 1]) : undefined, sampleTemperature: arg('sample-temperature', 1), topP: arg('top-p', 1),
};
const from = onnxFileArg('from', 'a student');
const scope = (process.argv.includes('--scope') ? process.argv[process.argv.indexOf('--scope') + 1] : 'global') as 'layer' | 'global';
if (!['layer', 'global'].includes(scope)) throw new Error(`--scope needs layer or global, got ${scope}`);
if (o.ema !== undefined && !(o.ema >= 0 && o.ema < 1)) throw new Error(`--ema needs a decay in [0, 1), got ${o.ema}`);
if (!['none', 'mean', 'lstsq'].includes(o.compensation)) throw new Error(`--compensation needs none, mean or lstsq, got ${o.compensation}`);
const TARGET = 1.1; // within 10 % of fp32

const wall0 = performance.now();
const stories = validationStories();
const fp32 = (await compile(loadModel(STORIES_MODEL), [cleanup()])).model;

const dir = path.join(REPO_ROOT, '.tmp', 'bench-distill-llm');
mkdirSync(dir, { recursive: true });
const count = (o.rows + o.heldOut) * o.pack;
const s0 = performance.now();
const sequences = await teacherSample(count);
const samplingS = (performance.now() - s0) / 1000;

// Least squares refits each consumer of removed channels on teacher-sampled text (training sequences, never the
// validation stories); mean folds the removed channels' mean activations into biases; none prunes plainly.
const calib = sequenceBatches(sequences.slice(0, o.calib), 8);
const pruneOptions = o.compensation === 'none' ? {} : { calib_data: calib, batch_num: calib.length, compensation: o.compensation };
const pruned = (await compile(fp32, [prune({ ratio: 0.25, scope, ...pruneOptions })])).model;
const student = from === undefined ? pruned : loadModel(from);
const structure = prunedStructure(fp32, student);
const pplFp32 = await perplexity(fp32, stories), pplPruned = await perplexity(pruned, stories);
const pplStart = from === undefined ? pplPruned : await perplexity(student, stories);

/** Per block, what pruning kept: "q/kv heads 6/3, FFN 141" (stories260K: 8 query heads of 8 dims). */
function prunedStructure(before: Model, after: Model): string[] {
  const columns = (m: Model, block: number, weight: string): number => {
    const node = m.graph.nodes.find((n) => n.name === `/blocks.${block}/${weight}/MatMul`)!;
    return m.graph.initializers.get(node.inputs[1])!.dims[1];
  };
  const headDim = columns(before, 0, 'wq') / 8;
  return Array.from({ length: 5 }, (_, b) => `block ${b}: q/kv heads ${columns(after, b, 'wq') / headDim}/${columns(after, b, 'wk') / headDim}, FFN ${columns(after, b, 'w1')}`);
}

/**
 * `n` stories sampled from the fp32 model (seed 1000 + --seed), cached in .tmp/bench-distill-llm. Sampling is
 * prefix-stable (one generator drawn story after story), so the largest earlier sample from the same seed and length
 * supplies the first stories and only the rest is drawn.
 */
async function teacherSample(n: number): Promise<number[][]> {
  const prefix = `samples-seed${1000 + o.seed}-`, suffix = `x${o.sampleLength}${o.sampleTemperature === 1 ? '' : `-t${o.sampleTemperature}`}${o.topP === 1 ? '' : `-p${o.topP}`}.json`;
  const largest = Math.max(0, ...readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith(suffix)).map((f) => Number(f.slice(prefix.length, -suffix.length))).filter(Number.isInteger));
  const cached = largest > 0 ? (JSON.parse(readFileSync(path.join(dir, `${prefix}${largest}${suffix}`), 'utf8')) as number[][]).slice(0, n) : [];
  if (cached.length === n) return cached;
  const fresh = await sampleSequences(fp32, {
    decodeStep: llamaDecodeStep(fp32), count: n - cached.length, from: cached.length, length: o.sampleLength, temperature: o.sampleTemperature, topP: o.topP, seed: 1000 + o.seed, batch: 48, threads: o.threads,
    onBatch: (done) => console.error(`sampled ${cached.length + done}/${n} sequences (${((performance.now() - s0) / 1000).toFixed(0)} s)`),
  });
  const all = [...cached, ...fresh];
  writeFileSync(path.join(dir, `${prefix}${n}${suffix}`), JSON.stringify(all));
  return all;
}
const length = o.sampleLength * o.pack;
const { train, heldOut } = splitRows(await stackRows(sequenceFeeds(packSequences(sequences, o.pack))), o.heldOut);

const t0 = performance.now();
const logits = fp32.graph.outputs[0].name;
const logitPair = { student: logits, teacher: logits };
const hiddenValues = o.hidden > 0 ? rmsNormInputs(fp32) : [];
const variances = await valueVariances(fp32, hiddenValues, orderedBatches(headRows(train, 2 * o.batch), o.batch), o.threads);
const stage1 = await distillStage(student, [logitPair, ...hiddenStatePairs(hiddenValues, variances, o.hidden)], o.epochs, o.lr);
saveModel(stage1.model, path.join(dir, 'stories260K-pruned25-stage1.onnx'));
const pplStage1 = await perplexity(stage1.model, stories);
// Stage 2, logits only (TinyBERT's order: intermediate layers first, then the prediction layer): the hidden-state
// targets that steered stage 1 now only pull capacity away from the next-token distribution perplexity scores.
const stage2 = o.stage2Epochs > 0 ? await distillStage(stage1.model, [logitPair], o.stage2Epochs, o.stage2Lr) : undefined;
const outcome = stage2 ?? stage1;
const trainWallS = (performance.now() - t0) / 1000;
const pplDistilled = stage2 === undefined ? pplStage1 : await perplexity(outcome.model, stories);
const tokensPerStep = o.batch * length;
saveModel(outcome.model, path.join(dir, 'stories260K-pruned25-distilled.onnx'));

/** One stage: distil `start` from fp32 on `pairs`, warm-up + cosine to `lr`; the held-out rows pick the checkpoint. */
async function distillStage(start: Model, pairs: readonly DistillPair[], epochs: number, lr: number) {
  const plan = planDistillation({ student: start, teacher: fp32, loss: 'kl_div', T: o.T, pairs, optimizer: { kind: 'adamw', weightDecay: 0.01 }, clipNorm: 1 });
  const outcome = await distillStudent(plan, {
    train, heldOut, batch: o.batch, epochs, ...(o.ema === undefined ? {} : { ema: o.ema }), evalIter: o.evalIter, lr, seed: o.seed, threads: o.threads, progress: 'log', logEvery: 40,
  });
  return { ...outcome, trained: plan.trained.length };
}

const fmt = (x: number): string => x.toFixed(3);
const vsFp32Of = (base: number, x: number): string => `${((x / base - 1) * 100).toFixed(1)} %`;
const vsFp32 = (x: number): string => vsFp32Of(pplFp32.perplexity, x);
console.log(`stories260K: ${modelStats(fp32).parameters} → ${modelStats(student).parameters} parameters after prune 25 % (scope ${scope}: ${structure.join('; ')}); perplexity on the ${stories.length} validation stories (${pplFp32.tokens} predicted tokens)\n`);
const stage1Label = `+ stage 1: logits${o.hidden > 0 ? ' + hidden states' : ''}, ${o.epochs} epoch${o.epochs === 1 ? '' : 's'}`;
console.log(table([
  ['model', 'perplexity', 'vs fp32'],
  ['fp32 (teacher)', fmt(pplFp32.perplexity), ''],
  [`pruned 25 % (compensation: ${o.compensation})`, fmt(pplPruned.perplexity), vsFp32(pplPruned.perplexity)],
  ...(from === undefined ? [] : [[`start: ${path.basename(from)}`, fmt(pplStart.perplexity), vsFp32(pplStart.perplexity)]]),
  [stage1Label, fmt(pplStage1.perplexity), vsFp32(pplStage1.perplexity)],
  ...(stage2 === undefined ? [] : [[`+ stage 2: logits only, ${o.stage2Epochs} epoch${o.stage2Epochs === 1 ? '' : 's'} (distilled)`, fmt(pplDistilled.perplexity), vsFp32(pplDistilled.perplexity)]]),
]));
console.log(`\ntraining data: ${o.rows} rows of ${length} tokens, each ${o.pack} stories of ${o.sampleLength} tokens sampled from the fp32 teacher at temperature ${o.sampleTemperature}${o.topP < 1 ? `, top-p ${o.topP}` : ''} (${count} stories, ${samplingS.toFixed(0)} s${samplingS < 1 ? ', cached' : ''}); ${o.heldOut} more rows held out to pick each stage's checkpoint`);
const optimizer = `AdamW (weight decay 0.01, warm-up + cosine, clip 1${o.ema === undefined ? '' : `, weights averaged with EMA ${o.ema}`}), batch ${o.batch} × ${length} tokens`;
console.log(`training: ${optimizer}, ${stage1.trained} tensors trained`);
const stages = [{ name: 'stage 1', run: stage1, lr: o.lr, what: `kl_div T ${o.T} on the logits${o.hidden > 0 ? ` + ${hiddenValues.length} hidden-state MSE pairs (weight ${o.hidden})` : ''}` },
  ...(stage2 === undefined ? [] : [{ name: 'stage 2', run: stage2, lr: o.stage2Lr, what: `kl_div T ${o.T} on the logits only` }])];
for (const { name, run, lr, what } of stages) {
  const { result: r, metric } = run;
  console.log(`  ${name}: ${what}, lr ${lr}, ${r.steps} steps, ${(r.trainMs / 1000).toFixed(0)} s in steps, ${Math.round(r.samplesPerSec * length)} tokens/s; ` +
    (!r.best ? 'no checkpoint choice' : run.keptStart
      ? `checkpoint: the start, held-out sampled-text perplexity ${fmt(metric!.before)} (no step beat it; best step ${r.best.step}: ${fmt(-r.best.metric)})`
      : `checkpoint: step ${r.best.step}, held-out sampled-text perplexity ${fmt(-r.best.metric)} (before ${fmt(metric!.before)})`));
}
console.log(`time: ${trainWallS.toFixed(0)} s training wall, ${os.availableParallelism()} cores, ${o.threads} onnxruntime threads (machine shared with other jobs); whole bench ${((performance.now() - wall0) / 1000).toFixed(0)} s`);
// Where in a story the gap lies: training stories are --sample-length tokens long, the validation stories up to 512.
const edges = [0, 64, 128, 256, 512];
const [byFp32, byDistilled] = await Promise.all([fp32, outcome.model].map((m) => perplexityByPosition(m, stories, edges)));
console.log(`\nby position in the story (validation stories; the training stories are ${o.sampleLength} tokens long):\n`);
console.log(table([
  ['positions', 'tokens', 'fp32', 'distilled', 'gap'],
  ...byFp32.map((f, i) => [`${edges[i]}–${edges[i + 1] - 1}`, String(f.tokens), fmt(f.perplexity), fmt(byDistilled[i].perplexity), vsFp32Of(f.perplexity, byDistilled[i].perplexity)]),
]));
const pass = pplDistilled.perplexity <= TARGET * pplFp32.perplexity;
console.log(`\ntarget: within 10 % of fp32 (≤ ${fmt(TARGET * pplFp32.perplexity)}): ${fmt(pplDistilled.perplexity)} ${pass ? 'PASS' : 'FAIL'}`);
mkdirSync(path.join(REPO_ROOT, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(REPO_ROOT, 'bench', 'out', 'distill-llm.json'), JSON.stringify({
  options: { ...o, scope, from }, structure, cores: os.availableParallelism(), perplexity: { fp32: pplFp32.perplexity, pruned: pplPruned.perplexity, start: pplStart.perplexity, stage1: pplStage1.perplexity, distilled: pplDistilled.perplexity },
  byPosition: byFp32.map((f, i) => ({ from: edges[i], to: edges[i + 1], tokens: f.tokens, fp32: f.perplexity, distilled: byDistilled[i].perplexity })),
  samplingS, trainWallS, length, tokensPerStep,
  stages: stages.map(({ name, run: { result: r }, lr }) => ({
    name, lr, trainStepS: r.trainMs / 1000, steps: r.steps, tokensPerSec: r.samplesPerSec * length, bestStep: r.best?.step, evals: r.evals, lossFirst: r.losses[0], lossLast: r.losses[r.losses.length - 1],
  })),
}, null, 2));
