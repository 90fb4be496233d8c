// Load/save of a BERT-base-sized model (~110M params, ~440 MB) against what the file system itself costs:
// loadModel vs readFileSync, saveModel vs writeFileSync of the same bytes, and the peak RSS of a process
// that loads and saves, measured in child processes (`--child <mode> FILE [OUT]`) so this one's heap stays out.
//   node --expose-gc dist/bench/io.bench.js [--reps N (7)] [--layers N (12)] [--keep]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModel, loadModel } from '../src/io/load.js';
import { encodeModel, saveModel } from '../src/io/save.js';
import type { Model } from '../src/ir/model.js';
import { BERT_BASE, buildBert, paramCount } from '../test/helpers/transformer.js';
import { MB, collect, fmtMB, fmtMs, hasGc, interleaved, median, table } from './lib/measure.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(THIS_FILE), '../..');
const SCRATCH = path.join(REPO_ROOT, '.tmp', 'bench');
const OUT_JSON = path.join(REPO_ROOT, 'bench', 'out', 'io.json');

const TARGET = { loadRatio: 1.5, saveRatio: 2, rssFactor: 1.3, rssSlackBytes: 100 * MB };

// ---------------------------------------------------------------- child: one load (and save), then report maxRSS

interface ChildReport {
  readonly mode: string;
  /** process.resourceUsage().maxRSS, KiB. On Linux it also counts the parent's pages the child had between fork and exec. */
  readonly maxRssKiB: number;
  /** VmHWM of /proc/self/status, KiB: this process image's own peak (absent off Linux). */
  readonly hwmKiB?: number;
  readonly ms?: number;
  readonly loadMs?: number;
  readonly saveMs?: number;
}

/** Peak resident set of this process image (VmHWM); undefined where /proc is missing. */
function vmHwmKiB(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The peak the targets use: VmHWM where the OS has it, else maxRSS. */
const peakKiB = (r: ChildReport): number => r.hwmKiB ?? r.maxRssKiB;

function child(mode: string, file: string | undefined, extra: string | undefined): void {
  const report: { -readonly [K in keyof ChildReport]: ChildReport[K] } = { mode, maxRssKiB: 0 };
  if (mode === 'generate') {
    // Built here, so the parent stays small while it spawns the RSS children (see ChildReport.maxRssKiB).
    if (!file) throw new Error('--child generate needs an output path');
    const t = performance.now();
    saveModel(buildBert({ ...BERT_BASE, layers: Number(extra ?? BERT_BASE.layers), seed: 0, pooler: true }), file);
    report.ms = performance.now() - t;
  } else if (mode !== 'baseline') {
    if (!file) throw new Error(`--child ${mode} needs a model file`);
    let t = performance.now();
    const model = loadModel(file);
    report.loadMs = performance.now() - t;
    if (mode === 'load-save') {
      if (!extra) throw new Error('--child load-save needs an output path');
      t = performance.now();
      saveModel(model, extra);
      report.saveMs = performance.now() - t;
    } else if (mode !== 'load') throw new Error(`unknown child mode '${mode}'`);
  }
  report.maxRssKiB = process.resourceUsage().maxRSS;
  report.hwmKiB = vmHwmKiB();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runChild(mode: string, file: string, extra: string): ChildReport {
  const r = spawnSync(process.execPath, [THIS_FILE, '--child', mode, file, extra], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`child ${mode} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildReport;
}

/** sync(1): write back every dirty page (no-op where the command is missing). */
function syncDisks(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

// ---------------------------------------------------------------- checks

/** The saved model must hold the very bytes the source had: a benchmark of a broken save is worthless. */
function verifySaved(source: Model, savedFile: string, sourceFile: string): { identicalFile: boolean; tensorsChecked: number } {
  const identicalFile = readFileSync(savedFile).equals(readFileSync(sourceFile));
  const again = loadModel(savedFile);
  const a = source.graph.initializers;
  const b = again.graph.initializers;
  if (a.size !== b.size) throw new Error(`saved model has ${b.size} initializers, the source ${a.size}`);
  for (const [name, t] of a) {
    const u = b.get(name);
    if (!u) throw new Error(`saved model lost initializer '${name}'`);
    if (u.dataType !== t.dataType || u.dims.join() !== t.dims.join()) throw new Error(`initializer '${name}' changed type or shape`);
    if (!Buffer.from(u.rawBytes().buffer, u.rawBytes().byteOffset, u.byteLength).equals(t.rawBytes())) {
      throw new Error(`initializer '${name}' changed bytes`);
    }
  }
  if (again.graph.nodes.length !== source.graph.nodes.length) throw new Error('saved model has another node count');
  return { identicalFile, tensorsChecked: a.size };
}

// ---------------------------------------------------------------- main

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function main(): void {
  const reps = arg('--reps', 7);
  const layers = arg('--layers', BERT_BASE.layers);
  if (!hasGc()) console.warn('warning: run with --expose-gc, or timings include collecting earlier samples');
  mkdirSync(SCRATCH, { recursive: true });
  mkdirSync(path.dirname(OUT_JSON), { recursive: true });
  const file = path.join(SCRATCH, 'bert-base.onnx');
  const rawOut = path.join(SCRATCH, 'raw-write.bin');
  const saveOut = path.join(SCRATCH, 'saved.onnx');
  const childOut = path.join(SCRATCH, 'child-saved.onnx');

  const shape = { ...BERT_BASE, layers };
  const params = paramCount(shape, 'bert', true);
  const generated = runChild('generate', file, String(layers));
  const size = statSync(file).size;
  console.log(`model: BERT ${layers} layers, ${(params / 1e6).toFixed(1)}M params, ${fmtMB(size)} (built and saved in ${fmtMs(generated.ms!)})`);

  // Memory first, while this process is small: on Linux a child's maxRSS starts at its parent's RSS (fork).
  const baseline = runChild('baseline', file, childOut);
  const loadOnly = runChild('load', file, childOut);
  const loadSave = runChild('load-save', file, childOut);

  // Flush the children's dirty pages now, not as writeback in the middle of a timed read.
  syncDisks();
  // Warm the page cache for both contenders: one read before any timing.
  const bytes = readFileSync(file);
  const baseDir = path.dirname(file);
  const loads = interleaved(reps, {
    rawRead: { run: () => readFileSync(file) },
    load: { run: () => loadModel(file) },
    decode: { run: () => decodeModel(bytes, { baseDir }, file) },
  });

  // Save what a compile does save: a loaded model whose tensors are views on its file's bytes.
  const loaded = loadModel(file);
  const verifyChild = verifySaved(loaded, childOut, file);
  // Each write starts with no dirty pages left by the one before (whoever went first would pay their writeback).
  const saves = interleaved(reps, {
    rawWrite: { before: () => { rmSync(rawOut, { force: true }); syncDisks(); }, run: () => writeFileSync(rawOut, bytes) },
    save: { before: () => { rmSync(saveOut, { force: true }); syncDisks(); }, run: () => saveModel(loaded, saveOut) },
    encode: { run: () => encodeModel(loaded) },
  });
  const check = verifySaved(loaded, saveOut, file);
  collect();

  const m = (xs: number[]): number => median(xs);
  const loadRatio = m(loads.load) / m(loads.rawRead);
  const saveRatio = m(saves.save) / m(saves.rawWrite);
  const peak = peakKiB(loadSave) * 1024;
  const overBase = (r: ChildReport): string => fmtMB((peakKiB(r) - peakKiB(baseline)) * 1024);
  const rssLimit = TARGET.rssFactor * size + TARGET.rssSlackBytes;
  const pass = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
  const samples = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' ');

  console.log(`\nmedians of ${reps} after a warm-up round (interleaved, samples in ms, page cache warm, dirty pages synced before each write)\n`);
  console.log(table([
    ['measure', 'median', 'min', 'samples', 'ratio', 'target', ''],
    ['raw read (readFileSync)', fmtMs(m(loads.rawRead)), fmtMs(Math.min(...loads.rawRead)), samples(loads.rawRead), '', '', ''],
    ['loadModel (read + decode)', fmtMs(m(loads.load)), fmtMs(Math.min(...loads.load)), samples(loads.load), `${loadRatio.toFixed(2)}x (min ${(Math.min(...loads.load) / Math.min(...loads.rawRead)).toFixed(2)}x)`, `<= ${TARGET.loadRatio}x`, pass(loadRatio <= TARGET.loadRatio)],
    ['  decode only (info)', fmtMs(m(loads.decode)), fmtMs(Math.min(...loads.decode)), samples(loads.decode), '', '', ''],
    ['raw write (writeFileSync)', fmtMs(m(saves.rawWrite)), fmtMs(Math.min(...saves.rawWrite)), samples(saves.rawWrite), '', '', ''],
    ['saveModel', fmtMs(m(saves.save)), fmtMs(Math.min(...saves.save)), samples(saves.save), `${saveRatio.toFixed(2)}x (min ${(Math.min(...saves.save) / Math.min(...saves.rawWrite)).toFixed(2)}x)`, `<= ${TARGET.saveRatio}x`, pass(saveRatio <= TARGET.saveRatio)],
    ['  encodeModel in memory (info)', fmtMs(m(saves.encode)), fmtMs(Math.min(...saves.encode)), samples(saves.encode), '', '', ''],
  ]));
  const rssNote = loadSave.hwmKiB === undefined ? 'maxRSS' : 'VmHWM (this image\'s own peak); maxRSS as the OS reports it';
  console.log(`\npeak RSS of child processes: ${rssNote}; file ${fmtMB(size)}\n`);
  console.log(table([
    ['process', 'peak', 'maxRSS', '/ file', 'over baseline', 'target', ''],
    ...([['baseline (same imports)', baseline], ['load', loadOnly], ['load + save', loadSave]] as const).map(([name, r]) => [
      name, fmtMB(peakKiB(r) * 1024), fmtMB(r.maxRssKiB * 1024),
      r === baseline ? '' : `${(peakKiB(r) * 1024 / size).toFixed(2)}x`, r === baseline ? '' : overBase(r),
      r === loadSave ? `<= ${fmtMB(rssLimit)}` : '', r === loadSave ? pass(peak <= rssLimit) : '',
    ]),
  ]));
  console.log(`\nsaved file re-loads with the same bytes in all ${check.tensorsChecked} initializers` +
    ` (file byte-identical to the source: ${check.identicalFile ? 'yes' : 'no'}; child's save: ${verifyChild.identicalFile ? 'yes' : 'no'})`);

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    model: { kind: 'bert', ...shape, pooler: true, params, fileBytes: size, buildAndSaveMs: generated.ms },
    reps,
    samplesMs: { ...loads, ...saves },
    mediansMs: Object.fromEntries(Object.entries({ ...loads, ...saves }).map(([k, v]) => [k, m(v)])),
    ratios: {
      loadOverRawRead: loadRatio, saveOverRawWrite: saveRatio, peakRssOverFile: peak / size,
      loadOverRawReadMin: Math.min(...loads.load) / Math.min(...loads.rawRead), saveOverRawWriteMin: Math.min(...saves.save) / Math.min(...saves.rawWrite),
    },
    rss: { limitBytes: rssLimit, peakIs: loadSave.hwmKiB === undefined ? 'maxRSS' : 'VmHWM', baseline, load: loadOnly, loadSave },
    targets: TARGET,
    pass: { load: loadRatio <= TARGET.loadRatio, save: saveRatio <= TARGET.saveRatio, rss: peak <= rssLimit },
    verify: { ...check, childIdenticalFile: verifyChild.identicalFile },
  };
  writeFileSync(OUT_JSON, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(REPO_ROOT, OUT_JSON)}`);
  if (!process.argv.includes('--keep')) for (const f of [file, rawOut, saveOut, childOut]) rmSync(f, { force: true });
  if (!Object.values(result.pass).every(Boolean)) process.exitCode = 1;
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) child(process.argv[childAt + 1], process.argv[childAt + 2], process.argv[childAt + 3]);
else main();
