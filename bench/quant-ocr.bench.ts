// Static int8 quantization of PaddleOCR PP-OCRv4 rec (a real Paddle export, opset 9), judged by character accuracy
// on text lines rendered with ImageMagick + Noto CJK (fonts, sizes, blur and noise varied): fp32 against int8
// calibrated on other rendered lines, with size and latency, all in one run.
//   node dist/bench/quant-ocr.bench.js [--lines 200] [--calib-lines 32] [--runs 20]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanup, compile, loadModel, opset, quant, type Model } from '../src/index.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { requireImageMagick, OCR_ASSETS, randomTexts, recDictionary, renderLine } from './lib/ocr.js';
import { openSession, opHistogram } from './lib/latency.js';
import { measureRecVariants, recVariantTable } from './lib/ocr-variants.js';
import { median, numberArg } from './lib/measure.js';

const arg = numberArg;

requireImageMagick();
const dir = path.join(REPO_ROOT, '.tmp', 'bench-quant-ocr');
mkdirSync(dir, { recursive: true });
const dict = recDictionary();
const render = (count: number, seed: number) => randomTexts(count, seed).map((text, i) => renderLine(text, seed * 100_000 + i));
let t0 = performance.now();
const evalLines = render(arg('lines', 200), 1);
const calibLines = render(arg('calib-lines', 32), 2); // other texts, other styles: no overlap with the evaluation set
console.log(`rendered ${evalLines.length} evaluation and ${calibLines.length} calibration lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const original = loadModel(path.join(OCR_ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'));
const fp32 = (await compile(original, [cleanup(), opset({ target: 13 })], { verify: true })).model;
const calib = calibLines.map((l) => ({ x: l.input }));
const variants: Array<{ label: string; model: Model; compileMs: number }> = [{ label: 'fp32', model: fp32, compileMs: 0 }];
for (const [label, options] of [
  ['int8 static (hist)', {}],
  ['int8 static (hist) + bias correction', { bias_correction: true }],
] as const) {
  t0 = performance.now();
  const { model } = await compile(fp32, [quant({ mode: 'static', calib_data: calib, batch_num: calib.length, ...options })], { verify: true });
  variants.push({ label, model, compileMs: performance.now() - t0 });
}

const { results, samples, files } = await measureRecVariants(variants, evalLines, dict, dir, arg('runs', 20));

const base = results[0];
console.log(`\nPP-OCRv4 rec on ${evalLines.length} rendered lines (${evalLines.reduce((s, l) => s + Array.from(l.text).length, 0)} characters)\n`);
console.log(recVariantTable(results, samples));
const best = results.slice(1).sort((a, b) => b.accuracy - a.accuracy)[0];
const drop = (base.accuracy - best.accuracy) * 100;
console.log(`\ntargets: accuracy within 0.5 points of fp32 — ${best.label}: ${drop.toFixed(2)} points ${drop <= 0.5 ? 'PASS' : 'FAIL'}; size <= 0.3 — ${(best.bytes / base.bytes).toFixed(3)} ${best.bytes / base.bytes <= 0.3 ? 'PASS' : 'FAIL'}`);
const optimized = path.join(dir, 'int8.optimized.onnx');
await (await openSession(files[variants[2].label], { optimizedModelFilePath: optimized })).release();
console.log(`what onnxruntime runs for ${variants[2].label}: ${opHistogram(optimized).map(([op, n]) => `${op} ${n}`).join(', ')}`);
mkdirSync(path.join(REPO_ROOT, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(REPO_ROOT, 'bench', 'out', 'quant-ocr.json'), JSON.stringify(results.map((r) => ({
  label: r.label, characterAccuracy: r.accuracy, exactLines: r.exact, bytes: r.bytes, latencyMedianMs: median(samples[r.label]), compileMs: r.compileMs,
})), null, 2));
