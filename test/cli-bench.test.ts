// `onnx-slim bench`: size, latency and fidelity of a quantized model against its original, through the CLI.
// No timing assertions: latency figures only have to be present and positive.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanup, compile, loadModel, quant, saveModel } from '../src/index.js';
import { rng } from '../src/runtime/feeds.js';
import { buildBert, BERT_TINY } from './helpers/transformer.js';
import { REAL_MODELS, REPO_ROOT, SCRATCH_DIR } from './helpers/paths.js';
import { writeNpy } from './helpers/npy.js';

const CLI = path.join(REPO_ROOT, 'dist/src/cli/main.js');
const dir = path.join(SCRATCH_DIR, 'cli-bench-test');
const files = {
  bert: path.join(dir, 'bert.onnx'), bertQ: path.join(dir, 'bert.q.onnx'),
  wakeQ: path.join(dir, 'wake.q.onnx'), wakeData: path.join(dir, 'wake-inputs'),
};

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}


const oneLineError = (r: { code: number | null; stderr: string }, pattern: RegExp): void => {
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^onnx-slim: [^\n]+\n$/, r.stderr);
  assert.match(r.stderr, pattern);
};

before(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(files.wakeData, { recursive: true });
  const bert = buildBert({ ...BERT_TINY, seed: 7 });
  saveModel(bert, files.bert);
  saveModel((await compile(bert, [cleanup(), quant()])).model, files.bertQ);
  saveModel((await compile(loadModel(REAL_MODELS.wakeword), [cleanup(), quant()])).model, files.wakeQ);
  // The wakeword model takes [1,25,96]: a file of 3 samples along axis 0 is read one sample at a time.
  const next = rng(5);
  writeNpy(path.join(files.wakeData, 'onnx__Flatten_0.npy'), '<f4', [3, 25, 96], Float32Array.from({ length: 3 * 25 * 96 }, () => 2 * next() - 1));
});

test('bench --json: a tiny BERT against its dynamic-quant version', () => {
  const r = cli('bench', files.bert, files.bertQ, '--json', '--runs', '3', '--warmup', '1', '--dim', 'batch=2', '--dim', 'seq=8', '--samples', '2');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.ok(report.a.bytes > 0 && report.b.bytes > 0);
  assert.ok(report.ratio.size > 0.1 && report.ratio.size < 0.6, `size ratio ${report.ratio.size}`);
  assert.equal(report.ratio.size, report.b.bytes / report.a.bytes);
  for (const side of [report.a, report.b]) {
    const l = side.latency;
    assert.ok(l.minMs > 0 && l.minMs <= l.medianMs && l.medianMs <= l.p90Ms, JSON.stringify(l));
  }
  assert.ok(report.ratio.latencyMedian > 0 && Number.isFinite(report.ratio.latencyMedian));
  assert.ok(report.ratio.latencyP90 > 0 && Number.isFinite(report.ratio.latencyP90));
  assert.deepEqual(report.settings, { runs: 3, warmup: 1, threads: 2, optimization: 'all', feeds: 'generated', batches: 2, seed: 1, dims: { batch: 2, seq: 8 } });
  assert.equal(report.outputs.length, 1);
  const out = report.outputs[0];
  assert.deepEqual(out.shape, [2, 8, BERT_TINY.hidden]);
  assert.equal(out.elements, 2 * 2 * 8 * BERT_TINY.hidden);
  assert.ok(out.cosine > 0.99 && out.cosine <= 1, `cosine ${out.cosine}`);
  assert.ok(out.maxAbsError > 0 && out.maxAbsError < 1, `max abs error ${out.maxAbsError}`);
  assert.ok(out.sqnrDb > 20, `SQNR ${out.sqnrDb}`);
  // rank 3, last dim 32: compared as class scores, one row per token
  assert.equal(out.top1.rows, 2 * 2 * 8);
  assert.ok(out.top1.agreement >= 0 && out.top1.agreement <= 1);
});

test('bench reads inputs in the calibration formats and prints a table (openwakeword)', () => {
  const r = cli('bench', REAL_MODELS.wakeword, files.wakeQ, '--inputs', files.wakeData, '--runs', '3', '--warmup', '1', '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^size\s+\d+\.\d KiB\s+\d+\.\d KiB\s+0\.\d{3}$/m);
  assert.match(r.stdout, /^latency median\s+\S+ [µm]s\s+\S+ [µm]s\s+\d+\.\d{3}$/m);
  assert.match(r.stdout, /^latency p90 /m);
  assert.match(r.stdout, /1 intra-op thread,/);
  assert.match(r.stdout, /fidelity of B against A on 3 feeds from /);
  const row = /^39\s+\[1,1\]\s+(\d\.\d{6})\s/m.exec(r.stdout);
  assert.ok(row && Number(row[1]) > 0.99, r.stdout);
  // the same figures with the same feeds, through --json and --batch-num
  const json = JSON.parse(cli('bench', REAL_MODELS.wakeword, files.wakeQ, '--inputs', files.wakeData, '--batch-num', '2', '--runs', '1', '--warmup', '0', '--json').stdout);
  assert.equal(json.settings.batches, 2);
  assert.equal(json.outputs[0].top1, undefined); // [1,1] is not a score vector
});

test('bench failures are one line with a non-zero exit', () => {
  oneLineError(cli('bench', path.join(dir, 'missing.onnx'), files.bert), /missing\.onnx/);
  oneLineError(cli('bench', REAL_MODELS.wakeword, files.bert), /take different inputs \(onnx::Flatten_0 vs input_ids\)/);
  const notAModel = path.join(dir, 'garbage.onnx');
  writeFileSync(notAModel, 'not a model');
  oneLineError(cli('bench', files.bert, notAModel), /garbage\.onnx is not/);
  const usage = cli('bench', files.bert, files.bertQ, '--runs', '0');
  oneLineError(usage, /--runs/);
  assert.equal(usage.code, 2);
  oneLineError(cli('bench', REAL_MODELS.wakeword, files.wakeQ, '--inputs', files.wakeData, '--dim', 'batch=2'), /do not apply with --inputs/);
  oneLineError(cli('bench', files.bert, files.bertQ, '--inputs', files.wakeData), /no input_ids\.npy for input 'input_ids'/);
});
