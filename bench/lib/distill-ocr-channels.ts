// Pruned feature maps distilled channel by channel (FitNets without an adapter): a channel-pruned student keeps a
// subset of each teacher feature map's channels, so each kept channel can learn what the teacher's same channel
// computes, by MSE, right where pruning cut. Which teacher channel a student channel is, is read from activations,
// not from the prune pass's bookkeeping: the pass keeps channels in their order, so the student's channels are an
// increasing subsequence of the teacher's, the one whose activations correlate best in sum over a few lines (an
// alignment by dynamic programming; least-squares refits move the channels too far for a per-channel argmax). A map
// whose aligned channels correlate below MIN_CORRELATION on average is left out.
import { castDraft, produce } from 'immer';
import '../../src/rewrite/immer-setup.js';
import { DataType, Tensor, type Model } from '../../src/index.js';
import { makeNode } from '../../src/ir/builder.js';
import { streamValues } from '../../src/calib/collect.js';
import type { DistillPair } from '../../passes/distill/pairs.js';

const MIN_CORRELATION = 0.8;

export interface ChannelView {
  /** The feature map (same name in student and teacher). */
  readonly value: string;
  /** For each student channel, the teacher channel it continues. */
  readonly channels: readonly number[];
  /** Mean correlation of the aligned channels over the probe lines. */
  readonly correlation: number;
  /** Variance of the teacher's kept channels over the probe lines. */
  readonly variance: number;
}

/** The teacher value that holds only the channels a view keeps (added by `withChannelViews`). */
export const keptName = (value: string): string => `${value}::kept`;

/**
 * Views of the 4-D feature maps a Conv reads in the student that have fewer channels than the teacher's, matched on
 * `feeds` (batch 1, natural widths).
 */
export async function matchPrunedChannels(student: Model, teacher: Model, feeds: ReadonlyArray<Record<string, Tensor>>, threads = 2): Promise<ChannelView[]> {
  const read = [...new Set(student.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => n.inputs[0]))];
  const candidates = read.filter((v) => !student.graph.inputs.some((i) => i.name === v));
  const [s, t] = await Promise.all([channelSamples(student, candidates, feeds, threads), channelSamples(teacher, candidates, feeds, threads)]);
  const views: ChannelView[] = [];
  for (const value of candidates) {
    const a = s.get(value)!, b = t.get(value)!;
    if (a.length >= b.length) continue;
    const { channels, correlation } = alignChannels(a, b);
    if (correlation < MIN_CORRELATION) continue;
    views.push({ value, channels, correlation, variance: variance(channels.map((c) => b[c])) });
  }
  return views;
}

/** The teacher with one Gather per view, exposing `keptName(value)`: its value restricted to the kept channels. */
export function withChannelViews(teacher: Model, views: readonly ChannelView[]): Model {
  return produce(teacher, (d) => {
    for (const v of views) {
      const indices = `${v.value}::kept_indices`;
      d.graph.initializers.set(indices, castDraft(Tensor.fromArray(DataType.INT64, [v.channels.length], BigInt64Array.from(v.channels, BigInt))));
      d.graph.nodes.push(castDraft(makeNode('Gather', [v.value, indices], [keptName(v.value)], { axis: 1 }, { name: `${v.value}::keep` })));
    }
  });
}

/** MSE pairs student value ↔ teacher kept channels, weighted `weight / (count · variance)`. */
export function channelPairs(views: readonly ChannelView[], weight: number): DistillPair[] {
  return views.map((v) => ({ student: v.value, teacher: keptName(v.value), loss: 'mse', weight: weight / (views.length * v.variance) }));
}

/** Per value, per channel: every activation of that channel over the feeds, concatenated. */
async function channelSamples(model: Model, values: readonly string[], feeds: ReadonlyArray<Record<string, Tensor>>, threads: number): Promise<Map<string, Float32Array[]>> {
  const parts = new Map<string, Float32Array[][]>(values.map((v) => [v, []]));
  const sinks = new Map(values.map((v) => [v, { observe: (data: Float32Array, dims: readonly number[]) => parts.get(v)!.push(splitChannels(data, dims)) }]));
  await streamValues(model, sinks, feeds, { onProgress: false, session: { threads } });
  return new Map([...parts].map(([v, perFeed]) => [v, perFeed[0].map((_, ch) => concat(perFeed.map((f) => f[ch])))]));
}

/** A [N, C, ...] value's channels, each as one array of its N · plane elements. */
function splitChannels(data: Float32Array, dims: readonly number[]): Float32Array[] {
  const [n, c] = dims, plane = data.length / (n * c);
  return Array.from({ length: c }, (_, ch) => {
    const row = new Float32Array(n * plane);
    for (let i = 0; i < n; i++) row.set(data.subarray((i * c + ch) * plane, (i * c + ch + 1) * plane), i * plane);
    return row;
  });
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** The increasing map student channel → teacher channel with the largest summed correlation, and its mean. */
function alignChannels(student: readonly Float32Array[], teacher: readonly Float32Array[]): { channels: number[]; correlation: number } {
  const m = student.length, n = teacher.length;
  const corr = student.map((x) => teacher.map((y) => pearson(x, y)));
  // best[i][j]: the first i student channels aligned within the first j teacher channels.
  const best = Array.from({ length: m + 1 }, (_, i) => new Float64Array(n + 1).fill(i === 0 ? 0 : -Infinity));
  for (let i = 1; i <= m; i++) {
    for (let j = i; j <= n; j++) best[i][j] = Math.max(best[i][j - 1], best[i - 1][j - 1] + corr[i - 1][j - 1]);
  }
  const channels = new Array<number>(m);
  for (let i = m, j = n; i > 0; j--) {
    if (best[i][j] !== best[i][j - 1]) channels[--i] = j - 1;
  }
  return { channels, correlation: best[m][n] / m };
}

function pearson(x: Float32Array, y: Float32Array): number {
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { const a = x[i] - mx, b = y[i] - my; sxy += a * b; sxx += a * a; syy += b * b; }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

function variance(channels: readonly Float32Array[]): number {
  let n = 0, sum = 0, squares = 0;
  for (const c of channels) for (const x of c) { n++; sum += x; squares += x * x; }
  return squares / n - (sum / n) ** 2;
}
