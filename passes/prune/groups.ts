// Channel groups for structured pruning, found over the frozen graph: the tensors whose channel dimension must
// shrink together when a producer's output channels go. Two families, both a producer → an elementwise region
// with no other reader → one consumer:
//   mlp:  MatMul(x, W1[K,H]) / Gemm (transB aware) → Add(bias[H])? → activations → MatMul(·, W2[H,N]) / Gemm
//   conv: Conv(x, W[M,C,..], B[M]) group 1 → BatchNormalization? → Relu/Clip/HardSwish-like → Conv(·, W2[·,M,..]) group 1
// Anything else near a candidate (other readers, shared weights, depthwise convs, residual Adds, Concat, Reshape)
// leaves the candidate alone with a reason.
import type { Graph, Node } from '../../src/ir/model.js';
import { attrInt } from '../../src/ir/model.js';
import { constantOf, graphIndex } from '../../src/ir/analysis.js';
import type { Tensor } from '../../src/ir/tensor.js';

/** One initializer of a group and the axis that holds the group's channels. */
export interface ChannelSlice {
  readonly name: string;
  readonly tensor: Tensor;
  readonly axis: number;
}

export interface ChannelGroup {
  readonly kind: 'mlp' | 'conv';
  /** The producer node (what reports and `skip` name). */
  readonly producer: Node;
  readonly consumer: Node;
  readonly channels: number;
  readonly slices: readonly ChannelSlice[];
  /** Intermediate values whose channel dimension shrinks (their value_info goes stale). */
  readonly values: readonly string[];
}

export interface Rejection {
  readonly node: string;
  readonly reason: string;
}

export interface GroupAnalysis {
  readonly groups: readonly ChannelGroup[];
  readonly rejected: readonly Rejection[];
}

type Check<T> = { ok: true; value: T } | { ok: false; reason: string };
const fail = <T>(reason: string): Check<T> => ({ ok: false, reason });

/** Unary elementwise ops that keep every channel independent. */
const UNARY = new Set(['Relu', 'Tanh', 'Sigmoid', 'Erf', 'Gelu', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Elu', 'Selu',
  'Softplus', 'Softsign', 'Neg', 'Abs', 'Exp', 'Identity', 'Sqrt', 'Reciprocal', 'Mish', 'Celu', 'ThresholdedRelu']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);

const cache = new WeakMap<Graph, GroupAnalysis>();

export function findChannelGroups(graph: Graph, irVersion: number | bigint): GroupAnalysis {
  const hit = cache.get(graph);
  if (hit) return hit;
  const groups: ChannelGroup[] = [];
  const rejected: Rejection[] = [];
  for (const node of graph.nodes) {
    if (node.domain !== '' || !['MatMul', 'Gemm', 'Conv'].includes(node.opType)) continue;
    const r = analyzeProducer(graph, irVersion, node);
    if (r === undefined) continue;
    if (r.ok) groups.push(r.value);
    else rejected.push({ node: node.name || node.outputs[0], reason: r.reason });
  }
  // A tensor in two groups would be sliced twice: keep the first group only.
  const claimed = new Set<string>();
  const kept = groups.filter((g) => {
    if (g.slices.some((s) => claimed.has(s.name))) {
      rejected.push({ node: g.producer.name, reason: 'shares a tensor with another group' });
      return false;
    }
    for (const s of g.slices) claimed.add(s.name);
    return true;
  });
  const out = { groups: kept, rejected };
  cache.set(graph, out);
  return out;
}

/** undefined: not a candidate at all (e.g. MatMul of two activations); a rejection: a candidate left alone. */
function analyzeProducer(graph: Graph, irVersion: number | bigint, node: Node): Check<ChannelGroup> | undefined {
  const index = graphIndex(graph);
  const init = (name: string | undefined): Tensor | undefined =>
    name && !index.graphInputs.has(name) ? graph.initializers.get(name) : undefined;
  const onlyReaders = (name: string, allowed: ReadonlySet<Node>): boolean => (index.consumers.get(name) ?? []).every((n) => allowed.has(n));
  const slices: ChannelSlice[] = [];
  let channels: number;
  let fromEnd: number; // channel axis of activations, counted from the last axis
  const kind = node.opType === 'Conv' ? 'conv' : 'mlp';
  const wName = node.inputs[1];
  const w = init(wName);
  if (!w) {
    // MatMul of two activations (attention scores) is no candidate; a constant weight outside the initializers is.
    if (node.opType !== 'Conv' && constantOf(graph, wName, irVersion) === undefined) return undefined;
    return fail('weight is not an initializer (run cleanup first)');
  }
  if (node.opType === 'Conv') {
    if (attrInt(node, 'group', 1) !== 1) return fail('grouped or depthwise conv (in = out channels) is not handled yet');
    channels = w.dims[0];
    fromEnd = w.dims.length - 2;
    slices.push({ name: wName, tensor: w, axis: 0 });
    const b = node.inputs[2];
    if (b) {
      const bt = init(b);
      if (!bt || bt.dims.length !== 1) return fail('conv bias is not a 1-D initializer');
      slices.push({ name: b, tensor: bt, axis: 0 });
    }
  } else {
    if (w.dims.length !== 2) return fail(`weight of rank ${w.dims.length} (not 2)`);
    const transB = node.opType === 'Gemm' && attrInt(node, 'transB', 0) === 1;
    const axis = transB ? 0 : 1;
    channels = w.dims[axis];
    fromEnd = 0;
    slices.push({ name: wName, tensor: w, axis });
    const c = node.opType === 'Gemm' ? node.inputs[2] : undefined;
    if (c) {
      const ct = init(c);
      if (!ct) return fail('Gemm C is not an initializer');
      if (ct.size !== 1) {
        const s = perChannel(ct, channels, 0);
        if (s === undefined) return fail(`Gemm C of shape [${ct.dims}] does not broadcast per channel`);
        slices.push({ name: c, tensor: ct, axis: s });
      }
    }
  }
  if (channels <= 1) return fail('one channel');

  // The region: elementwise nodes downstream of the producer whose other inputs are scalars, per-channel constants
  // or region values. Graph order is topological, so a node's inputs are classified before it is.
  const region = new Set<string>([node.outputs[0]]);
  const regionNodes = new Set<Node>([node]);
  const start = index.position.get(node)!;
  let consumer: Node | undefined;
  for (let i = start + 1; i < graph.nodes.length; i++) {
    const n = graph.nodes[i];
    const reads = n.inputs.map((x) => region.has(x));
    if (!reads.some(Boolean)) continue;
    if (isConsumer(n, kind, init, channels, region)) {
      if (consumer) return fail(`'${consumer.name}' and '${n.name}' both read the channels`);
      consumer = n;
      continue;
    }
    const bn = n.opType === 'BatchNormalization' && n.domain === '' && kind === 'conv' && n.outputs.filter(Boolean).length === 1 && reads[0];
    if (bn) {
      for (const p of n.inputs.slice(1)) {
        const t = init(p);
        if (!t || t.dims.length !== 1 || t.dims[0] !== channels) return fail(`BatchNormalization '${n.name}' has a parameter that is not a [${channels}] initializer`);
        slices.push({ name: p, tensor: t, axis: 0 });
      }
    } else if (n.domain === '' && (UNARY.has(n.opType) || BINARY.has(n.opType) || n.opType === 'Clip')) {
      const extra = n.opType === 'Clip' ? n.inputs.slice(1) : n.opType === 'Pow' ? n.inputs.slice(1) : [];
      for (let k = 0; k < n.inputs.length; k++) {
        const x = n.inputs[k];
        if (x === '' || region.has(x)) continue;
        const t = constantOf(graph, x, irVersion);
        if (t && t.size === 1 && t.dims.length <= 1) continue;
        if (extra.includes(x)) return fail(`'${n.name}' reads a non-scalar ${n.opType} parameter`);
        const it = init(x);
        const axis = it && perChannel(it, channels, fromEnd);
        if (it && axis !== undefined) { slices.push({ name: x, tensor: it, axis }); continue; }
        return fail(`'${n.name}' (${n.opType}) mixes the channels with '${x}' (a residual or unrelated value)`);
      }
      if (n.opType === 'Pow' && !region.has(n.inputs[0])) return fail(`'${n.name}' raises a constant to a channel power`);
    } else {
      return fail(`'${n.name}' (${n.opType}) reads the channels; it is not understood`);
    }
    regionNodes.add(n);
    for (const o of n.outputs) if (o) region.add(o);
  }
  if (!consumer) return fail('no single consumer reads the channels');
  for (const v of region) {
    if (index.graphOutputs.has(v)) return fail(`'${v}' is a graph output`);
    if (!onlyReaders(v, new Set([...regionNodes, consumer]))) return fail(`'${v}' has readers outside the group`);
  }
  const cw = consumer.inputs[1];
  const cwt = init(cw)!;
  const cAxis = kind === 'conv' ? 1 : consumer.opType === 'Gemm' && attrInt(consumer, 'transB', 0) === 1 ? 1 : 0;
  slices.push({ name: cw, tensor: cwt, axis: cAxis });
  const allowed = new Set([...regionNodes, consumer]);
  const seen = new Set<string>();
  for (const s of slices) {
    if (seen.has(s.name)) return fail(`'${s.name}' appears twice in the group`);
    seen.add(s.name);
    if (!onlyReaders(s.name, allowed)) return fail(`'${s.name}' is shared with nodes outside the group`);
  }
  return { ok: true, value: { kind, producer: node, consumer, channels, slices, values: [...region] } };
}

function isConsumer(n: Node, kind: 'mlp' | 'conv', init: (name: string) => Tensor | undefined, channels: number, region: ReadonlySet<string>): boolean {
  if (n.domain !== '' || !region.has(n.inputs[0]) || region.has(n.inputs[1])) return false;
  const w = init(n.inputs[1]);
  if (!w) return false;
  if (kind === 'conv') return n.opType === 'Conv' && attrInt(n, 'group', 1) === 1 && w.dims.length >= 3 && w.dims[1] === channels;
  if (n.opType === 'MatMul') return w.dims.length === 2 && w.dims[0] === channels;
  if (n.opType === 'Gemm') {
    if (attrInt(n, 'transA', 0) !== 0) return false;
    return w.dims.length === 2 && w.dims[attrInt(n, 'transB', 0) === 1 ? 1 : 0] === channels;
  }
  return false;
}

/** The axis of `t` that holds per-channel values when it broadcasts against activations whose channel axis is
 *  `fromEnd` from the last; undefined when it is not [.., channels, 1 × fromEnd] with ones elsewhere. */
function perChannel(t: Tensor, channels: number, fromEnd: number): number | undefined {
  const axis = t.dims.length - 1 - fromEnd;
  if (axis < 0 || t.dims[axis] !== channels) return undefined;
  return t.dims.every((d, i) => i === axis || d === 1) ? axis : undefined;
}
