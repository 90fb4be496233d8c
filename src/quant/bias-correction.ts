// Bias correction (Nagel et al., "Data-Free Quantization", §4.2, empirical form): quantization shifts the mean of
// a layer's output; measure that shift per output channel on calibration data, fp32 against quantized, and fold
// it into the layer's int32 bias. One pass over the data corrects every layer at once.
import type { Model, Node } from '../ir/model.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { graphIndex } from '../ir/analysis.js';
import { editGraph } from '../rewrite/edit.js';
import { castDraft, produce } from 'immer';
import { type Feed, feedsFrom, limitBatches, type CalibrationData } from '../calib/data.js';
import { withObservedOutputs } from '../calib/collect.js';
import { createSession, ort, toOrtTensor } from '../runtime/ort.js';
import { roundHalfEven } from './params.js';

interface Target {
  readonly value: string;
  /** Output channel axis: 1 for Conv (NCHW), the last for Gemm / MatMul + Add. */
  readonly convLike: boolean;
  readonly codes: string;
  readonly scale: string;
}

/** Kernels whose bias is DequantizeLinear(int32 initializer): Conv/Gemm input C, or an Add after MatMul. */
function targets(model: Model): Target[] {
  const g = model.graph;
  const { producer } = graphIndex(g);
  const int32Bias = (name: string): { codes: string; scale: string } | undefined => {
    const dq = producer.get(name);
    if (dq?.opType !== 'DequantizeLinear' || g.initializers.get(dq.inputs[0])?.dataType !== DataType.INT32) return undefined;
    return g.initializers.has(dq.inputs[1]) ? { codes: dq.inputs[0], scale: dq.inputs[1] } : undefined;
  };
  const out: Target[] = [];
  const add = (node: Node, biasInput: string, convLike: boolean): void => {
    const bias = int32Bias(biasInput);
    if (bias) out.push({ value: node.outputs[0], convLike, ...bias });
  };
  for (const node of g.nodes) {
    if (node.domain !== '') continue;
    if ((node.opType === 'Conv' || node.opType === 'Gemm') && node.inputs[2]) add(node, node.inputs[2], node.opType === 'Conv');
    if (node.opType === 'Add') for (const i of node.inputs) add(node, i, false);
  }
  return out;
}

/** Corrects the int32 biases of `quant` so each layer's mean output matches `fp32`'s over `feeds`. */
export async function correctBiases(fp32: Model, quant: Model, feeds: CalibrationData | Iterable<Feed> | AsyncIterable<Feed>, batchNum?: number): Promise<{ model: Model; corrected: number }> {
  const fpProducers = graphIndex(fp32.graph).producer;
  const list = targets(quant).filter((t) => fpProducers.has(t.value));
  if (list.length === 0) return { model: quant, corrected: 0 };
  const names = list.map((t) => t.value);
  const [a, b] = await Promise.all([createSession(withObservedOutputs(fp32, names)), createSession(withObservedOutputs(quant, names))]);
  const sums = new Map<string, Float64Array>();
  const counts = new Map<string, number>();
  try {
    for await (const feed of limitBatches(feedsFrom(fp32, feeds), batchNum)) {
      const ortFeed: Record<string, ort.Tensor> = {};
      for (const [k, t] of Object.entries(feed)) ortFeed[k] = toOrtTensor(t);
      const [ra, rb] = await Promise.all([a.run(ortFeed, names), b.run(ortFeed, names)]);
      for (const t of list) {
        const x = ra[t.value] as ort.Tensor, y = rb[t.value] as ort.Tensor;
        const dims = x.dims;
        const axis = t.convLike ? 1 : dims.length - 1;
        const channels = dims[axis];
        const inner = dims.slice(axis + 1).reduce((p, q) => p * q, 1);
        const xs = x.data as Float32Array, ys = y.data as Float32Array;
        let sum = sums.get(t.value);
        if (!sum) sums.set(t.value, (sum = new Float64Array(channels)));
        for (let i = 0; i < xs.length; i++) sum[Math.floor(i / inner) % channels] += xs[i] - ys[i];
        counts.set(t.value, (counts.get(t.value) ?? 0) + xs.length / channels);
      }
    }
  } finally {
    await Promise.all([a.release(), b.release()]);
  }
  const replaced = new Map<string, Tensor>();
  for (const t of list) {
    const sum = sums.get(t.value);
    const codes = quant.graph.initializers.get(t.codes)!;
    if (!sum || sum.length !== codes.size) continue;
    const scales = quant.graph.initializers.get(t.scale)!.toFloat32();
    const next = Int32Array.from(codes.toArray() as Int32Array);
    const n = counts.get(t.value)!;
    for (let c = 0; c < next.length; c++) next[c] += roundHalfEven(sum[c] / n / scales[scales.length === 1 ? 0 : c]);
    replaced.set(t.codes, Tensor.fromArray(DataType.INT32, codes.dims, next));
  }
  const graph = editGraph(quant.graph, { addInitializers: replaced });
  return { model: graph === quant.graph ? quant : produce(quant, (d) => { d.graph = castDraft(graph); }), corrected: replaced.size };
}
