// Dynamic and static int8 quantization of BERT-base (`quant` pass) against fp32 and against onnxruntime's own
// quantizer: compile time vs raw file I/O (dynamic), size, latency in onnxruntime-node (all models interleaved in one
// loop), what onnxruntime fused, and the error of the last hidden state.
//   node --expose-gc dist/bench/quant.bench.js [--runs N (30)] [--reps N (5)] [--skip-python] [--seed N (0)]
//                                              [--calib-batches N (4)] [--keep]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/io/load.js';
import { saveModel } from '../src/io/save.js';
import { compile } from '../src/passes/compile.js';
import { quant } from '../passes/index.js';
import { flattenResidualLayerNorms } from '../passes/quant/ort-layout.js';
import { BERT_BASE, buildBert, paramCount, randomInputIds } from '../test/helpers/transformer.js';
import { collect, fmtMB, fmtMs, hasGc, median, table, type Step } from './lib/measure.js';
import { compareOutputs, interleavedLatency, opHistogram, openSession, ort, type ErrorFigures, type Feeds } from './lib/latency.js';
import { findPythonQuantizer, runQuantizer, type PythonQuantizer, type QuantizerRun } from './lib/ort-python.js';
import { quantizeStaticFile, staticFusion } from './lib/quant-static.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(THIS_FILE), '../..');
const SCRATCH = path.join(REPO_ROOT, '.tmp', 'bench-quant');
const OUT_JSON = path.join(REPO_ROOT, 'bench', 'out', 'quant.json');
const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

const SEQ = 128;
const BATCH = 1;
const THREADS = 2;
const TARGET = { compileRatio: 3, sizeRatio: 0.27, latencyRatio: 0.4, minRuns: 20 };
const OUTPUT = 'last_hidden_state';
/** Ops left over when onnxruntime did not fuse our dynamic-quantization pattern. */
const UNFUSED = ['MatMulInteger', 'Cast'];
const FUSED = ['com.microsoft.MatMulIntegerToFloat', 'com.microsoft.DynamicQuantizeMatMul'];

function arg(name: string, fallback: number, min = 1): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} needs an integer >= ${min}, got ${process.argv[i + 1]}`);
  return n;
}

/** CPU pressure (`some avg10` of /proc/pressure/cpu, %): the share of time runnable tasks waited for a core. */
function cpuPressure(): number | undefined {
  try {
    const m = /^some avg10=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** sync(1): write back every dirty page, so no timed write pays for an earlier one's writeback. */
function syncDisks(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

const pass = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
const x = (r: number): string => `${r.toFixed(2)}x`;
const minOf = (xs: readonly number[]): number => Math.min(...xs);
const skipSamples = (xs: readonly number[], n: number): number[] => xs.slice(n);

interface PeerModel {
  readonly key: string;
  readonly label: string;
  readonly file: string;
}

async function main(): Promise<void> {
  const runs = arg('--runs', 30);
  const reps = arg('--reps', 5);
  const seed = arg('--seed', 0, 0);
  const calibBatches = arg('--calib-batches', 4);
  const skipPython = process.argv.includes('--skip-python');
  if (!hasGc()) console.warn('warning: run with --expose-gc, or timings include collecting earlier samples');
  if (runs < TARGET.minRuns) console.warn(`warning: --runs ${runs} is below the ${TARGET.minRuns} the latency target asks for`);
  mkdirSync(SCRATCH, { recursive: true });
  mkdirSync(path.dirname(OUT_JSON), { recursive: true });
  const f = (name: string): string => path.join(SCRATCH, name);
  const fp32File = f('fp32.onnx');
  const oursFile = f('int8.onnx');
  const cliFile = f('int8-cli.onnx');
  const rawFile = f('raw-write.bin');
  const ortDynFile = f('ort-dynamic.onnx');
  const fp32RowsFile = f('fp32-rows.onnx');
  const scratchFiles = [fp32File, fp32RowsFile, oursFile, cliFile, rawFile, ortDynFile];
  const started = performance.now();

  // ------------------------------------------------------------ the model
  const shape = { ...BERT_BASE, seq: SEQ, batch: BATCH, seed };
  const t = performance.now();
  const buildMs = ((): number => {
    const fp32Model = buildBert(shape);
    saveModel(fp32Model, fp32File);
    const ms = performance.now() - t;
    // Info: the quant pass's exact layout rewrite alone (quant/flatten-residual-layernorm), to show what share of
    // the int8 figures is not quantization.
    saveModel(flattenResidualLayerNorms(fp32Model), fp32RowsFile);
    return ms;
  })();
  collect();
  const fp32Bytes = statSync(fp32File).size;
  const params = paramCount(BERT_BASE, 'bert');
  console.log(`model: BERT-base, input_ids [${BATCH}, ${SEQ}] (static), ${(params / 1e6).toFixed(1)}M params, ${fmtMB(fp32Bytes)} (built and saved in ${fmtMs(buildMs)})`);

  // ------------------------------------------------------------ the peer: onnxruntime's Python quantizer
  let py: PythonQuantizer | undefined;
  let pyUnavailable: string | undefined = skipPython ? 'skipped (--skip-python)' : undefined;
  if (!skipPython) {
    const found = findPythonQuantizer(REPO_ROOT, (line) => console.log(line));
    if (found.ok) {
      py = found.quantizer;
      console.log(`peer: onnxruntime.quantization ${py.ortVersion} (${py.source === 'local' ? '.tmp/py' : py.python})`);
    } else {
      pyUnavailable = found.reason;
      console.log(`onnxruntime python quantizer unavailable: ${found.reason}`);
    }
  }

  // ------------------------------------------------------------ 1. compile time, side by side
  // Sub-timings are recorded inside the steps; the first entry of each is the warm-up round's.
  const sub = { load: [] as number[], compile: [] as number[], save: [] as number[], pyQuantizeS: [] as number[], pyImportS: [] as number[] };
  let pyFailure: string | undefined;
  let notes: Record<string, number | string> = {};
  const cliArgs = [CLI, 'compile', fp32File, '--passes', 'quant', '-o', cliFile];
  const steps: Record<string, Step> = {
    raw: {
      before: () => { rmSync(rawFile, { force: true }); syncDisks(); },
      run: () => writeFileSync(rawFile, readFileSync(fp32File)),
    },
    ours: {
      before: () => { rmSync(oursFile, { force: true }); syncDisks(); },
      run: async () => {
        let t0 = performance.now();
        const model = loadModel(fp32File);
        sub.load.push(performance.now() - t0);
        t0 = performance.now();
        const { model: out, reports } = await compile(model, [quant()]);
        sub.compile.push(performance.now() - t0);
        notes = { ...reports[0].notes };
        t0 = performance.now();
        saveModel(out, oursFile);
        sub.save.push(performance.now() - t0);
      },
    },
    cli: {
      before: () => { rmSync(cliFile, { force: true }); syncDisks(); },
      run: () => {
        const r = spawnSync(process.execPath, cliArgs, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`onnx-slim compile failed (${r.status ?? r.signal}): ${r.stderr}`);
      },
    },
  };
  if (py) {
    const q = py;
    steps.ortDynamic = {
      before: () => { rmSync(ortDynFile, { force: true }); syncDisks(); },
      run: () => {
        if (pyFailure) return;
        try {
          const r: QuantizerRun = runQuantizer(q, ['dynamic', fp32File, ortDynFile]);
          sub.pyQuantizeS.push(r.quantizeS);
          sub.pyImportS.push(r.importS);
        } catch (e) {
          pyFailure = (e as Error).message;
        }
      },
    };
  }
  const compileSamples = await interleavedAsync(reps, steps);
  if (pyFailure) console.log(`onnxruntime python quantizer unavailable: ${pyFailure}`);
  const load = skipSamples(sub.load, 1), comp = skipSamples(sub.compile, 1), save = skipSamples(sub.save, 1);
  const compileSave = comp.map((c, i) => c + save[i]);
  const rawMed = median(compileSamples.raw);
  const compileRatio = median(compileSave) / rawMed;
  const pyOk = py !== undefined && !pyFailure;
  const pyQuantMs = pyOk ? skipSamples(sub.pyQuantizeS, 1).map((s) => s * 1000) : [];
  const pyImportMs = pyOk ? skipSamples(sub.pyImportS, 1).map((s) => s * 1000) : [];
  /** Subprocess wall minus the quantize call: interpreter start, imports, exit. */
  const pyOverheadMs = pyOk ? compileSamples.ortDynamic.map((w, i) => w - pyQuantMs[i]) : [];

  // ------------------------------------------------------------ static peers (once each: reference figures)
  const peers: PeerModel[] = [];
  const staticRuns: Record<string, QuantizerRun> = {};
  let staticFailure: string | undefined;
  if (pyOk) {
    peers.push({ key: 'ortDynamic', label: 'onnxruntime quantize_dynamic (S8 weights)', file: ortDynFile });
    for (const [key, act, label] of [
      ['ortStaticS8S8', 'QInt8', 'onnxruntime quantize_static QDQ, act S8 / wt S8'],
      ['ortStaticU8S8', 'QUInt8', 'onnxruntime quantize_static QDQ, act U8 / wt S8'],
    ] as const) {
      const file = f(`ort-static-${key.slice(-4).toLowerCase()}.onnx`);
      scratchFiles.push(file);
      try {
        staticRuns[key] = runQuantizer(py!, ['static', fp32File, file, '--activation', act, '--weight', 'QInt8',
          '--batches', String(calibBatches), '--seq', String(SEQ), '--batch', String(BATCH), '--vocab', String(BERT_BASE.vocab), '--seed', String(seed)]);
        peers.push({ key, label, file });
        console.log(`${label}: ${fmtMs(staticRuns[key].wallMs)} (${calibBatches} random calibration batches)`);
      } catch (e) {
        staticFailure = (e as Error).message;
        console.log(`onnxruntime python quantizer unavailable: ${staticFailure}`);
      }
    }
  }

  // ------------------------------------------------------------ our static mode (once: calibration dominates it)
  const staticFile = f('int8-static.onnx');
  scratchFiles.push(staticFile);
  const ourStatic = await quantizeStaticFile(fp32File, staticFile, { vocab: BERT_BASE.vocab, batch: BATCH, seq: SEQ, batches: calibBatches, seed });
  console.log(`onnx-slim quant (static): ${fmtMs(ourStatic.compileMs)} (${calibBatches} random calibration batches)`);
  collect();

  // ------------------------------------------------------------ 2. size
  const oursBytes = statSync(oursFile).size;
  const staticBytes = statSync(staticFile).size;
  const cliIdentical = readFileSync(cliFile).equals(readFileSync(oursFile));
  const sizeRatio = oursBytes / fp32Bytes;
  const peerBytes = Object.fromEntries(peers.map((p) => [p.key, statSync(p.file).size]));

  // ------------------------------------------------------------ 3a. what onnxruntime makes of each model
  const models: PeerModel[] = [
    { key: 'fp32', label: 'fp32', file: fp32File },
    { key: 'fp32Rows', label: 'fp32, LayerNorms over rows only (info)', file: fp32RowsFile },
    { key: 'ours', label: 'onnx-slim quant (dynamic)', file: oursFile },
    { key: 'oursStatic', label: 'onnx-slim quant (static)', file: staticFile },
    ...peers,
  ];
  const histograms: Record<string, Array<[string, number]>> = {};
  for (const m of models) {
    // A session of its own: the timed sessions below do not save anything.
    const optFile = f(`${m.key}.optimized.onnx`);
    scratchFiles.push(optFile);
    const s = await openSession(m.file, { threads: THREADS, optimizedModelFilePath: optFile });
    await s.release();
    histograms[m.key] = opHistogram(optFile);
    collect();
  }
  const oursOps = new Map(histograms.ours);
  const fusedCount = FUSED.reduce((n, k) => n + (oursOps.get(k) ?? 0), 0);
  const unfused = UNFUSED.filter((k) => oursOps.has(k));
  const quantizedMatMuls = Number(notes['quant/dynamic-matmul'] ?? 0);
  const fusionOk = unfused.length === 0 && fusedCount === quantizedMatMuls;
  const sameKernelsAsOrt = pyOk && JSON.stringify(histograms.ours) === JSON.stringify(histograms.ortDynamic);
  const staticFused = staticFusion(new Map(histograms.oursStatic), ourStatic.notes, BERT_BASE.layers);

  // ------------------------------------------------------------ 3b. latency, all models in one interleaved loop
  const sessions: Record<string, ort.InferenceSession> = {};
  for (const m of models) sessions[m.key] = await openSession(m.file, { threads: THREADS });
  const feedsOf = (s: number): Feeds => {
    const ids = randomInputIds(BERT_BASE.vocab, BATCH, SEQ, s);
    return { input_ids: new ort.Tensor('int64', ids.toArray() as BigInt64Array, [BATCH, SEQ]) };
  };
  console.log(`latency: ${models.length} models, ${THREADS} intra-op threads, ${runs} interleaved rounds after 3 warm-up rounds ...`);
  const loadBefore = os.loadavg()[0];
  const pressureBefore = cpuPressure();
  const latency = await interleavedLatency(sessions, feedsOf(1000 + seed), { runs, warmup: 3 });
  const loadAfter = os.loadavg()[0];
  const pressureAfter = cpuPressure();
  const lat = (k: string): number => median(latency[k]);
  const latRatio = (k: string): number => lat(k) / lat('fp32');
  /** Median over rounds of this model's time / fp32's time in the same round. */
  const pairedRatio = (k: string): number => median(latency[k].map((v, i) => v / latency.fp32[i]));
  const minRatio = (k: string): number => minOf(latency[k]) / minOf(latency.fp32);
  /** Spread of fp32's samples: far above 1 when other processes competed for the cores during the loop. */
  const spread = Math.max(...latency.fp32) / minOf(latency.fp32);

  // ------------------------------------------------------------ 4. fidelity of the last hidden state
  const fidelity: Record<string, ErrorFigures[]> = Object.fromEntries(models.slice(1).map((m) => [m.key, []]));
  for (let i = 0; i < 3; i++) {
    const feeds = feedsOf(seed * 100 + i + 1);
    const ref = (await sessions.fp32.run(feeds))[OUTPUT].data as Float32Array;
    for (const m of models.slice(1)) fidelity[m.key].push(compareOutputs(ref, (await sessions[m.key].run(feeds))[OUTPUT].data as Float32Array));
  }
  for (const s of Object.values(sessions)) await s.release();
  const worst = (k: string): ErrorFigures => ({
    cosine: Math.min(...fidelity[k].map((e) => e.cosine)),
    maxAbs: Math.max(...fidelity[k].map((e) => e.maxAbs)),
    refRms: median(fidelity[k].map((e) => e.refRms)),
  });

  // ------------------------------------------------------------ report
  const samples = (xs: number[]): string => xs.map((v) => v.toFixed(0)).join(' ');
  const cliMed = median(compileSamples.cli);
  const oursTotal = load.map((l, i) => l + comp[i] + save[i]);
  const results = {
    compile: compileRatio <= TARGET.compileRatio,
    size: sizeRatio <= TARGET.sizeRatio,
    latency: latRatio('ours') <= TARGET.latencyRatio,
    staticLatency: latRatio('oursStatic') <= TARGET.latencyRatio,
    fusion: fusionOk,
    staticFusion: staticFused.ok,
    ...(pyOk ? {
      latencyVsOrtDynamic: latRatio('ours') <= latRatio('ortDynamic'),
      staticVsOrtDynamic: latRatio('oursStatic') <= latRatio('ortDynamic'),
      compileVsOrtDynamic: cliMed < median(compileSamples.ortDynamic),
    } : {}),
  };

  console.log(`\n1. compile time: medians of ${reps} after a warm-up round, steps interleaved, dirty pages synced before each (samples in ms)\n`);
  const compileRows: string[][] = [
    ['measure', 'median', 'min', 'samples', 'ratio to raw', 'target', ''],
    ['raw readFileSync + writeFileSync (fp32 file)', fmtMs(rawMed), fmtMs(minOf(compileSamples.raw)), samples(compileSamples.raw), '', '', ''],
    ['onnx-slim compile([quant()]) + saveModel', fmtMs(median(compileSave)), fmtMs(minOf(compileSave)), samples(compileSave), `${x(compileRatio)} (min ${x(minOf(compileSave) / minOf(compileSamples.raw))})`, `<= ${TARGET.compileRatio}x`, pass(results.compile)],
    ['  compile (quant pass)', fmtMs(median(comp)), fmtMs(minOf(comp)), samples(comp), '', '', ''],
    ['  saveModel (int8 file)', fmtMs(median(save)), fmtMs(minOf(save)), samples(save), '', '', ''],
    ['  loadModel before it (info)', fmtMs(median(load)), fmtMs(minOf(load)), samples(load), '', '', ''],
    ['onnx-slim load + compile + save (info)', fmtMs(median(oursTotal)), fmtMs(minOf(oursTotal)), samples(oursTotal), x(median(oursTotal) / rawMed), '', ''],
    ['onnx-slim CLI wall (node start, load, compile, save)', fmtMs(cliMed), fmtMs(minOf(compileSamples.cli)), samples(compileSamples.cli), x(cliMed / rawMed), '', ''],
  ];
  if (pyOk) {
    const pyWall = compileSamples.ortDynamic;
    compileRows.push(
      ['onnxruntime quantize_dynamic, subprocess wall', fmtMs(median(pyWall)), fmtMs(minOf(pyWall)), samples(pyWall), x(median(pyWall) / rawMed), '', ''],
      ['  quantize_dynamic call (python-only, its load + save)', fmtMs(median(pyQuantMs)), fmtMs(minOf(pyQuantMs)), samples(pyQuantMs), x(median(pyQuantMs) / rawMed), '', ''],
      ['  python start, imports, exit (wall - call)', fmtMs(median(pyOverheadMs)), fmtMs(minOf(pyOverheadMs)), samples(pyOverheadMs), '', '', ''],
      ['ours / its: CLI wall / subprocess wall', '', '', '', x(cliMed / median(pyWall)), '< 1x', pass(results.compileVsOrtDynamic!)],
      ['ours / its: load+compile+save / quantize call (info)', '', '', '', x(median(oursTotal) / median(pyQuantMs)), '', ''],
    );
  } else compileRows.push(['onnxruntime quantize_dynamic', '', '', '', '', '', pyFailure ?? pyUnavailable ?? 'unavailable']);
  console.log(table(compileRows));
  console.log(`\nquant pass: ${Object.entries(notes).map(([k, v]) => `${k}=${v}`).join(' ')}; CLI output byte-identical to the in-process one: ${cliIdentical ? 'yes' : 'NO'}`);

  console.log('\n2. size\n');
  const sizeRows: string[][] = [
    ['model', 'bytes', 'size', '/ fp32', 'target', ''],
    ['fp32', String(fp32Bytes), fmtMB(fp32Bytes), '', '', ''],
    ['onnx-slim quant (dynamic)', String(oursBytes), fmtMB(oursBytes), sizeRatio.toFixed(3), `<= ${TARGET.sizeRatio}`, pass(results.size)],
    ['onnx-slim quant (static)', String(staticBytes), fmtMB(staticBytes), (staticBytes / fp32Bytes).toFixed(3), '', ''],
    ...peers.map((p) => [p.label, String(peerBytes[p.key]), fmtMB(peerBytes[p.key]), (peerBytes[p.key] / fp32Bytes).toFixed(3), '', '']),
  ];
  console.log(table(sizeRows));

  console.log(`\n3. latency in onnxruntime-node ${ort.env.versions.node}: ${THREADS} intra-op threads, optimization 'all', sequential; median of ${runs} interleaved rounds (ms)\n`);
  const latRows: string[][] = [
    ['model', 'median', 'min', 'max', '/ fp32 (medians)', '(paired)', '(mins)', 'target', ''],
    ...models.map((m) => {
      const ours = m.key === 'ours' || m.key === 'oursStatic';
      const target = ours ? `<= ${TARGET.latencyRatio}${pyOk ? ', <= ort dynamic' : ''}` : m.key === 'ortDynamic' ? '(ours <= this)' : '';
      const verdicts = m.key === 'ours' ? [results.latency, results.latencyVsOrtDynamic] : m.key === 'oursStatic' ? [results.staticLatency, results.staticVsOrtDynamic] : [];
      const verdict = verdicts.filter((v) => v !== undefined).map((v) => pass(v!)).join(', ');
      return [m.label, fmtMs(lat(m.key)), fmtMs(minOf(latency[m.key])), fmtMs(Math.max(...latency[m.key])),
        ...(m.key === 'fp32' ? ['', '', ''] : [latRatio(m.key).toFixed(3), pairedRatio(m.key).toFixed(3), minRatio(m.key).toFixed(3)]), target, verdict];
    }),
  ];
  console.log(table(latRows));
  console.log(`\nratios: of medians (the target's), median of per-round ratios (paired), of minimums (least disturbed runs).` +
    ` fp32 max/min ${x(spread)}; 1-min load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after on ${os.cpus().length} CPUs` +
    (pressureAfter === undefined ? '' : `; CPU pressure (some avg10) ${pressureBefore}% before, ${pressureAfter}% after`) +
    (spread > 1.5 || loadBefore > os.cpus().length ? ' -- other processes were competing for the cores: figures are noisy, rerun on a quiet machine' : ''));
  if (pyOk) console.log(`ours and onnxruntime's quantize_dynamic run ${sameKernelsAsOrt ? 'the same kernels (identical optimized op histograms): their latencies differ by noise only' : 'different kernels (see below)'}`);

  console.log(`\nwhat onnxruntime runs after optimizing (optimizedModelFilePath, op histogram):`);
  for (const m of models) console.log(`  ${m.label}: ${histograms[m.key].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(`  ours: ${fusedCount} fused quantized MatMuls (MatMulIntegerToFloat + DynamicQuantizeMatMul) of ${quantizedMatMuls} quantized;` +
    ` left unfused: ${unfused.length ? unfused.map((k) => `${k} ${oursOps.get(k)}`).join(', ') : 'none'} -> ${pass(fusionOk)}`);
  console.log(`  ours (static): ${staticFused.summary} -> ${pass(staticFused.ok)}`);
  console.log(`  static pass: ${Object.entries(ourStatic.notes).map(([k, v]) => `${k}=${v}`).join(' ')}`);

  console.log(`\n4. fidelity of ${OUTPUT} vs fp32 (worst of 3 random input_ids; fp32 output rms ${worst('ours').refRms.toFixed(3)})\n`);
  console.log(table([
    ['model', 'cosine (min)', 'max abs error (max)'],
    ...models.slice(1).map((m) => [m.label, worst(m.key).cosine.toFixed(6), worst(m.key).maxAbs.toFixed(4)]),
  ]));
  if (!pyOk) console.log(`\nonnxruntime python quantizer unavailable: ${pyFailure ?? pyUnavailable}; peer lines skipped`);
  else if (staticFailure) console.log(`\nstatic peers incomplete: ${staticFailure}`);

  const totalS = (performance.now() - started) / 1000;
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    onnxruntimeNode: ort.env.versions.node,
    onnxruntimePython: py?.ortVersion,
    model: { kind: 'bert', ...BERT_BASE, seq: SEQ, batch: BATCH, seed, params, fp32Bytes, buildAndSaveMs: buildMs },
    reps, runs, threads: THREADS, calibBatches,
    compile: {
      samplesMs: { raw: compileSamples.raw, compileSave, compile: comp, save, load, cli: compileSamples.cli,
        ...(pyOk ? { ortDynamicWall: compileSamples.ortDynamic, ortDynamicQuantizeCall: pyQuantMs, ortDynamicImport: pyImportMs, ortDynamicOverhead: pyOverheadMs } : {}) },
      mediansMs: {
        raw: rawMed, compileSave: median(compileSave), compile: median(comp), save: median(save), load: median(load),
        loadCompileSave: median(oursTotal), cli: cliMed,
        ...(pyOk ? { ortDynamicWall: median(compileSamples.ortDynamic), ortDynamicQuantizeCall: median(pyQuantMs) } : {}),
      },
      ratio: compileRatio,
      staticPeersWallMs: Object.fromEntries(Object.entries(staticRuns).map(([k, r]) => [k, r.wallMs])),
      passNotes: notes,
      cliIdentical,
    },
    size: { fp32: fp32Bytes, ours: oursBytes, ratio: sizeRatio, static: staticBytes, peers: peerBytes,
      peerRatios: Object.fromEntries(Object.entries(peerBytes).map(([k, b]) => [k, b / fp32Bytes])) },
    latency: {
      samplesMs: latency,
      mediansMs: Object.fromEntries(models.map((m) => [m.key, lat(m.key)])),
      ratios: Object.fromEntries(models.slice(1).map((m) => [m.key, latRatio(m.key)])),
      pairedRatios: Object.fromEntries(models.slice(1).map((m) => [m.key, pairedRatio(m.key)])),
      minRatios: Object.fromEntries(models.slice(1).map((m) => [m.key, minRatio(m.key)])),
      fp32Spread: spread, loadAverage: { before: loadBefore, after: loadAfter }, cpuPressure: { before: pressureBefore, after: pressureAfter }, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model,
      sameKernelsAsOrtDynamic: sameKernelsAsOrt,
    },
    optimizedOps: Object.fromEntries(Object.entries(histograms).map(([k, h]) => [k, Object.fromEntries(h)])),
    fusion: { fused: fusedCount, quantizedMatMuls, unfused },
    static: { compileMs: ourStatic.compileMs, notes: ourStatic.notes, fusion: staticFused },
    fidelity: Object.fromEntries(models.slice(1).map((m) => [m.key, { worst: worst(m.key), perInput: fidelity[m.key] }])),
    peerUnavailable: pyOk ? staticFailure : (pyFailure ?? pyUnavailable),
    targets: TARGET,
    pass: results,
    totalS,
  };
  writeFileSync(OUT_JSON, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(REPO_ROOT, OUT_JSON)} (${totalS.toFixed(0)} s in all)`);
  if (!process.argv.includes('--keep')) for (const file of scratchFiles) rmSync(file, { force: true });
  if (!Object.values(results).every(Boolean)) process.exitCode = 1;
}

/**
 * interleaved() of lib/measure.ts for steps that may return a promise (compile() is async): `warmup` untimed
 * rounds, then `reps` rounds in rotating order, a full GC before each sample.
 */
async function interleavedAsync(reps: number, steps: Readonly<Record<string, Step>>, warmup = 1): Promise<Record<string, number[]>> {
  const names = Object.keys(steps);
  const runOne = async (name: string): Promise<number> => {
    steps[name].before?.();
    collect();
    const t0 = performance.now();
    await steps[name].run();
    return performance.now() - t0;
  };
  for (let r = 0; r < warmup; r++) for (const n of names) { await runOne(n); collect(); }
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      samples[name].push(await runOne(name));
    }
  }
  return samples;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 2;
});
