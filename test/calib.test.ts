// Calibration: each observer on distributions with known answers, the merge-exactness property (shards merge to
// the single-pass range bit for bit, also through JSON), the data readers (test data sets, .npy, iterables) and
// their errors, and collectRanges on a small model whose intermediate ranges are known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { encodeMessageTo } from '../src/proto/codec.js';
import { messageSpec } from '../src/proto/schema.js';
import { MemorySink } from '../src/proto/wire.js';
import { tensorToProto } from '../src/ir/convert.js';
import { DataType } from '../src/ir/dtype.js';
import { Tensor } from '../src/ir/tensor.js';
import { GraphBuilder, makeModel } from '../src/ir/builder.js';
import type { Model } from '../src/ir/model.js';
import {
  type Observer, type ObserverOptions, AbsMaxObserver, CALIB_ALGORITHMS, HistObserver, KLObserver, MovingAverageAbsMaxObserver,
  MseObserver, createObserver, deserializeObserver, resolveAlgo,
} from '../src/calib/observers/index.js';
import { pow2 } from '../src/calib/observers/histogram.js';
import { type Feed, CalibDataError, calibrationData, parseNpyHeader, readNpy } from '../src/calib/data.js';
import { type CalibProgress, collectRanges, mergeObservers, withObservedOutputs } from '../src/calib/collect.js';
import { rng } from './helpers/feeds.js';
import { PROP_RUNS, PROP_SEED, SCRATCH_DIR } from './helpers/paths.js';
import { writeNpy } from './helpers/npy.js';

const params = { seed: PROP_SEED, numRuns: PROP_RUNS };
console.log(`calib: seed=${PROP_SEED} runs=${PROP_RUNS} (set FC_SEED / FC_RUNS to replay)`);

/** Standard normal samples (Box–Muller over the seeded generator). */
function normal(n: number, seed: number): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next())), a = 2 * Math.PI * next();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

const observeAll = (o: Observer, batches: readonly Float32Array[]): Observer => {
  for (const b of batches) o.observe(b);
  return o;
};

const viaJson = (o: Observer): Observer => deserializeObserver(JSON.parse(JSON.stringify(o.serialize())));

const sameRange = (a: Observer, b: Observer): boolean =>
  Object.is(a.range().min, b.range().min) && Object.is(a.range().max, b.range().max);

// ---------------------------------------------------------------- observers on known distributions

test('abs_max (minmax) tracks the exact min and max, skipping NaN and infinities', () => {
  const o = observeAll(createObserver('minmax'), [
    Float32Array.of(0.5, -3.25, 2), Float32Array.of(), Float32Array.of(NaN, Infinity, 7.75, -Infinity), Float32Array.of(-1),
  ]);
  assert.ok(o instanceof AbsMaxObserver);
  assert.deepEqual(o.range(), { min: -3.25, max: 7.75 });
  assert.equal(o.count, 5);
  assert.equal(o.nonFinite, 3);
  assert.deepEqual(new AbsMaxObserver().range(), { min: 0, max: 0 });
});

test('moving_average_abs_max follows PaddleSlim: state = r·state + 1, accum = r·accum + max, scale = accum / state', () => {
  const maxima = [6, 2, 9, 4];
  const o = new MovingAverageAbsMaxObserver();
  for (const m of maxima) o.observe(Float32Array.of(-m, m / 2));
  let state = 1, accum = 1;
  for (const m of maxima) { state = 0.9 * state + 1; accum = 0.9 * accum + m; }
  assert.equal(o.scale(), accum / state);
  // One batch: (0.9·1 + 6) / (0.9·1 + 1).
  const one = new MovingAverageAbsMaxObserver();
  one.observe(Float32Array.of(3, -6));
  assert.equal(one.scale(), 6.9 / 1.9);
  assert.deepEqual(one.range(), { min: -6.9 / 1.9, max: 3 });
  // Clipped to the values seen, like every observer: the largest value was 9 / 2.
  assert.deepEqual(o.range(), { min: -accum / state, max: 4.5 });
  assert.equal(new MovingAverageAbsMaxObserver({ rate: 0.5 }).rate, 0.5);
});

test('hist: the percentile of |x| for uniform and normal samples is near the analytic value', () => {
  const u = new HistObserver({ histPercent: 0.99 });
  for (let b = 0; b < 4; b++) u.observe(uniform(50_000, 10 + b, -1, 1));
  assert.ok(Math.abs(u.threshold() - 0.99) < 3e-3, `uniform: ${u.threshold()}`);

  const n = new HistObserver({ histPercent: 0.999 });
  for (let b = 0; b < 4; b++) n.observe(normal(250_000, 20 + b));
  // P(|X| > 3.2905) = 1e-3 for a standard normal.
  assert.ok(Math.abs(n.threshold() - 3.2905) < 0.03, `normal 0.999: ${n.threshold()}`);

  const d = new HistObserver(); // hist_percent 0.99999: P(|X| > 4.4172) = 1e-5
  for (let b = 0; b < 4; b++) d.observe(normal(250_000, 20 + b));
  assert.ok(Math.abs(d.threshold() - 4.4172) < 0.25, `normal 0.99999: ${d.threshold()}`);
  assert.deepEqual(d.range(), { min: -d.threshold(), max: d.threshold() });
});

/** A standard normal sample with a few large outliers (the largest at `outlier`). */
function withOutliers(seed: number, outlier: number): Float32Array[] {
  const batches = [normal(200_000, seed), normal(200_000, seed + 1)];
  batches[0][7] = outlier;
  batches[1][3] = -outlier / 2;
  batches[1][9] = outlier / 4;
  return batches;
}

test('KL: on a normal sample with outliers the threshold covers the bulk and stays well below the outliers', () => {
  const o = observeAll(new KLObserver(), withOutliers(31, 20)) as KLObserver;
  const t = o.threshold();
  assert.ok(t > 2.5 && t < 8, `KL threshold ${t}`);
  assert.deepEqual(o.range(), { min: -t, max: t });
  // The threshold is the argmin of the divergences, at i·width.
  const kl = o.divergences();
  const best = kl.indexOf(Math.min(...kl));
  assert.equal(t, (best + o.quantBins) * o.histogram.binWidth);
  // 255 levels (uint8) keep at least as wide a range as 128 on the same data.
  const wide = observeAll(new KLObserver({ quantBins: 255 }), withOutliers(31, 20)) as KLObserver;
  assert.ok(wide.threshold() >= o.quantBins * o.histogram.binWidth);
});

test('mse: the threshold covers the bulk of a normal sample and stays well below the outliers', () => {
  const o = observeAll(new MseObserver(), withOutliers(41, 20)) as MseObserver;
  const t = o.threshold();
  assert.ok(t > 2.5 && t < 10, `mse threshold ${t}`);
  const err = o.errors();
  assert.equal(t, (err.indexOf(Math.min(...err)) + 1) * o.histogram.binWidth);
  // Without outliers, the int8 MSE-optimal clip of a standard normal lies near 4σ.
  const clean = observeAll(new MseObserver(), [normal(400_000, 43)]) as MseObserver;
  assert.ok(clean.threshold() > 3 && clean.threshold() < 5, `clean mse threshold ${clean.threshold()}`);
  // Fewer bits clip harder.
  const four = observeAll(new MseObserver({ bits: 4 }), [normal(400_000, 43)]) as MseObserver;
  assert.ok(four.threshold() < clean.threshold(), `4-bit ${four.threshold()} vs 8-bit ${clean.threshold()}`);
});

test('histogram observers clip the symmetric range to the values seen (a ReLU output keeps min 0)', () => {
  const relu = uniform(100_000, 5, -3, 3).map((x) => Math.max(x, 0));
  for (const algo of ['hist', 'KL', 'mse'] as const) {
    const o = createObserver(algo);
    o.observe(relu);
    assert.equal(o.range().min, 0, algo);
    assert.ok(o.range().max > 2 && o.range().max <= 3, `${algo}: ${o.range().max}`);
  }
  const zeros = createObserver('KL');
  zeros.observe(new Float32Array(10));
  assert.deepEqual(zeros.range(), { min: 0, max: 0 });
});

test('the histogram grows by merging bins: bin edges stay powers of two and the range always holds the max', () => {
  const o = new HistObserver({ bins: 16 });
  o.observe(Float32Array.of(0.75, 1));
  assert.equal(o.histogram.binWidth, 2 ** -3); // 1 < 16 · 2^-3, 1 ≥ 16 · 2^-4
  o.observe(Float32Array.of(100));
  assert.equal(o.histogram.binWidth, 8); // 100 < 16 · 8
  assert.deepEqual([...o.histogram.counts].slice(0, 13), [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(pow2(-1074 + 52), 2 ** -1022);
  assert.equal(pow2(117), 2 ** 117);
});

// ---------------------------------------------------------------- merge exactness (property)

/** Floats of every magnitude: fast-check's float32 (NaN, ±Infinity, -0, subnormals included) and moderate ones. */
const value = fc.oneof(fc.float(), fc.float({ min: -8, max: 8, noNaN: true }), fc.float({ min: Math.fround(-1e-30), max: Math.fround(1e-30), noNaN: true }));
const batches = fc.array(fc.array(value, { maxLength: 40 }).map((xs) => Float32Array.from(xs)), { minLength: 1, maxLength: 8 });

// KL and mse cost O(bins²) per range(); smaller histograms keep the property fast (exactness does not depend on size).
const PROPERTY_OPTIONS: Readonly<Record<string, ObserverOptions>> = { KL: { bins: 256 }, mse: { bins: 512 } };

for (const algo of Object.keys(CALIB_ALGORITHMS)) {
  test(`${algo}: shards merged (through JSON) give the single-pass range bit for bit`, () => {
    const options = PROPERTY_OPTIONS[algo] ?? {};
    fc.assert(fc.property(batches, fc.nat(), (bs, at) => {
      const k = at % (bs.length + 1);
      const single = observeAll(createObserver(algo, options), bs);
      const a = observeAll(createObserver(algo, options), bs.slice(0, k));
      const b = observeAll(createObserver(algo, options), bs.slice(k));
      const merged = viaJson(a).merge(viaJson(b));
      assert.ok(sameRange(merged, single), `merged ${JSON.stringify(merged.range())} vs single ${JSON.stringify(single.range())}`);
      assert.ok(sameRange(viaJson(single), single), 'serialize/deserialize changed the range');
      assert.deepEqual(merged.serialize(), single.serialize());
      // Order-free algorithms also merge the other way round.
      if (algo !== 'moving_average_abs_max') assert.ok(sameRange(viaJson(b).merge(viaJson(a)), single), 'merge is not commutative');
    }), params);
  });
}

test('merge exactness at the default 2048 bins, for every algorithm, over uneven scales', () => {
  const bs = [normal(5000, 1), uniform(3000, 2, -0.001, 0.002), Float32Array.of(1e6, -3), normal(4000, 3).map((x) => x * 1e-20)];
  for (const algo of Object.keys(CALIB_ALGORITHMS)) {
    const single = observeAll(createObserver(algo), bs);
    for (let k = 0; k <= bs.length; k++) {
      const merged = viaJson(observeAll(createObserver(algo), bs.slice(0, k))).merge(observeAll(createObserver(algo), bs.slice(k)));
      assert.ok(sameRange(merged, single), `${algo} split at ${k}`);
    }
  }
});

test('observers refuse to merge other algorithms or options, and bad states', () => {
  assert.throws(() => new HistObserver().merge(new KLObserver()), /cannot merge a KL observer into a hist observer/);
  assert.throws(() => new HistObserver({ histPercent: 0.9 }).merge(new HistObserver()), /different options/);
  assert.throws(() => new KLObserver({ bins: 256 }).merge(new KLObserver()), /different options/);
  assert.throws(() => deserializeObserver({ algo: 'nope' }), /not an observer state/);
  const s = new HistObserver().serialize();
  assert.throws(() => deserializeObserver({ ...s, counts: [1, 2] }), /'counts' must hold 2048 counts/);
  assert.throws(() => deserializeObserver({ ...new AbsMaxObserver().serialize(), count: -1 }), /'count' must be a non-negative integer/);
  assert.throws(() => resolveAlgo('avg'), /unknown calibration algorithm 'avg' \(known: abs_max, moving_average_abs_max, hist, KL, mse/);
  assert.equal(resolveAlgo('kl'), 'KL');
  assert.equal(resolveAlgo('min_max'), 'abs_max');
});

// ---------------------------------------------------------------- data readers

const ROOT = path.join(SCRATCH_DIR, 'calib');

function freshDir(name: string): string {
  const dir = path.join(ROOT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** x: float[1,3], ids: int64[1,2], plus an initializer-backed input that feeds need not provide. */
function twoInputModel(): Model {
  const b = new GraphBuilder('two');
  const x = b.input('x', DataType.FLOAT, [1, 3]);
  const ids = b.input('ids', DataType.INT64, [1, 2]);
  const y = b.op('Relu', [x]);
  const c = b.op('Cast', [ids], { to: DataType.FLOAT });
  b.output(y, DataType.FLOAT, [1, 3]);
  b.output(c, DataType.FLOAT, [1, 2]);
  return makeModel(b.build(), { opset: 17 });
}

function writeTensorProto(file: string, t: Tensor): void {
  const sink = new MemorySink();
  encodeMessageTo(tensorToProto(t, {}), messageSpec('TensorProto'), sink);
  writeFileSync(file, sink.concat());
}


async function collect(data: AsyncIterable<Feed>): Promise<Feed[]> {
  const out: Feed[] = [];
  for await (const f of data) out.push(f);
  return out;
}

test('test_data_set_* folders: input_N.pb feeds the N-th non-initializer input, sets in numeric order', async () => {
  const dir = freshDir('datasets');
  const model = twoInputModel();
  for (const [k, set] of [[0, 'test_data_set_0'], [1, 'test_data_set_1'], [10, 'test_data_set_10']] as const) {
    mkdirSync(path.join(dir, set));
    writeTensorProto(path.join(dir, set, 'input_0.pb'), Tensor.fromArray(DataType.FLOAT, [1, 3], Float32Array.of(k, -k, 0.5)));
    writeTensorProto(path.join(dir, set, 'input_1.pb'), Tensor.fromArray(DataType.INT64, [1, 2], BigInt64Array.of(BigInt(k), 7n)));
    writeTensorProto(path.join(dir, set, 'output_0.pb'), Tensor.fromArray(DataType.FLOAT, [1], Float32Array.of(0)));
  }
  mkdirSync(path.join(dir, 'test_data_set_2'));
  writeTensorProto(path.join(dir, 'test_data_set_2', 'input_0.pb'), Tensor.fromArray(DataType.FLOAT, [1, 3], Float32Array.of(2, -2, 0.5)));
  writeTensorProto(path.join(dir, 'test_data_set_2', 'input_1.pb'), Tensor.fromArray(DataType.INT64, [1, 2], BigInt64Array.of(2n, 7n)));

  const data = calibrationData(model, dir);
  assert.equal(data.total, 4);
  const feeds = await collect(data);
  assert.deepEqual(feeds.map((f) => Array.from(f.x.toFloat32())), [[0, -0, 0.5], [1, -1, 0.5], [2, -2, 0.5], [10, -10, 0.5]]);
  assert.deepEqual(feeds.map((f) => f.ids.toNumbers()), [[0, 7], [1, 7], [2, 7], [10, 7]]);
  const limited = calibrationData(model, dir, { batchNum: 2 });
  assert.equal(limited.total, 2);
  assert.equal((await collect(limited)).length, 2);
});

test('test data set errors: extra input, wrong dtype, wrong shape, missing input, not a TensorProto', async () => {
  const model = twoInputModel();
  const cases: Array<[string, (set: string) => void, RegExp]> = [
    ['extra', (set) => writeTensorProto(path.join(set, 'input_2.pb'), Tensor.scalar(DataType.FLOAT, 1)), /input_2\.pb: the model has 2 inputs \(x, ids\), so there is no input 2/],
    ['dtype', (set) => writeTensorProto(path.join(set, 'input_1.pb'), Tensor.fromArray(DataType.INT32, [1, 2], Int32Array.of(1, 2))), /input 'ids' is int32, the model declares int64/],
    ['shape', (set) => writeTensorProto(path.join(set, 'input_0.pb'), Tensor.fromArray(DataType.FLOAT, [1, 4], new Float32Array(4))), /input 'x' has shape \[1,4\], the model declares \[1,3\]/],
    ['missing', (set) => rmSync(path.join(set, 'input_1.pb')), /missing input 'ids' \(inputs: x, ids\)/],
    ['garbage', (set) => writeFileSync(path.join(set, 'input_0.pb'), Buffer.from([0xff, 0xff, 0xff])), /input_0\.pb is not a valid TensorProto/],
  ];
  for (const [name, spoil, message] of cases) {
    const dir = freshDir(`datasets-${name}`);
    const set = path.join(dir, 'test_data_set_0');
    mkdirSync(set);
    writeTensorProto(path.join(set, 'input_0.pb'), Tensor.fromArray(DataType.FLOAT, [1, 3], new Float32Array(3)));
    writeTensorProto(path.join(set, 'input_1.pb'), Tensor.fromArray(DataType.INT64, [1, 2], new BigInt64Array(2)));
    spoil(set);
    await assert.rejects(collect(calibrationData(model, dir)), (e: Error) => e instanceof CalibDataError && message.test(e.message) && !e.message.includes('\n'), name);
  }
});

test('.npy folders: files named after inputs, split along axis 0 where the model takes batch 1', async () => {
  const dir = freshDir('npy');
  const model = twoInputModel();
  const x = Float32Array.from({ length: 12 }, (_, i) => i - 5.5);
  writeNpy(path.join(dir, 'x.npy'), '<f4', [4, 3], x);
  writeNpy(path.join(dir, 'ids.npy'), '<i8', [4, 2], BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i * 10)), { version: 2 });
  writeNpy(path.join(dir, 'unrelated.npy'), '<f8', [2], Float64Array.of(1, 2));
  const data = calibrationData(model, dir);
  assert.equal(data.total, 4);
  const feeds = await collect(data);
  assert.equal(feeds.length, 4);
  feeds.forEach((f, k) => {
    assert.deepEqual(f.x.dims, [1, 3]);
    assert.deepEqual(Array.from(f.x.toFloat32()), Array.from(x.subarray(3 * k, 3 * k + 3)));
    assert.deepEqual(f.ids.toNumbers(), [20 * k, 20 * k + 10]);
  });
  assert.equal((await collect(calibrationData(model, dir, { batchNum: 3 }))).length, 3);

  // A file holding exactly one sample is one feed.
  const one = freshDir('npy-one');
  writeNpy(path.join(one, 'x.npy'), '<f4', [1, 3], Float32Array.of(1, 2, 3), { version: 3 });
  writeNpy(path.join(one, 'ids.npy'), '<i8', [1, 2], BigInt64Array.of(4n, 5n));
  const [only, ...rest] = await collect(calibrationData(model, one));
  assert.equal(rest.length, 0);
  assert.deepEqual(Array.from(only.x.toFloat32()), [1, 2, 3]);
});

test('.npy reads float32/float64/int64/int32/uint8/bool, versions 1–3', () => {
  const dir = freshDir('npy-types');
  const cases: Array<[string, DataType, ArrayBufferView, number[]]> = [
    ['<f4', DataType.FLOAT, Float32Array.of(1.5, -2), [1.5, -2]],
    ['<f8', DataType.DOUBLE, Float64Array.of(0.1, 1e300), [0.1, 1e300]],
    ['<i8', DataType.INT64, BigInt64Array.of(-3n, 2n ** 40n), [-3, 2 ** 40]],
    ['<i4', DataType.INT32, Int32Array.of(-7, 9), [-7, 9]],
    ['|u1', DataType.UINT8, Uint8Array.of(0, 255), [0, 255]],
    ['|b1', DataType.BOOL, Uint8Array.of(1, 0), [1, 0]],
  ];
  cases.forEach(([descr, dataType, data, values], i) => {
    const file = path.join(dir, `a${i}.npy`);
    writeNpy(file, descr, [2], data, { version: 1 + (i % 3) });
    const t = readNpy(file);
    assert.equal(t.dataType, dataType, descr);
    assert.deepEqual(t.dims, [2]);
    assert.deepEqual(t.toNumbers(), values, descr);
  });
  const scalar = path.join(dir, 'scalar.npy');
  writeNpy(scalar, '<f4', [], Float32Array.of(4));
  assert.deepEqual(readNpy(scalar).dims, []);
});

test('.npy errors: Fortran order, pickles, wrong dtype, sample counts, missing file, truncation', async () => {
  const model = twoInputModel();
  const ok = (dir: string): void => writeNpy(path.join(dir, 'ids.npy'), '<i8', [2, 2], new BigInt64Array(4));
  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    ['fortran', (d) => { ok(d); writeNpy(path.join(d, 'x.npy'), '<f4', [2, 3], new Float32Array(6), { fortran: true }); }, /x\.npy is stored in Fortran order; save a C-ordered array/],
    ['pickle', (d) => { ok(d); writeNpy(path.join(d, 'x.npy'), '|O', [2, 3], new Float64Array(6)); }, /x\.npy holds Python objects \(a pickle\)/],
    ['float64', (d) => { ok(d); writeNpy(path.join(d, 'x.npy'), '<f8', [2, 3], new Float64Array(6)); }, /x\.npy: input 'x' is double, the model declares float/],
    ['shape', (d) => { ok(d); writeNpy(path.join(d, 'x.npy'), '<f4', [2, 4], new Float32Array(8)); }, /x\.npy: input 'x' has shape \[1,4\], the model declares \[1,3\]/],
    ['counts', (d) => { ok(d); writeNpy(path.join(d, 'x.npy'), '<f4', [3, 3], new Float32Array(9)); }, /different numbers of samples \(x\.npy: 3, ids\.npy: 2\)/],
    ['missing', (d) => { writeNpy(path.join(d, 'x.npy'), '<f4', [2, 3], new Float32Array(6)); }, /no ids\.npy for input 'ids' \(found x\.npy\)/],
    ['truncated', (d) => { ok(d); writeNpy(path.join(d, 'x.npy'), '<f4', [2, 3], new Float32Array(5)); }, /x\.npy holds 20 data bytes, its shape \[2,3\] needs 24/],
    ['big-endian', (d) => { ok(d); writeNpy(path.join(d, 'x.npy'), '>f4', [2, 3], new Float32Array(6)); }, /x\.npy is big-endian/],
    ['not-npy', (d) => { ok(d); writeFileSync(path.join(d, 'x.npy'), 'hello'); }, /x\.npy is not an \.npy file/],
  ];
  for (const [name, make, message] of cases) {
    const dir = freshDir(`npy-${name}`);
    make(dir);
    assert.throws(() => calibrationData(model, dir), (e: Error) => e instanceof CalibDataError && message.test(e.message) && !e.message.includes('\n'), `${name}: ${(() => { try { calibrationData(model, dir); return 'no error'; } catch (e) { return (e as Error).message; } })()}`);
  }
  assert.throws(() => parseNpyHeader(Buffer.from('\x93NUMPY\x04\x00xx', 'latin1'), 'v4.npy'), /v4\.npy uses \.npy format version 4\.0, not 1, 2 or 3/);
  assert.throws(() => calibrationData(model, freshDir('empty')), /has neither test_data_set_\* folders nor \.npy files/);
  assert.throws(() => calibrationData(model, path.join(ROOT, 'nowhere')), /is not a folder/);
});

test('iterables of feeds pass through, checked against the model', async () => {
  const model = twoInputModel();
  const feed = (v: number): Feed => ({
    x: Tensor.fromArray(DataType.FLOAT, [1, 3], Float32Array.of(v, v, v)),
    ids: Tensor.fromArray(DataType.INT64, [1, 2], BigInt64Array.of(1n, 2n)),
  });
  async function* gen(): AsyncGenerator<Feed> { for (let i = 0; i < 5; i++) yield feed(i); }
  assert.equal((await collect(calibrationData(model, gen(), { batchNum: 3 }))).length, 3);
  assert.equal((await collect(calibrationData(model, [feed(1), feed(2)]))).length, 2);
  await assert.rejects(collect(calibrationData(model, [{ x: feed(1).x }])), /calibration batch 0: missing input 'ids'/);
  await assert.rejects(collect(calibrationData(model, [feed(0), { ...feed(1), y: feed(1).x }])), /calibration batch 1: 'y' is not an input of the model/);
});

// ---------------------------------------------------------------- collectRanges

/** x[1,8] → Relu → r; m = r · 2; out = m - 1 (graph output). */
function reluMulModel(): { model: Model; r: string; m: string; out: string } {
  const b = new GraphBuilder('relu-mul');
  const x = b.input('x', DataType.FLOAT, [1, 8]);
  const r = b.op('Relu', [x]);
  const m = b.op('Mul', [r, b.initializer('two', Tensor.scalar(DataType.FLOAT, 2))]);
  const out = b.op('Sub', [m, b.initializer('one', Tensor.scalar(DataType.FLOAT, 1))]);
  b.output(out, DataType.FLOAT, [1, 8]);
  return { model: makeModel(b.build(), { opset: 17 }), r, m, out };
}

const xFeeds = (n: number, seed: number): Feed[] => Array.from({ length: n }, (_, k) =>
  ({ x: Tensor.fromArray(DataType.FLOAT, [1, 8], uniform(8, seed + k, -3, 5)) }));

test('collectRanges observes inputs, intermediates and outputs; the ranges follow analytically', async () => {
  const { model, r, m, out } = reluMulModel();
  const feeds = xFeeds(6, 100);
  const all = feeds.flatMap((f) => Array.from(f.x.toFloat32()));
  const lo = Math.min(...all), hi = Math.max(...all);
  const progress: CalibProgress[] = [];
  const { ranges, observers, batches } = await collectRanges(model, ['x', r, m, out, 'two'], feeds, { algo: 'abs_max', onProgress: (p) => progress.push(p) });
  assert.equal(batches, 6);
  assert.deepEqual(ranges.get('x'), { min: lo, max: hi });
  assert.deepEqual(ranges.get(r), { min: 0, max: hi });
  assert.deepEqual(ranges.get(m), { min: 0, max: 2 * hi });
  assert.deepEqual(ranges.get(out), { min: -1, max: Math.fround(2 * hi - 1) });
  assert.deepEqual(ranges.get('two'), { min: 2, max: 2 });
  assert.ok(observers.get(r) instanceof AbsMaxObserver);
  assert.deepEqual(progress.map((p) => [p.done, p.finished]), [[1, false], [2, false], [3, false], [4, false], [5, false], [6, false], [6, true]]);
  // The input model is untouched; the augmented one lists the intermediates as outputs, typed.
  assert.deepEqual(model.graph.outputs.map((o) => o.name), [out]);
  const augmented = withObservedOutputs(model, ['x', r, m, out]);
  assert.deepEqual(augmented.graph.outputs.map((o) => o.name), [out, r, m]);
  assert.ok(augmented.graph.outputs.every((o) => o.type), 'extra outputs carry a type');
  assert.equal(withObservedOutputs(model, ['x', out]), model);
});

test('collectRanges: batch_num, sharded collection merges to the single run, and errors', async () => {
  const { model, r, m } = reluMulModel();
  const feeds = xFeeds(8, 200);
  for (const algo of ['hist', 'KL', 'mse', 'moving_average_abs_max']) {
    const single = await collectRanges(model, [r, m], feeds, { algo, onProgress: false });
    const a = await collectRanges(model, [r, m], feeds.slice(0, 3), { algo, onProgress: false });
    const b = await collectRanges(model, [r, m], feeds.slice(3), { algo, onProgress: false });
    const merged = mergeObservers(a.observers, new Map([...b.observers].map(([k, o]) => [k, viaJson(o)])));
    for (const name of [r, m]) assert.deepEqual(merged.get(name)!.range(), single.ranges.get(name), `${algo} ${name}`);
  }
  const limited = await collectRanges(model, [r], feeds, { batchNum: 3, onProgress: false });
  assert.equal(limited.batches, 3);
  await assert.rejects(collectRanges(model, ['nope'], feeds), /cannot calibrate 'nope': no node of the main graph makes it/);
  await assert.rejects(collectRanges(model, [r], [], { onProgress: false }), /calibration data held no batches/);
  await assert.rejects(collectRanges(model, [r], feeds, { algo: 'avg' }), /unknown calibration algorithm 'avg'/);
  await assert.rejects(collectRanges(model, [r], [{ y: feeds[0].x }], { onProgress: false }), /calibration batch 0: 'y' is not an input/);

  const b = new GraphBuilder('shape');
  const x = b.input('x', DataType.FLOAT, [1, 8]);
  const s = b.op('Shape', [x]);
  b.output(b.op('Relu', [x]), DataType.FLOAT, [1, 8]);
  await assert.rejects(collectRanges(makeModel(b.build()), [s], feeds, { onProgress: false }), /cannot calibrate 'Shape_out0': it is int64, and only float values are quantized/);
});
