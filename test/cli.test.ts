// The command-line contract: help on every command, inspect, compile with a YAML config, IR dumps, pass options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { REAL_MODELS, REPO_ROOT, SCRATCH_DIR } from './helpers/paths.js';
import { loadModel } from '../src/index.js';

const CLI = path.join(REPO_ROOT, 'dist/src/cli/main.js');
const dir = path.join(SCRATCH_DIR, 'cli-test');
mkdirSync(dir, { recursive: true });

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--help works on every command', () => {
  for (const args of [['--help'], ['compile', '--help'], ['inspect', '--help'], ['passes', '--help']]) {
    const r = cli(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: onnx-slim/);
  }
  assert.match(cli('compile', '--help').stdout, /--cleanup-fold-max-elements/);
});

test('inspect --json describes a real model', () => {
  const r = cli('inspect', REAL_MODELS.ppocrCls, '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.opsets['ai.onnx'] > 0, true);
  assert.equal(s.inputs.length, 1);
  assert.match(s.inputs[0].type, /^float\[/);
  assert.ok(s.parameters > 100_000);
  assert.ok(s.ops.Conv > 0 && s.ops.Constant > 0);
  const text = cli('inspect', REAL_MODELS.ppocrCls);
  assert.match(text.stdout, /ops\n/);
});

test('compile reads pass options from a YAML config (FleetX-style Compress section) and reports per pass', () => {
  const config = path.join(dir, 'slim.yaml');
  writeFileSync(config, 'Global:\n  passes: [cleanup]\nCompress:\n  Cleanup:\n    fold_max_elements: 16\n    dedupe_initializers: false\n');
  const out = path.join(dir, 'cls.onnx');
  rmSync(out, { force: true });
  const r = cli('compile', REAL_MODELS.ppocrCls, '--config', config, '-o', out, '--verify', '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.passes[0].pass, 'cleanup');
  assert.ok(report.passes[0].after.nodes < report.passes[0].before.nodes);
  assert.equal(report.passes[0].notes['duplicate initializers merged'], undefined);
  assert.ok(existsSync(out));
  assert.ok(loadModel(out).graph.initializers.size > 0);
});

test('--print-ir-after prints the IR of the named pass', () => {
  const r = cli('compile', REAL_MODELS.wakeword, '--passes', 'cleanup', '-o', path.join(dir, 'ww.onnx'), '--print-ir-after', 'cleanup');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\/\/ IR after cleanup\nmodel ir=\d+ opsets=\[/);
  assert.match(r.stdout, /= (Gemm|MatMul)\(/);
});

test('pass options on the command line are validated against the schema', () => {
  const out = path.join(dir, 'x.onnx');
  const bad = cli('compile', REAL_MODELS.wakeword, '-o', out, '--cleanup-fold-max-elements', '-3');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^onnx-slim: option --cleanup-fold-max-elements needs a value|^onnx-slim: option fold_max_elements of pass cleanup expects/);
  const good = cli('compile', REAL_MODELS.wakeword, '-o', out, '--cleanup-fold-max-elements=64', '--cleanup-dedupe-initializers', 'false', '-q');
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stdout, '');
});
