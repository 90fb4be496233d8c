// What the static-quantization rules are given (the pass's analysis and calibration, as closure data), and the
// Q → DQ pair they all build. Not a rule.
import type { RewriteBuilder } from '../../../src/rewrite/rule.js';
import type { Node } from '../../../src/ir/model.js';
import type { ActivationParams, KernelPlacement } from '../../../src/quant/placement.js';
import { DataType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { quantize } from '../../../src/quant/math.js';
import { type QuantizedWeight, quantizeWeight } from '../../../src/quant/weights.js';

/** One activation quantizer: its parameters and the initializers that hold them (shared by all its Q/DQ nodes). */
export interface Quantizer {
  readonly params: ActivationParams;
  readonly scaleName: string;
  readonly zeroPointName: string;
  readonly scale: Tensor;
  readonly zeroPoint: Tensor;
}

export interface StaticQuantData {
  /** Quantizer of every activation value the placement quantizes. */
  readonly quantizers: ReadonlyMap<string, Quantizer>;
  /** Values quantized where they are made (every reader gets the dequantized value). */
  readonly atProducer: ReadonlySet<string>;
  /** Kernel inputs quantized in front of the kernel only. */
  readonly atConsumer: ReadonlySet<string>;
  /** Kernels by their node's first output (stable while weights, biases and inputs are rewritten). */
  readonly kernels: ReadonlyMap<string, KernelPlacement>;
  /** Kernels whose bias is an Add after the MatMul, by the MatMul output the Add reads. */
  readonly biasAdds: ReadonlyMap<string, KernelPlacement>;
}

/** The initializers of a quantizer, for a replacement (the same tensor objects every time: re-adding is a no-op). */
export function quantizerInitializers(q: Quantizer): Map<string, Tensor> {
  return new Map([[q.scaleName, q.scale], [q.zeroPointName, q.zeroPoint]]);
}

/** QuantizeLinear(value) → DequantizeLinear, the DQ writing `output` (or a fresh name). */
export function qdq(b: RewriteBuilder, value: string, q: Quantizer, output?: string): { nodes: Node[]; output: string } {
  const hint = output ?? value;
  const quant = b.node('QuantizeLinear', [value, q.scaleName, q.zeroPointName], {}, { name: `${hint}_QuantizeLinear` });
  const dequant = b.node('DequantizeLinear', [quant.outputs[0], q.scaleName, q.zeroPointName], {},
    { name: `${hint}_DequantizeLinear`, ...(output ? { outputs: [output] } : {}) });
  return { nodes: [quant.node, dequant.node], output: dequant.outputs[0] };
}

/** `node` with input `i` read from `value` instead (same name, attributes and outputs). */
export function withInput(node: Node, i: number, value: string): Node {
  return { ...node, inputs: node.inputs.map((x, k) => (k === i ? value : x)) };
}

/**
 * Largest int32 bias code allowed: the integer kernels add the bias to int32 accumulators that also hold up to
 * K·255·127, so the bias keeps 5 bits of headroom.
 */
const BIAS_CODE_LIMIT = 2 ** 26;

const adjusted = new WeakMap<Tensor, Map<string, QuantizedWeight>>();

/**
 * A kernel's int8 weight: symmetric per channel (or per tensor), with each scale raised where needed so that the
 * bias, whose scale is s_x·s_w[c], fits int32 codes (an input with a tiny range would otherwise overflow it; as
 * onnxruntime's quantizer does).
 */
export function kernelWeight(kernel: KernelPlacement, inputScale: number): QuantizedWeight {
  const base = quantizeWeight(kernel.weight, { dataType: DataType.INT8, symmetric: true, axis: kernel.axis });
  if (!kernel.bias) return base;
  const b = kernel.bias.tensor.toFloat32();
  const floor = new Float32Array(base.params.scale.length);
  for (let c = 0; c < b.length; c++) {
    const k = floor.length === 1 ? 0 : c;
    floor[k] = Math.max(floor[k], Math.abs(b[c]) / (inputScale * BIAS_CODE_LIMIT));
  }
  if (base.params.scale.every((s, c) => s >= floor[c])) return base;
  const key = `${kernel.axis}:${inputScale}:${kernel.bias.value}`;
  let perTensor = adjusted.get(kernel.weight);
  const hit = perTensor?.get(key);
  if (hit) return hit;
  const scale = Float32Array.from(base.params.scale, (s, c) => Math.max(s, Math.fround(floor[c] * (1 + 2 ** -20))));
  const params = { ...base.params, scale };
  const codes = quantize(kernel.weight.toFloat32(), params, kernel.weight.dims) as Int8Array;
  const result: QuantizedWeight = {
    codes: Tensor.fromArray(DataType.INT8, kernel.weight.dims, codes),
    scale: Tensor.fromArray(DataType.FLOAT, base.scale.dims, scale),
    zeroPoint: base.zeroPoint,
    params,
  };
  if (!perTensor) adjusted.set(kernel.weight, (perTensor = new Map()));
  perTensor.set(key, result);
  return result;
}
