// Quantization-aware training of PaddleOCR PP-OCRv4 rec against static PTQ, on the evaluation lines and with the PTQ
// settings of quant-ocr.bench.ts (hist calibration on 32 other lines, bias correction: its best static result), so the
// numbers compare like for like. QAT starts from that very PTQ model (passes/quant/qat-fake.ts) and distils from fp32
// on unlabeled training lines (text seed 3, render seeds 300000+i, no evaluation text) over width buckets cropped to
// each bucket's narrowest line, one static-width step graph per bucket sharing weights and AdamW moments
// (lib/distill-ocr-buckets.ts: one fixed 256-column window left the natural-width readings worse). The checkpoint is
// chosen by agreement of the exported int8 model's readings with fp32's on held-out lines (text seed 7, neither
// evaluation nor training), step 0 — the PTQ model itself — included, so QAT never ends below its start on that
// criterion. The exports are int8 QDQ models (passes/quant/qat-export.ts).
//   node dist/bench/qat-ocr.bench.js [--lines 200] [--calib-lines 32] [--train-lines 512] [--val-lines 64] [--steps 160]
//        [--buckets 4] [--batch 4] [--lr 2e-6] [--validate-every 20] [--pact 0] [--runs 20] [--threads 2] [--seed 0]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanup, compile, loadModel, opset, quant, warmupCosine, type Model } from '../src/index.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { requireImageMagick, OCR_ASSETS, characterAccuracy, randomTexts, recDictionary, renderLine } from './lib/ocr.js';
import { openSession, opHistogram } from './lib/latency.js';
import { measureRecVariants, recVariantTable } from './lib/ocr-variants.js';
import { median, numberArg } from './lib/measure.js';
import { widthBuckets } from './lib/distill-ocr-data.js';
import { distillBuckets } from './lib/distill-ocr-buckets.js';
import { recPredictions, withStaticInput } from './lib/distill-ocr-model.js';
import { buildDistillModel } from '../passes/distill/head.js';
import { toFakeQuant } from '../passes/quant/qat-fake.js';
import { exportQat } from '../passes/quant/qat-export.js';
import { distillPairs } from '../passes/quant/qat.js';

const arg = numberArg;

requireImageMagick();
const benchStart = performance.now();
const dir = path.join(REPO_ROOT, '.tmp', 'bench-qat-ocr');
mkdirSync(dir, { recursive: true });
const dict = recDictionary();
const render = (texts: string[], seed: number) => texts.map((text, i) => renderLine(text, seed * 100_000 + i));
let t0 = performance.now();
const evalLines = render(randomTexts(arg('lines', 200), 1), 1);
const calibLines = render(randomTexts(arg('calib-lines', 32), 2), 2);
const evalTexts = new Set(evalLines.map((l) => l.text));
// Training and held-out lines: single random texts like the evaluation lines, none equal to an evaluation text.
const trainCount = arg('train-lines', 512), valCount = arg('val-lines', 64);
const trainLines = render(randomTexts(trainCount * 2, 3).filter((t) => !evalTexts.has(t)).slice(0, trainCount), 3);
const seen = new Set([...evalTexts, ...trainLines.map((l) => l.text)]);
const valLines = render(randomTexts(valCount * 2, 7).filter((t) => !seen.has(t)).slice(0, valCount), 7);
const batch = arg('batch', 4), steps = arg('steps', 160), lr = arg('lr', 2e-6), threads = arg('threads', 2);
const buckets = widthBuckets(trainLines, arg('buckets', 4), batch, 'crop');
console.log(`rendered ${evalLines.length} evaluation, ${calibLines.length} calibration, ${trainLines.length} training and ${valLines.length} held-out lines in ${((performance.now() - t0) / 1000).toFixed(1)} s; buckets ${buckets.map((b) => `${b.width}×${b.lines.length}`).join(', ')}`);

const original = loadModel(path.join(OCR_ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'));
const fp32 = (await compile(original, [cleanup(), opset({ target: 13 })], { verify: true })).model;
const ptqOptions = { calib_data: calibLines.map((l) => ({ x: l.input })), batch_num: calibLines.length, bias_correction: true } as const;
const valReference = await recPredictions(fp32, valLines, dict, threads);
/** Unlabeled: character accuracy of the model's readings of the held-out lines against fp32's. */
const agreement = async (m: Model): Promise<number> => {
  const predicted = await recPredictions(m, valLines, dict, threads);
  return characterAccuracy(valReference.map((truth, i) => ({ truth, predicted: predicted[i] })));
};

interface Variant { label: string; model: Model; compileMs: number; notes?: Record<string, number | string> }
const variants: Variant[] = [{ label: 'fp32', model: fp32, compileMs: 0 }];
t0 = performance.now();
const ptq = (await compile(fp32, [quant({ ...ptqOptions, mode: 'static' })], { verify: true, print: () => {} })).model;
variants.push({ label: 'int8 static PTQ (hist + bias correction)', model: ptq, compileMs: performance.now() - t0 });

const qatRuns: Array<[string, boolean]> = [['int8 QAT', false]];
if (arg('pact', 0)) qatRuns.push(['int8 QAT + PACT', true]);
for (const [label, pact] of qatRuns) {
  t0 = performance.now();
  const fake = toFakeQuant(ptq, { pact });
  const result = await distillBuckets({
    student: fake.model, teacher: fp32, buckets, batch, T: 1, steps,
    lr: warmupCosine({ peak: lr, warmupSteps: Math.max(1, Math.round(steps / 10)), totalSteps: steps, floor: lr / 50 }),
    seed: arg('seed', 0), threads, weightDecay: 0,
    stepModel: (width) => {
      const s = withStaticInput(fake.model, batch, width), t = withStaticInput(fp32, batch, width);
      const d = buildDistillModel(s, { teacher: t, ...distillPairs(s, t) });
      return { model: d.model, loss: d.loss, trainable: fake.trainable };
    },
    validate: (m) => agreement(exportQat(m, fake)), validateEvery: arg('validate-every', 20), log: (l) => console.log(`  ${l}`),
  });
  const n = Math.max(1, Math.round(result.losses.length / 10)), mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
  const notes = {
    'qat: steps (kept)': `${result.steps} (${result.bestStep})`,
    'qat: held-out agreement with fp32 by step': result.validations.map((v) => `${v.step}: ${(100 * v.metric).toFixed(2)}`).join(', '),
    'qat: KL first → last 10% mean': `${mean(result.losses.slice(0, n)).toFixed(4)} → ${mean(result.losses.slice(-n)).toFixed(4)}`,
    'qat: samples/s': Number(result.samplesPerSec.toFixed(2)),
  };
  variants.push({ label, model: exportQat(result.student, fake), compileMs: performance.now() - t0, notes });
  console.log(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`, JSON.stringify(notes));
}

const { results, samples, files } = await measureRecVariants(variants, evalLines, dict, dir, arg('runs', 20));

const ptqResult = results[1];
console.log(`\nPP-OCRv4 rec on ${evalLines.length} rendered lines (${evalLines.reduce((s, l) => s + Array.from(l.text).length, 0)} characters); QAT: ${steps} steps of ${batch} unlabeled lines cropped to ${buckets.length} width buckets (${trainLines.length} lines), AdamW lr ${lr} warm-up + cosine, checkpoint by agreement with fp32 on ${valLines.length} held-out lines\n`);
console.log(recVariantTable(results, samples, 'compile (incl. training)'));
for (const r of results.slice(2)) {
  console.log(`target: ${r.label} accuracy >= static PTQ of this run (${(ptqResult.accuracy * 100).toFixed(2)}%) — ${(r.accuracy * 100).toFixed(2)}% ${r.accuracy >= ptqResult.accuracy ? 'PASS' : 'FAIL'}; >= the quant issue's 92.49% — ${r.accuracy >= 0.9249 ? 'PASS' : 'FAIL'}`);
  const optimized = path.join(dir, `${r.label.replace(/\W+/g, '-')}.optimized.onnx`);
  await (await openSession(files[r.label], { optimizedModelFilePath: optimized })).release();
  console.log(`what onnxruntime runs for ${r.label}: ${opHistogram(optimized).map(([op, n]) => `${op} ${n}`).join(', ')}`);
}
mkdirSync(path.join(REPO_ROOT, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(REPO_ROOT, 'bench', 'out', 'qat-ocr.json'), JSON.stringify(results.map((r) => ({
  label: r.label, characterAccuracy: r.accuracy, exactLines: r.exact, bytes: r.bytes, latencyMedianMs: median(samples[r.label]),
  compileMs: r.compileMs, ...(r.notes ? { notes: r.notes } : {}),
})), null, 2));
console.log(`whole bench: ${((performance.now() - benchStart) / 1000).toFixed(0)} s`);
