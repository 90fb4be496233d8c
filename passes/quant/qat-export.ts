// QAT export: the trained fake-quant model (qat-fake.ts) back into the QDQ form the static pass emits, so onnxruntime
// fuses it the same way (QLinearConv, QLinearMatMul, QGemm, ...):
//   weights  int8 per channel, scales max|W|/127 from the trained weights — the grid training saw, so the export
//            computes what the fake-quant graph computed;
//   biases   int32 with scale s_x·s_w[c] from the exported input and weight scales;
//   PACT     each activation scale becomes α/255 and the Clip(x, 0, α) goes: the uint8 quantizer with zero point 0
//            saturates to exactly [0, α] (what the static pass's remove-clip rule checks).
import type { Node } from '../../src/ir/model.js';
import type { Model } from '../../src/ir/model.js';
import { graphIndex } from '../../src/ir/analysis.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { roundHalfEven } from '../../src/quant/params.js';
import { quantizeWeight } from '../../src/quant/weights.js';
import type { FakeQuantModel } from './qat-fake.js';
import { GraphEdits } from './qat-graph.js';

const INT32_MIN = -2147483648, INT32_MAX = 2147483647;

/** `trained`: `fake.model` with the trained parameters written over its initializers (src/train exportTrained). */
export function exportQat(trained: Model, fake: FakeQuantModel): Model {
  const g = trained.graph;
  const index = graphIndex(g);
  const edits = new GraphEdits(trained, 'qat/');
  const tensor = (name: string): Tensor => {
    const t = edits.setInit.get(name) ?? g.initializers.get(name);
    if (!t) throw new Error(`qat export: no tensor '${name}'`);
    return t;
  };
  for (const node of g.nodes) {
    if (!fake.aux.has(node.name)) continue;
    edits.drop(node);
    // Weight quantizers hand over to the int8 codes, PACT clips to their input.
    if (node.opType === 'QuantizeLinear' && fake.weights.has(node.inputs[0])) edits.rename.set(node.outputs[0], fake.weights.get(node.inputs[0])!.codes);
    if (node.opType === 'Clip' && fake.alphas.has(node.inputs[2])) edits.rename.set(node.outputs[0], node.inputs[0]);
  }
  for (const [alpha, scale] of fake.alphas) {
    const a = g.initializers.get(alpha)!.toFloat32()[0];
    if (!(a > 0)) throw new Error(`qat export: PACT clip level '${alpha}' is ${a}; it must stay positive`);
    edits.setInit.set(scale, Tensor.scalar(DataType.FLOAT, Math.fround(a / 255)));
  }
  for (const [w, spec] of fake.weights) {
    const q = quantizeWeight(g.initializers.get(w)!, { dataType: DataType.INT8, symmetric: true, ...(spec.axis === undefined ? {} : { axis: spec.axis }) });
    edits.setInit.set(spec.codes, q.codes);
    edits.setInit.set(spec.scale, q.scale);
    edits.setInit.set(spec.zeroPoint, q.zeroPoint);
  }
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const scaleOf = (value: string): string => {
    const dq = index.producer.get(value);
    if (dq?.opType !== 'DequantizeLinear') throw new Error(`qat export: '${value}' is not dequantized`);
    return dq.inputs[1];
  };
  for (const [b, spec] of fake.biases) {
    const kernel = byName.get(spec.kernel)!;
    const sx = tensor(scaleOf(kernel.inputs[0])).toFloat32()[0];
    const sw = tensor(scaleOf(kernel.inputs[1])).toFloat32();
    const values = g.initializers.get(b)!.toFloat32();
    const scales = Float32Array.from({ length: spec.perChannel ? values.length : 1 }, (_, c) => Math.fround(sx * sw[spec.perChannel ? c : 0]));
    const codes = Int32Array.from(values, (v, c) => Math.min(INT32_MAX, Math.max(INT32_MIN, roundHalfEven(Math.fround(v / scales[spec.perChannel ? c : 0])))));
    edits.setInit.set(spec.codes, Tensor.fromArray(DataType.INT32, [values.length], codes));
    edits.setInit.set(spec.scale, spec.perChannel ? Tensor.fromArray(DataType.FLOAT, [scales.length], scales) : Tensor.scalar(DataType.FLOAT, scales[0]));
    const reader = (index.consumers.get(b) ?? [])[0] as Node;
    edits.rename.set(b, edits.insert(reader, 'DequantizeLinear', [spec.codes, spec.scale], spec.perChannel ? { axis: 0 } : {}));
  }
  for (const name of [...fake.weights.keys(), ...fake.biases.keys(), ...fake.alphas.keys()]) edits.deleteInit.add(name);
  return edits.apply();
}
