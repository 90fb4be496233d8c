// `onnx-slim bench A.onnx B.onnx`: what a compilation bought and what it cost. Size (external data included),
// onnxruntime-node latency of each (sessions opened from the files, warm-up, then timed runs interleaved so the
// two models share the machine's drifting noise), and B's outputs against A's on given or generated inputs.
import { statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { loadModel } from '../io/load.js';
import type { Model } from '../ir/model.js';
import { calibrationData, type Feed } from '../calib/data.js';
import { createSession, ort, toOrtTensor } from '../runtime/ort.js';
import { randomFeeds } from '../runtime/feeds.js';
import { ErrorAccumulator, type Fidelity, Top1Accumulator, inputMismatch, isFloatOrt, outputMismatch, looksLikeScores, numbersOf, toJson } from '../runtime/compare.js';
import { UsageError } from './errors.js';

export interface BenchOptions {
  /** Inputs in the calibration formats (test_data_set_* folders or .npy files); default: generated feeds. */
  readonly inputs?: string;
  /** At most this many feeds from `inputs`. */
  readonly batchNum?: number;
  /** Generated feeds (default 1), seeded `seed`, `seed + 1`, ... */
  readonly samples?: number;
  readonly seed?: number;
  /** Sizes of symbolic input dimensions for generated feeds (others are 1). */
  readonly dims?: Readonly<Record<string, number>>;
  /** Timed runs per model (default 20). */
  readonly runs?: number;
  /** Untimed runs per model first (default 3). */
  readonly warmup?: number;
  /** onnxruntime intra-op threads (default 2). */
  readonly threads?: number;
}

export interface LatencyStats {
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly minMs: number;
}

export interface ModelFigures {
  readonly file: string;
  /** The .onnx file plus the external data files its tensors read. */
  readonly bytes: number;
  readonly latency: LatencyStats;
}

export interface OutputFidelity extends Fidelity {
  readonly name: string;
  readonly type: string;
  /** Shape in the first feed. */
  readonly shape: readonly number[];
  /** Arg-max agreement over the last axis, for outputs that look like class scores (float, rank ≥ 2, last dim > 1). */
  readonly top1?: { readonly rows: number; readonly agreement: number };
}

export interface BenchReport {
  readonly a: ModelFigures;
  readonly b: ModelFigures;
  /** B / A. */
  readonly ratio: { readonly size: number; readonly latencyMedian: number; readonly latencyP90: number };
  readonly settings: {
    readonly runs: number; readonly warmup: number; readonly threads: number; readonly optimization: 'all';
    /** The --inputs folder, or 'generated'. */
    readonly feeds: string;
    readonly batches: number;
    readonly seed?: number;
    readonly dims?: Readonly<Record<string, number>>;
  };
  readonly outputs: readonly OutputFidelity[];
  /** Outputs that could not be compared (strings), with why. */
  readonly notCompared: readonly { readonly name: string; readonly reason: string }[];
}

/** A failure the command reports as one line (models that cannot be compared, bad inputs). */
export class BenchError extends Error {}

/** Bytes a model takes on disk: the file and every distinct external data file its initializers read from. */
export function modelBytes(file: string, model: Model): number {
  const data = new Set<string>();
  for (const t of model.graph.initializers.values()) if (t.storage.kind === 'external') data.add(t.storage.source.file);
  let bytes = statSync(file).size;
  for (const f of data) bytes += statSync(f).size;
  return bytes;
}

function openSession(file: string, threads: number): Promise<ort.InferenceSession> {
  // From the path: onnxruntime reads the file (and its external data) itself, no copy through JS. The two sessions
  // take turns, so idle workers must not spin: the one that just ran would slow the other down.
  return createSession(path.resolve(file), { optimization: 'all', threads, spinning: false });
}

function toOrtFeeds(feed: Feed): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(feed).map(([name, t]) => [name, toOrtTensor(t)]));
}

/** Nearest-rank percentile of sorted samples. */
const percentile = (sorted: readonly number[], p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];

function stats(samples: readonly number[]): LatencyStats {
  const s = [...samples].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return { medianMs: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, p90Ms: percentile(s, 0.9), minMs: s[0] };
}

/**
 * Milliseconds per run of each session: `warmup` untimed rounds, then `runs` rounds with both models once per
 * round, the order alternating (A B, B A, ...) so neither always runs right after the other.
 */
async function interleavedLatency(
  sessions: readonly [ort.InferenceSession, ort.InferenceSession], feeds: Record<string, ort.Tensor>, runs: number, warmup: number,
): Promise<[number[], number[]]> {
  for (let r = 0; r < warmup; r++) for (const s of sessions) await s.run(feeds);
  const samples: [number[], number[]] = [[], []];
  for (let r = 0; r < runs; r++) {
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      const t0 = performance.now();
      await sessions[i].run(feeds);
      samples[i].push(performance.now() - t0);
    }
  }
  return samples;
}

interface OutputState {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly number[];
  readonly error: ErrorAccumulator;
  top1?: Top1Accumulator;
}

const fmtDims = (d: readonly number[]): string => `[${d.join(',')}]`;

/** Size, latency and fidelity of B against A. */
export async function benchModels(fileA: string, fileB: string, options: BenchOptions = {}): Promise<BenchReport> {
  const runs = options.runs ?? 20, warmup = options.warmup ?? 3, threads = options.threads ?? 2;
  const [a, b] = [loadModel(fileA), loadModel(fileB)];
  const mismatch = inputMismatch(a, b, [fileA, fileB]) ?? outputMismatch(a, b, [fileA, fileB]);
  if (mismatch) throw new BenchError(mismatch);
  const seed = options.seed ?? 1;
  const feeds: AsyncIterable<Feed> | Iterable<Feed> = options.inputs !== undefined
    ? calibrationData(a, options.inputs, { batchNum: options.batchNum })
    : Array.from({ length: options.samples ?? 1 }, (_, k) => randomFeeds(a, { seed: seed + k, dims: options.dims }));

  const sa = await openSession(fileA, threads);
  const sessions = [sa, await openSession(fileB, threads).catch(async (e: unknown) => { await sa.release(); throw e; })] as const;
  try {
    const outputs = new Map<string, OutputState>();
    const notCompared = new Map<string, string>();
    let first: Record<string, ort.Tensor> | undefined;
    let batches = 0;
    for await (const feed of feeds) {
      const ortFeeds = toOrtFeeds(feed);
      first ??= ortFeeds;
      const [ra, rb] = [await sessions[0].run(ortFeeds), await sessions[1].run(ortFeeds)];
      for (const vi of a.graph.outputs) {
        const name = vi.name;
        if (notCompared.has(name)) continue;
        const [ta, tb] = [ra[name] as ort.Tensor, rb[name] as ort.Tensor];
        if (ta.type === 'string' || tb.type === 'string') { notCompared.set(name, 'string values'); continue; }
        if (ta.dims.join() !== tb.dims.join()) {
          throw new BenchError(`output '${name}' has shape ${fmtDims(ta.dims)} in ${fileA} but ${fmtDims(tb.dims)} in ${fileB} (batch ${batches})`);
        }
        let state = outputs.get(name);
        if (!state) {
          state = { name, type: ta.type, shape: [...ta.dims], error: new ErrorAccumulator() };
          if (isFloatOrt(ta) && looksLikeScores(ta.dims)) state.top1 = new Top1Accumulator(ta.dims[ta.dims.length - 1]);
          outputs.set(name, state);
        }
        const [xa, xb] = [numbersOf(ta), numbersOf(tb)];
        state.error.add(xa, xb);
        // A dynamic last axis changes what a row is: drop top-1 rather than mix row sizes.
        if (state.top1 && state.top1.lastDim !== ta.dims[ta.dims.length - 1]) state.top1 = undefined;
        state.top1?.add(xa, xb);
      }
      batches++;
    }
    if (!first) throw new BenchError(`${options.inputs} held no inputs`);

    const [la, lb] = await interleavedLatency(sessions, first, runs, warmup);
    const figures = (file: string, model: Model, samples: number[]): ModelFigures => ({ file, bytes: modelBytes(file, model), latency: stats(samples) });
    const [fa, fb] = [figures(fileA, a, la), figures(fileB, b, lb)];
    return {
      a: fa, b: fb,
      ratio: {
        size: fb.bytes / fa.bytes,
        latencyMedian: fb.latency.medianMs / fa.latency.medianMs,
        latencyP90: fb.latency.p90Ms / fa.latency.p90Ms,
      },
      settings: {
        runs, warmup, threads, optimization: 'all', feeds: options.inputs ?? 'generated', batches,
        ...(options.inputs === undefined ? { seed, dims: options.dims ?? {} } : {}),
      },
      outputs: [...outputs.values()].map((s) => ({
        name: s.name, type: s.type, shape: s.shape, ...s.error.result(), ...(s.top1 ? { top1: s.top1.result() } : {}),
      })),
      notCompared: [...notCompared].map(([name, reason]) => ({ name, reason })),
    };
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
}

// ---------------------------------------------------------------- formatting

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

const fmtMs = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 100 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`);

export const fmtDb = (db: number): string => (db === Infinity ? 'inf' : db === -Infinity ? '-inf' : db.toFixed(1));
export const fmtErr = (x: number): string => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));
export const fmtCos = (c: number): string => c.toFixed(6);

/** Left-aligned text columns. */
export function table(rows: readonly (readonly string[])[], rightAlign: ReadonlySet<number> = new Set()): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (rightAlign.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

export function formatBench(r: BenchReport): string {
  const s = r.settings;
  const lines = [`A  ${r.a.file}`, `B  ${r.b.file}`, ''];
  lines.push(table([
    ['', 'A', 'B', 'B/A'],
    ['size', fmtBytes(r.a.bytes), fmtBytes(r.b.bytes), r.ratio.size.toFixed(3)],
    ['latency median', fmtMs(r.a.latency.medianMs), fmtMs(r.b.latency.medianMs), r.ratio.latencyMedian.toFixed(3)],
    ['latency p90', fmtMs(r.a.latency.p90Ms), fmtMs(r.b.latency.p90Ms), r.ratio.latencyP90.toFixed(3)],
  ], new Set([1, 2, 3])));
  lines.push(`(onnxruntime-node, optimization 'all', ${s.threads} intra-op thread${s.threads === 1 ? '' : 's'}, ${s.warmup} warm-up + ${s.runs} timed runs each, interleaved, idle workers not spinning)`, '');
  const source = s.feeds === 'generated'
    ? `${s.batches} generated feed${s.batches === 1 ? '' : 's'} (seed ${s.seed}, ${Object.keys(s.dims ?? {}).length ? `${Object.entries(s.dims!).map(([k, v]) => `${k}=${v}`).join(' ')}, other ` : ''}symbolic dims 1)`
    : `${s.batches} feed${s.batches === 1 ? '' : 's'} from ${s.feeds}`;
  lines.push(`fidelity of B against A on ${source}`);
  lines.push(table([
    ['output', 'shape', 'cosine', 'max abs err', 'ref rms', 'SQNR dB', 'top-1'],
    ...r.outputs.map((o) => [o.name, fmtDims(o.shape), fmtCos(o.cosine), fmtErr(o.maxAbsError), fmtErr(o.refRms), fmtDb(o.sqnrDb),
      o.top1 ? `${(o.top1.agreement * 100).toFixed(1)}% of ${o.top1.rows}` : '-']),
  ], new Set([2, 3, 4, 5])));
  for (const n of r.notCompared) lines.push(`not compared: ${n.name} (${n.reason})`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- command line

/** A commander argument parser for integers ≥ `min`. */
export function intArg(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(min === 0 ? 'expected a non-negative integer' : min === 1 ? 'expected a positive integer' : `expected an integer ≥ ${min}`);
    }
    return n;
  };
}

/** Collects repeated `--dim name=value`. */
export function dimArg(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const m = /^([^=]+)=(\d+)$/.exec(value.trim());
  if (!m || Number(m[2]) < 1) throw new InvalidArgumentError('expected name=size with a positive size, e.g. --dim batch=4');
  return { ...previous, [m[1]]: Number(m[2]) };
}

export interface BenchFlags {
  inputs?: string;
  batchNum?: number;
  samples?: number;
  seed?: number;
  dim?: Record<string, number>;
  runs?: number;
  warmup?: number;
  threads?: number;
  json?: boolean;
}

export async function runBench(fileA: string, fileB: string, flags: BenchFlags): Promise<void> {
  if (flags.inputs !== undefined && (flags.dim || flags.samples !== undefined || flags.seed !== undefined)) {
    throw new UsageError('--dim, --samples and --seed shape generated feeds; they do not apply with --inputs');
  }
  if (flags.inputs === undefined && flags.batchNum !== undefined) throw new UsageError('--batch-num limits --inputs; give --samples for generated feeds');
  const report = await benchModels(fileA, fileB, {
    inputs: flags.inputs, batchNum: flags.batchNum, samples: flags.samples, seed: flags.seed, dims: flags.dim,
    runs: flags.runs, warmup: flags.warmup, threads: flags.threads,
  });
  process.stdout.write((flags.json ? toJson(report) : formatBench(report)) + '\n');
}
