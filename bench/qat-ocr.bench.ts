// Quantization-aware training of PaddleOCR PP-OCRv4 rec against static PTQ, on the evaluation lines and with the PTQ
// settings of quant-ocr.bench.ts (hist calibration on 32 other lines, bias correction: its best static result), so the
// numbers compare like for like. QAT starts from that very PTQ model and distils from fp32 on unlabeled training
// lines rendered from other texts and seeds (none equal to an evaluation text), cut into equal-width windows and
// batched (bench/lib/qat-lines.ts: batch-1 steps at lr 2e-5 raised the evaluation KL although the training KL fell);
// the exports are int8 QDQ models.
//   node dist/bench/qat-ocr.bench.js [--lines 200] [--calib-lines 32] [--train-lines 200] [--epochs 1] [--lr 5e-6]
//                                    [--train-width 256] [--batch 4] [--pact 1] [--runs 20] [--threads 2]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanup, compile, loadModel, opset, quant, type Model } from '../src/index.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { requireImageMagick, OCR_ASSETS, randomTexts, recDictionary, renderLine } from './lib/ocr.js';
import { stacked, windowsOf } from './lib/qat-lines.js';
import { openSession, opHistogram } from './lib/latency.js';
import { measureRecVariants } from './lib/ocr-variants.js';
import { median, numberArg, table } from './lib/measure.js';

const arg = numberArg;

requireImageMagick();
const dir = path.join(REPO_ROOT, '.tmp', 'bench-qat-ocr');
mkdirSync(dir, { recursive: true });
const dict = recDictionary();
const render = (texts: string[], seed: number) => texts.map((text, i) => renderLine(text, seed * 100_000 + i));
let t0 = performance.now();
const evalLines = render(randomTexts(arg('lines', 200), 1), 1);
const calibLines = render(randomTexts(arg('calib-lines', 32), 2), 2);
const evalTexts = new Set(evalLines.map((l) => l.text));
// Training: two random texts per line (long lines), cut into windows of one width, stacked into batches.
const width = arg('train-width', 256), batch = arg('batch', 4);
const trainTexts = randomTexts(arg('train-lines', 200), 3).filter((t) => !evalTexts.has(t));
const trainLines = render(trainTexts.map((t, i) => t + trainTexts[(i + 1) % trainTexts.length]), 3);
const trainBatches = stacked(trainLines.flatMap((l) => windowsOf(l, width)), batch);
console.log(`rendered ${evalLines.length} evaluation, ${calibLines.length} calibration and ${trainLines.length} training lines (${trainBatches.length} batches of ${batch} windows ${width} columns wide) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const original = loadModel(path.join(OCR_ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'));
const fp32 = (await compile(original, [cleanup(), opset({ target: 13 })], { verify: true })).model;
const ptqOptions = { calib_data: calibLines.map((l) => ({ x: l.input })), batch_num: calibLines.length, bias_correction: true } as const;
const qatOptions = {
  ...ptqOptions, mode: 'qat', train_data: trainBatches.map((x) => ({ x })), epochs: arg('epochs', 1), lr: arg('lr', 5e-6), train_threads: arg('threads', 2),
} as const;

interface Variant { label: string; model: Model; compileMs: number; notes?: Record<string, number | string> }
const variants: Variant[] = [{ label: 'fp32', model: fp32, compileMs: 0 }];
const configs: Array<[string, Record<string, unknown>]> = [
  ['int8 static PTQ (hist + bias correction)', { ...ptqOptions, mode: 'static' }],
  ['int8 QAT', qatOptions],
];
if (arg('pact', 1)) configs.push(['int8 QAT + PACT', { ...qatOptions, activation_preprocess_type: 'PACT' }]);
for (const [label, options] of configs) {
  t0 = performance.now();
  const { model, reports } = await compile(fp32, [quant(options)], { verify: true, print: () => {} });
  variants.push({ label, model, compileMs: performance.now() - t0, notes: reports[0].notes });
  console.log(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`, JSON.stringify(Object.fromEntries(Object.entries(reports[0].notes).filter(([k]) => k.startsWith('qat')))));
}

const { results, samples, files } = await measureRecVariants(variants, evalLines, dict, dir, arg('runs', 20));

const base = results[0], ptq = results[1];
const rows = [['model', 'char accuracy', 'vs fp32 (points)', 'exact lines', 'bytes', 'size ratio', 'latency', 'latency ratio', 'compile (incl. training)']];
for (const r of results) {
  rows.push([
    r.label, `${(r.accuracy * 100).toFixed(2)}%`, r === base ? '' : ((r.accuracy - base.accuracy) * 100).toFixed(2),
    `${(r.exact * 100).toFixed(1)}%`, String(r.bytes), (r.bytes / base.bytes).toFixed(3),
    `${median(samples[r.label]).toFixed(2)} ms`, (median(samples[r.label]) / median(samples[base.label])).toFixed(3),
    r === base ? '' : `${(r.compileMs / 1000).toFixed(1)} s`,
  ]);
}
console.log(`\nPP-OCRv4 rec on ${evalLines.length} rendered lines (${evalLines.reduce((s, l) => s + Array.from(l.text).length, 0)} characters); QAT on ${trainBatches.length} batches of ${batch} unlabeled windows × ${qatOptions.epochs} epoch(s), lr ${qatOptions.lr}\n`);
console.log(table(rows));
for (const r of results.slice(2)) {
  console.log(`target: ${r.label} accuracy >= static PTQ of this run (${(ptq.accuracy * 100).toFixed(2)}%) — ${(r.accuracy * 100).toFixed(2)}% ${r.accuracy >= ptq.accuracy ? 'PASS' : 'FAIL'}; >= the quant issue's 92.49% — ${r.accuracy >= 0.9249 ? 'PASS' : 'FAIL'}`);
  const optimized = path.join(dir, `${r.label.replace(/\W+/g, '-')}.optimized.onnx`);
  await (await openSession(files[r.label], { optimizedModelFilePath: optimized })).release();
  console.log(`what onnxruntime runs for ${r.label}: ${opHistogram(optimized).map(([op, n]) => `${op} ${n}`).join(', ')}`);
}
mkdirSync(path.join(REPO_ROOT, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(REPO_ROOT, 'bench', 'out', 'qat-ocr.json'), JSON.stringify(results.map((r) => ({
  label: r.label, characterAccuracy: r.accuracy, exactLines: r.exact, bytes: r.bytes, latencyMedianMs: median(samples[r.label]),
  compileMs: r.compileMs, ...(r.notes ? { notes: r.notes } : {}),
})), null, 2));
