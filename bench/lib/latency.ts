// Inference latency in onnxruntime-node: sessions opened from files (no copy of the model through JS), models
// timed round-robin so they share the machine's drifting noise, the op histogram of what onnxruntime optimized,
// and the error measures the quantization bench reports.
import * as ort from 'onnxruntime-node';
import { loadModel } from '../../src/io/load.js';
import { collect } from './measure.js';
import { createSession, type SessionOptions } from '../../src/runtime/ort.js';

export type BenchSessionOptions = SessionOptions;

/**
 * What users get: all optimizations, 2 threads by default, the model read from its file. Idle workers do not spin:
 * the models are timed in turns, and a session's spinning workers take the cores from the next one (BERT-base,
 * int8 / fp32 interleaved: 0.45 with spinning, 0.31 without; each session timed alone: 0.30-0.31 either way).
 */
export function openSession(file: string, options: BenchSessionOptions = {}): Promise<ort.InferenceSession> {
  return createSession(file, { optimization: options.optimization ?? 'all', threads: options.threads ?? 2, optimizedModelFilePath: options.optimizedModelFilePath, spinning: options.spinning ?? false });
}

export type Feeds = Record<string, ort.Tensor>;

export interface LatencyOptions {
  /** Timed runs per model. */
  readonly runs: number;
  /** Untimed runs per model first (allocator arenas, prepacked weights, caches). */
  readonly warmup: number;
  /** Called after each round (progress). */
  readonly onRound?: (round: number) => void;
}

/**
 * Milliseconds of `session.run(feeds)` per model: `warmup` untimed rounds, then `runs` rounds in which every
 * model runs once, the order rotating each round (model i first in round i), a full GC before each sample.
 */
export async function interleavedLatency(
  sessions: Readonly<Record<string, ort.InferenceSession>>, feeds: Feeds, options: LatencyOptions,
): Promise<Record<string, number[]>> {
  const names = Object.keys(sessions);
  for (let r = 0; r < options.warmup; r++) for (const n of names) await sessions[n].run(feeds);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < options.runs; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      collect();
      const t0 = performance.now();
      await sessions[name].run(feeds);
      samples[name].push(performance.now() - t0);
    }
    options.onRound?.(r);
  }
  return samples;
}

/** Node count per op type (`domain.Op` outside the default domain) of a model file, most frequent first. */
export function opHistogram(file: string): Array<[string, number]> {
  const model = loadModel(file);
  const counts = new Map<string, number>();
  for (const n of model.graph.nodes) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export interface ErrorFigures {
  /** Cosine similarity of the flattened outputs. */
  readonly cosine: number;
  readonly maxAbs: number;
  /** Root mean square of the reference, to read maxAbs against. */
  readonly refRms: number;
}

export function compareOutputs(ref: ArrayLike<number>, got: ArrayLike<number>): ErrorFigures {
  if (ref.length !== got.length) throw new Error(`outputs differ in size: ${ref.length} vs ${got.length}`);
  let dot = 0, rr = 0, gg = 0, maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = ref[i], b = got[i];
    dot += a * b;
    rr += a * a;
    gg += b * b;
    const d = Math.abs(a - b);
    if (!(d <= maxAbs)) maxAbs = d; // NaN propagates
  }
  return { cosine: dot / Math.sqrt(rr * gg), maxAbs, refRms: Math.sqrt(rr / Math.max(1, ref.length)) };
}

export { ort };
