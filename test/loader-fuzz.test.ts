// Damaged files: a truncated or bit-flipped model either still decodes (and then encodes again) or is refused
// with a ModelFormatError, never a RangeError/TypeError/stack overflow. The CLI turns every bad input or flag
// into one `onnx-slim: ` line on stderr and a non-zero exit, leaving no output or temporary file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { decodeModel, loadModel } from '../src/io/load.js';
import { encodeModel } from '../src/io/save.js';
import { ModelFormatError } from '../src/ir/convert.js';
import { verifyModel } from '../src/ir/verify.js';
import { DataType } from '../src/ir/dtype.js';
import { Tensor } from '../src/ir/tensor.js';
import { GraphBuilder, makeModel } from '../src/ir/builder.js';
import { compile } from '../src/passes/compile.js';
import { runModel } from '../src/runtime/ort.js';
import { cleanup } from '../passes/index.js';
import { plainBytes } from './helpers/backend-suite.js';
import { BACKEND_TESTS_DIR, PROP_RUNS, PROP_SEED, REAL_MODELS, REPO_ROOT, SCRATCH_DIR, SHARED_MODELS_DIR } from './helpers/paths.js';

console.log(`# loader-fuzz: FC_SEED=${PROP_SEED} FC_RUNS=${PROP_RUNS}`);

// Small models decode in well under a millisecond: one with weights, and backend models with If/Loop/Scan bodies
// and sequence types (nested messages) where the shared suite is there.
const SOURCES = [
  REAL_MODELS.wakeword, path.join(SHARED_MODELS_DIR, 'mnist/mnist.onnx'),
  ...['test_if', 'test_if_opt', 'test_loop11', 'test_scan9_sum', 'test_sequence_map_identity_1_sequence'].map((c) => path.join(BACKEND_TESTS_DIR, c, 'model.onnx')),
].filter((f) => existsSync(f)).map((f) => ({ name: path.relative(REPO_ROOT, f), bytes: plainBytes(readFileSync(f)) }));

/** What happened to a damaged input: 'decoded', 'refused', or a description of the crash. */
function outcome(bytes: Uint8Array): 'decoded' | 'refused' | string {
  let model;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    if (e instanceof ModelFormatError && e.message.length > 0) return 'refused';
    return `decodeModel threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`;
  }
  // Rare: the damage hit bytes that still parse. Anything done with the model may fail, but only as an Error.
  for (const [what, run] of [['encodeModel', () => encodeModel(model)], ['verifyModel', () => verifyModel(model)]] as const) {
    try {
      run();
    } catch (e) {
      if (!(e instanceof Error) || !e.message || (e instanceof RangeError && /call stack/.test(e.message))) {
        return `${what} threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`;
      }
    }
  }
  return 'decoded';
}

const assertNoCrash = (bytes: Uint8Array): void => {
  const o = outcome(bytes);
  assert.ok(o === 'decoded' || o === 'refused', o);
};

/** Positions anywhere, or near either end of the file, where the graph structure (not weight bytes) mostly is. */
const position = (size: number): fc.Arbitrary<number> => fc.oneof(
  fc.integer({ min: 0, max: size - 1 }),
  fc.integer({ min: 0, max: Math.min(size, 8192) - 1 }),
  fc.integer({ min: Math.max(0, size - 8192), max: size - 1 }),
);

const source = fc.constantFrom(...SOURCES);
const options = { seed: PROP_SEED, numRuns: PROP_RUNS * 3 };

test('a truncated model is refused with a ModelFormatError', () => {
  fc.assert(fc.property(source.chain((s) => fc.tuple(fc.constant(s), position(s.bytes.length))), ([s, at]) => {
    const o = outcome(s.bytes.subarray(0, at));
    // A prefix cut inside the graph cannot pass for a model (the graph's length runs past the end).
    assert.ok(o === 'refused' || (o === 'decoded' && at > 0), `${s.name} cut at ${at}: ${o}`);
  }), options);
});

test('a model with flipped bits decodes or is refused, never crashes', () => {
  const flips = (size: number) => fc.array(fc.tuple(position(size), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 });
  fc.assert(fc.property(source.chain((s) => fc.tuple(fc.constant(s), flips(s.bytes.length))), ([s, fl]) => {
    const bytes = s.bytes.slice();
    for (const [at, bit] of fl) bytes[at] ^= 1 << bit;
    assertNoCrash(bytes);
  }), options);
});

test('a model with overwritten bytes decodes or is refused, never crashes', () => {
  const writes = (size: number) => fc.array(fc.tuple(position(size), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 });
  fc.assert(fc.property(source.chain((s) => fc.tuple(fc.constant(s), writes(s.bytes.length))), ([s, ws]) => {
    const bytes = s.bytes.slice();
    for (const [at, v] of ws) bytes[at] = v;
    assertNoCrash(bytes);
  }), options);
});

test('random bytes and a few hand-made shapes are refused', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), assertNoCrash), options);
  const varint = (n: number): number[] => { const out: number[] = []; while (n >= 128) { out.push((n % 128) | 0x80); n = Math.floor(n / 128); } out.push(n); return out; };
  const field = (id: number, payload: number[]): number[] => [...varint(id * 8 + 2), ...varint(payload.length), ...payload];
  // Graphs nested in If attributes far deeper than any model: refused, not a stack overflow.
  let graph: number[] = [];
  for (let i = 0; i < 300; i++) graph = field(1, field(5, [...field(1, [0x74]), 0xa0, 0x01, 0x05, ...field(6, graph)]));
  const cases: Array<[string, number[]]> = [
    ['empty', []],
    ['no graph', [0x08, 0x08]],
    ['graph, no ir_version', field(7, [])],
    ['deeply nested graphs', [0x08, 0x08, ...field(7, graph)]],
    ['group wire type', [0x08, 0x08, 0x7b]],
    ['11-byte varint', [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['length past the end', [0x08, 0x08, 0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ['negative dimension', [0x08, 0x08, ...field(7, field(5, [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x10, 0x01]))]],
    ['packed floats of odd length', [0x08, 0x08, ...field(7, field(5, [0x10, 0x01, ...field(4, [1, 2, 3])]))]],
  ];
  for (const [name, bytes] of cases) assert.equal(outcome(Uint8Array.from(bytes)), 'refused', name);
});

// ---------------------------------------------------------------- damaged but decodable: through cleanup

/** Errors that mean a bug rather than a refusal with a reason. */
const isCrash = (e: unknown): boolean =>
  !(e instanceof Error) || !e.message || e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError;

// Backend models whose Constant tensors use int64_data / int32_data and subgraphs: a flipped data_type or count
// reaches the evaluator that constant folding runs.
const FOLD_SOURCES = ['test_softmax_axis_0_expanded', 'test_flexattention_causal_mask', 'test_loop11', 'test_constantofshape_int_zeros',
  'test_attention_4d_with_qk_matmul_expanded', 'test_range_float_type_positive_delta_expanded']
  .map((c) => path.join(BACKEND_TESTS_DIR, c, 'model.onnx')).filter((f) => existsSync(f))
  .map((f) => ({ name: path.basename(path.dirname(f)), bytes: plainBytes(readFileSync(f)) }));

test('a damaged model that still decodes goes through cleanup or is refused by name', { skip: FOLD_SOURCES.length === 0 && 'no shared backend suite' }, async () => {
  const flips = (size: number) => fc.array(fc.tuple(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 3 });
  await fc.assert(fc.asyncProperty(fc.constantFrom(...FOLD_SOURCES).chain((s) => fc.tuple(fc.constant(s), flips(s.bytes.length))), async ([s, fl]) => {
    const bytes = s.bytes.slice();
    for (const [at, bit] of fl) bytes[at] ^= 1 << bit;
    let model;
    try { model = decodeModel(bytes); } catch { return; }
    try {
      await compile(model, [cleanup()]);
    } catch (e) {
      assert.ok(!isCrash(e), `${s.name} with bits ${JSON.stringify(fl)} flipped: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
  }), { seed: PROP_SEED, numRuns: PROP_RUNS * 5 });
});

/** A model computing Reshape(x, Add(c, c)) with `c` a Constant holding `tensor`: cleanup folds the Add. */
function foldingModel(tensor: Tensor, outType: DataType): Uint8Array {
  const g = new GraphBuilder('g');
  const c = g.op('Constant', [], { value: tensor });
  const sum = g.op('Add', [c, c]);
  g.output(sum, outType);
  return encodeModel(makeModel(g.build(), { opset: 17 }));
}

test('tensor payloads that disagree with their shape or type are refused (at load) by name, not a TypeError', async () => {
  const bad: Array<[string, Tensor]> = [
    ['int64_data shorter than the shape', new Tensor(DataType.INT64, [3], { kind: 'int64_data', values: [1, 2] })],
    ['int64_data longer than the shape', new Tensor(DataType.INT64, [1], { kind: 'int64_data', values: [1, 2] })],
    ['int32_data under an INT64 type', new Tensor(DataType.INT64, [2], { kind: 'int32_data', values: Int32Array.from([1, 2]) })],
    ['int32_data shorter than the shape', new Tensor(DataType.INT16, [3], { kind: 'int32_data', values: Int32Array.from([1, 2]) })],
    ['float_data under an INT64 type', new Tensor(DataType.INT64, [2], { kind: 'float_data', values: Float32Array.from([1, 2]) })],
    ['raw_data too short', new Tensor(DataType.INT64, [2], { kind: 'raw', bytes: new Uint8Array(12) })],
  ];
  const problems: string[] = [];
  for (const [what, t] of bad) {
    try {
      await compile(decodeModel(foldingModel(t, t.dataType)), [cleanup()]);
      problems.push(`${what}: it was accepted`);
    } catch (e) {
      if (isCrash(e)) problems.push(`${what}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('UINT32 tensors in uint64_data (as onnx.proto specifies) read and fold', async () => {
  const t = new Tensor(DataType.UINT32, [2], { kind: 'uint64_data', values: [1, 4000000000] });
  assert.deepEqual([...t.toArray()], [1, 4000000000]);
  const { model } = await compile(decodeModel(foldingModel(new Tensor(DataType.UINT32, [2], { kind: 'uint64_data', values: [1, 2] }), DataType.UINT32)), [cleanup()], { verify: true });
  const out = await runModel(model, {});
  assert.deepEqual([...Object.values(out)[0].toArray()], [2, 4]);
});

// ---------------------------------------------------------------- the CLI

const CLI = path.join(REPO_ROOT, 'dist/src/cli/main.js');
const CLI_DIR = path.join(SCRATCH_DIR, 'loader-fuzz-cli');

function fresh(name: string): string {
  const dir = path.join(CLI_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ONNX_SLIM_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Non-zero exit, one `onnx-slim: ` line on stderr, no stack trace, nothing left in `outDir`. */
function assertCleanFailure(what: string, args: readonly string[], outDir: string, message?: RegExp): void {
  const r = cli(args);
  assert.notEqual(r.status, 0, `${what}: exit status`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${what}: stderr is one line: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], /^onnx-slim: \S/, what);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:|internal error/, `${what}: no stack trace or internal error`);
  if (message) assert.match(lines[0], message, what);
  const left = existsSync(outDir) ? readdirSync(outDir).filter((f) => !f.startsWith('input')) : [];
  assert.deepEqual(left, [], `${what}: nothing written`);
}

test('CLI refuses bad inputs and flags with one line and leaves no file behind', () => {
  const good = REAL_MODELS.wakeword;
  const bytes = readFileSync(good);

  let dir = fresh('missing');
  assertCleanFailure('missing file', ['compile', path.join(dir, 'input-nope.onnx'), '-o', path.join(dir, 'out.onnx')], dir, /no such file/);

  dir = fresh('text');
  writeFileSync(path.join(dir, 'input.onnx'), 'this is not a model\nat all\n');
  assertCleanFailure('text file', ['compile', path.join(dir, 'input.onnx'), '-o', path.join(dir, 'out.onnx')], dir);

  dir = fresh('truncated');
  writeFileSync(path.join(dir, 'input.onnx'), bytes.subarray(0, bytes.length >> 1));
  assertCleanFailure('truncated model', ['compile', path.join(dir, 'input.onnx'), '-o', path.join(dir, 'out.onnx')], dir);

  dir = fresh('empty');
  writeFileSync(path.join(dir, 'input.onnx'), '');
  assertCleanFailure('empty file', ['compile', path.join(dir, 'input.onnx'), '-o', path.join(dir, 'out.onnx')], dir, /empty/);

  dir = fresh('folder');
  mkdirSync(path.join(dir, 'input.onnx'));
  assertCleanFailure('folder as input', ['compile', path.join(dir, 'input.onnx'), '-o', path.join(dir, 'out.onnx')], dir);

  dir = fresh('unknown-pass');
  assertCleanFailure('unknown pass', ['compile', good, '--passes', 'cleanup,nope', '-o', path.join(dir, 'out.onnx')], dir, /nope/);

  dir = fresh('unknown-option');
  assertCleanFailure('unknown option', ['compile', good, '--bogus', '-o', path.join(dir, 'out.onnx')], dir, /bogus/);

  dir = fresh('unknown-pass-option');
  assertCleanFailure('unknown pass option', ['compile', good, '--cleanup-bogus', '1', '-o', path.join(dir, 'out.onnx')], dir, /bogus/);

  dir = fresh('bad-value');
  assertCleanFailure('non-integer option value', ['compile', good, '--cleanup-fold-max-elements', 'abc', '-o', path.join(dir, 'out.onnx')], dir, /abc|integer/);

  dir = fresh('missing-value');
  assertCleanFailure('option without a value', ['compile', good, '-o', path.join(dir, 'out.onnx'), '--cleanup-fold-max-elements'], dir);

  dir = fresh('config-section');
  writeFileSync(path.join(dir, 'input.yaml'), 'Compress:\n  Cleanup: {}\n  Frobnicate: { level: 3 }\n');
  assertCleanFailure('config with an unknown section', ['compile', good, '--config', path.join(dir, 'input.yaml'), '-o', path.join(dir, 'out.onnx')], dir, /Frobnicate/);

  dir = fresh('config-yaml');
  writeFileSync(path.join(dir, 'input.yaml'), 'Compress: [unclosed\n');
  assertCleanFailure('config that is not YAML', ['compile', good, '--config', path.join(dir, 'input.yaml'), '-o', path.join(dir, 'out.onnx')], dir);

  dir = fresh('no-output');
  assertCleanFailure('no -o', ['compile', good], dir);

  dir = fresh('unknown-command');
  assertCleanFailure('unknown command', ['frobnicate', good], dir);
});

test('CLI refuses damaged models without a crash (seeded)', () => {
  const dir = fresh('damaged');
  const input = path.join(dir, 'input.onnx');
  const src = readFileSync(REAL_MODELS.wakeword);
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (ws) => {
    const bytes = Buffer.from(src);
    for (const [at, v] of ws) bytes[at] = v;
    writeFileSync(input, bytes);
    const out = path.join(dir, 'out.onnx');
    const r = cli(['compile', input, '-o', out, '-q']);
    if (r.status === 0) { assert.ok(loadModel(out)); rmSync(out); return; }
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^onnx-slim: /);
    assert.doesNotMatch(lines[0], /internal error/);
    assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('input')), []);
  }), { seed: PROP_SEED, numRuns: Math.max(3, Math.ceil(PROP_RUNS / 20)) });
});

test('CLI creates a missing output folder and writes a loadable model', () => {
  const dir = fresh('new-folder');
  const out = path.join(dir, 'a', 'b', 'out.onnx');
  const r = cli(['compile', REAL_MODELS.wakeword, '-o', out, '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.ok(loadModel(out).graph.nodes.length > 0);
  assert.deepEqual(readdirSync(path.dirname(out)), ['out.onnx'], 'no temporary file left');
});
