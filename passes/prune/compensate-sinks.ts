// Where removed channels are read: the consumers ("sinks") whose weight contracts an input-channel axis of a pruned
// space — MatMul (weight rows), Gemm (B's contracted axis) and plain Conv (weight axis 1). Each removed channel c
// fed its sink a value whose mean over the calibration data stands in for it once c is gone.
import { attrFloat, attrInt, type Graph, type Node } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import type { DependencyAnalysis } from './analysis.js';
import type { AxisLayout } from './layout.js';
import { keptIndices, type UnitChoice } from './transform.js';

export interface Sink {
  readonly node: Node;
  /** The activation the sink reads the channels from, and its channel axis (-1: the last). */
  readonly value: string;
  readonly axis: number;
  readonly weight: string;
  /** The weight axis contracted against the channels. */
  readonly weightAxis: number;
  /** Channel indices (of the unpruned input) that go, and those that stay in their new order. */
  readonly removed: readonly number[];
  readonly kept: readonly number[];
  /** Output channels kept, in their new order (all of them when the sink's own outputs are not pruned). */
  readonly keptOutputs: readonly number[];
}

/** The input-channel and output-channel weight axes of a supported sink, and the activation's channel axis. */
function sinkAxes(node: Node, graph: Graph): { inAxis: number; outAxis: number; valueAxis: number } | undefined {
  const w = graph.initializers.get(node.inputs[1]);
  if (!w || w.dataType !== DataType.FLOAT) return undefined;
  switch (node.opType) {
    case 'MatMul': return w.dims.length === 2 ? { inAxis: 0, outAxis: 1, valueAxis: -1 } : undefined;
    case 'Gemm': {
      if (attrFloat(node, 'beta', 1) === 0) return undefined; // C is ignored: nowhere to fold a bias
      const transB = attrInt(node, 'transB', 0) === 1;
      return { inAxis: transB ? 1 : 0, outAxis: transB ? 0 : 1, valueAxis: attrInt(node, 'transA', 0) === 1 ? 0 : 1 };
    }
    case 'Conv': return attrInt(node, 'group', 1) === 1 ? { inAxis: 1, outAxis: 0, valueAxis: 1 } : undefined;
    default: return undefined;
  }
}

/** Every sink that loses channels under `choice`, one per node. */
export function compensationSinks(graph: Graph, analysis: DependencyAnalysis, choice: UnitChoice): Sink[] {
  const sinks: Sink[] = [];
  const seen = new Set<Node>();
  for (const s of analysis.slices) {
    if (seen.has(s.reader) || s.tensor !== s.reader.inputs[1]) continue;
    const axes = sinkAxes(s.reader, graph);
    if (!axes || s.axis !== axes.inAxis) continue;
    seen.add(s.reader);
    const keptOrder = keptIndices(analysis, choice, s.layout);
    const kept = new Set(keptOrder);
    const n = graph.initializers.get(s.tensor)!.dims[s.axis];
    const removed = Array.from({ length: n }, (_, i) => i).filter((i) => !kept.has(i));
    if (removed.length === 0) continue;
    const out = analysis.slices.find((o) => o.reader === s.reader && o.tensor === s.tensor && o.axis === axes.outAxis);
    const outputs = graph.initializers.get(s.tensor)!.dims[axes.outAxis];
    const all: AxisLayout = [{ length: outputs }];
    sinks.push({
      node: s.reader, value: s.reader.inputs[0], axis: axes.valueAxis, weight: s.tensor, weightAxis: axes.inAxis, removed, kept: keptOrder,
      keptOutputs: keptIndices(analysis, choice, out?.layout ?? all),
    });
  }
  return sinks;
}

/**
 * What the removed channels contributed to each output channel (before slicing the outputs): Σ_c mean_c · W[c, o],
 * summed over a Conv kernel's taps too (exact where the kernel sees no padding). Gemm's alpha/beta are folded in.
 */
export function biasShift(graph: Graph, sink: Sink, means: Float64Array): Float64Array {
  const w = graph.initializers.get(sink.weight)!;
  const data = w.toFloat32();
  const d1 = w.dims[1];
  const taps = w.dims.slice(2).reduce((a, b) => a * b, 1);
  const outputs = w.dims[sink.weightAxis === 0 ? 1 : 0];
  const shift = new Float64Array(outputs);
  for (const c of sink.removed) {
    const m = means[c];
    if (m === 0) continue;
    for (let o = 0; o < outputs; o++) {
      // Row-major offset of W[c, o] (or W[o, c, taps…]) for the sink's layout.
      const [i0, i1] = sink.weightAxis === 0 ? [c, o] : [o, c];
      const base = (i0 * d1 + i1) * taps;
      let sum = 0;
      for (let k = 0; k < taps; k++) sum += data[base + k];
      shift[o] += m * sum;
    }
  }
  if (sink.node.opType === 'Gemm') {
    const scale = attrFloat(sink.node, 'alpha', 1) / attrFloat(sink.node, 'beta', 1);
    for (let o = 0; o < outputs; o++) shift[o] *= scale;
  }
  return shift;
}
