// Weight-only 4-bit quantization of a real Llama-architecture LM (stories260K, ../shared/models): perplexity on
// the 8 validation stories for fp32, round-to-nearest and GPTQ (calibrated on text the model sampled itself,
// never on the validation stories), model size, and latency in onnxruntime-node, all in one run.
//   node dist/bench/quant-llm.bench.js [--runs N] [--calib-sequences N]
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanup, compile, loadModel, quant, saveModel, type Model } from '../src/index.js';
import { perplexity, STORIES_MODEL, validationStories } from '../test/helpers/perplexity.js';
import { sampleSequences, sequenceFeeds } from '../test/helpers/lm-sampling.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { interleavedLatency, openSession, opHistogram, ort } from './lib/latency.js';
import { median, numberArg, table } from './lib/measure.js';

const arg = numberArg;

const dir = path.join(REPO_ROOT, '.tmp', 'bench-quant-llm');
mkdirSync(dir, { recursive: true });
const stories = validationStories();
const fp32 = (await compile(loadModel(STORIES_MODEL), [cleanup()])).model;

const started = performance.now();
const calib = sequenceFeeds(await sampleSequences(fp32, { count: arg('calib-sequences', 16), length: 256, seed: 7 }));
const samplingMs = performance.now() - started;

interface Variant { readonly label: string; readonly model: Model; readonly compileMs: number }
const variants: Variant[] = [{ label: 'fp32', model: fp32, compileMs: 0 }];
for (const blockSize of [32, 16]) {
  for (const calibrated of [false, true]) {
    const t0 = performance.now();
    const { model } = await compile(fp32, [quant({
      mode: 'weight-only', block_size: blockSize, weight_quantize_type: 'asymmetric',
      ...(calibrated ? { calib_data: calib, batch_num: calib.length } : {}),
    })], { verify: true });
    variants.push({ label: `int4 ${calibrated ? 'GPTQ' : 'RTN'} block ${blockSize}`, model, compileMs: performance.now() - t0 });
  }
}

const files: Record<string, string> = {};
for (const v of variants) {
  files[v.label] = path.join(dir, `${v.label.replace(/\W+/g, '-')}.onnx`);
  saveModel(v.model, files[v.label]);
}
const results = [];
for (const v of variants) results.push({ ...v, ppl: await perplexity(v.model, stories), bytes: statSync(files[v.label]).size });

// Latency on one 256-token sequence, 2 threads, models interleaved.
const sessions = Object.fromEntries(await Promise.all(variants.map(async (v) => [v.label, await openSession(files[v.label])] as const)));
const ids = calib[0].input_ids;
const feeds = { input_ids: new ort.Tensor('int64', ids.toArray() as BigInt64Array, [...ids.dims]) };
const samples = await interleavedLatency(sessions, feeds, { runs: arg('runs', 30), warmup: 3 });

const base = results[0];
const rows = [['model', 'perplexity', 'vs fp32', 'bytes', 'size ratio', 'latency (median)', 'latency ratio', 'compile']];
for (const r of results) {
  const lat = median(samples[r.label]);
  rows.push([
    r.label, r.ppl.perplexity.toFixed(4), r === base ? '' : `${((r.ppl.perplexity / base.ppl.perplexity - 1) * 100).toFixed(2)}%`,
    String(r.bytes), (r.bytes / base.bytes).toFixed(3), `${lat.toFixed(3)} ms`, (lat / median(samples[base.label])).toFixed(3),
    r === base ? '' : `${r.compileMs.toFixed(0)} ms`,
  ]);
}
console.log(`stories260K, ${stories.length} validation stories (${base.ppl.tokens} predicted tokens); GPTQ calibrated on ${calib.length} self-sampled sequences of 256 tokens (sampling took ${(samplingMs / 1000).toFixed(1)} s)\n`);
console.log(table(rows));
const best = results.filter((r) => r.label.includes('GPTQ')).sort((a, b) => a.ppl.perplexity - b.ppl.perplexity)[0];
const rise = best.ppl.perplexity / base.ppl.perplexity - 1;
console.log(`\ntarget: perplexity within 5% of fp32 — best ${best.label}: ${(rise * 100).toFixed(2)}% ${rise <= 0.05 ? 'PASS' : 'FAIL'}`);
console.log(`onnxruntime runs (GPTQ block 16): ${opHistogram(files[variants[4].label]).filter(([op]) => /MatMul/.test(op)).map(([op, n]) => `${op} ${n}`).join(', ')}`);
mkdirSync(path.join(REPO_ROOT, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(REPO_ROOT, 'bench', 'out', 'quant-llm.json'), JSON.stringify(results.map((r) => ({
  label: r.label, perplexity: r.ppl.perplexity, meanNll: r.ppl.meanNll, tokens: r.ppl.tokens, bytes: r.bytes,
  latencyMedianMs: median(samples[r.label]), compileMs: r.compileMs,
})), null, 2));
