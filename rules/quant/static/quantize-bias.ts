import { defineRule, type Rule } from '../../../src/rewrite/rule.js';
import { op } from '../../../src/rewrite/pattern.js';
import { DataType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';
import type { Node } from '../../../src/ir/model.js';
import type { KernelPlacement } from '../../../src/quant/placement.js';
import { roundHalfEven } from '../../../src/quant/params.js';
import { type StaticQuantData, kernelWeight, withInput } from './data.js';

const INT32_MIN = -2147483648, INT32_MAX = 2147483647;

/** The bias in int32 with scale s_x·s_w[c] and zero point 0: what the integer kernels add to their accumulators. */
export function quantizeBiasValues(kernel: KernelPlacement, inputScale: number): { codes: Tensor; scale: Tensor } {
  const sw = kernelWeight(kernel, inputScale).params.scale;
  const b = kernel.bias!.tensor.toFloat32();
  const codes = new Int32Array(b.length);
  const scales = new Float32Array(kernel.axis === undefined ? 1 : b.length);
  for (let c = 0; c < scales.length; c++) scales[c] = Math.fround(inputScale * sw[c]);
  for (let c = 0; c < b.length; c++) {
    const s = scales[kernel.axis === undefined ? 0 : c];
    codes[c] = Math.min(INT32_MAX, Math.max(INT32_MIN, roundHalfEven(Math.fround(b[c] / s))));
  }
  return {
    codes: Tensor.fromArray(DataType.INT32, [b.length], codes),
    scale: kernel.axis === undefined ? Tensor.scalar(DataType.FLOAT, scales[0]) : Tensor.fromArray(DataType.FLOAT, [scales.length], scales),
  };
}

/**
 * The float bias of a quantized kernel (Conv/Gemm input C, or the Add after a MatMul) → DequantizeLinear(int32):
 * QLinearConv and QGemm take it only so, and a MatMul → Add(float) that onnxruntime turns into a Gemm would
 * otherwise stay a float Gemm.
 */
export function quantizeBias(data: StaticQuantData): Rule {
  const kernelOf = (node: Node): { kernel: KernelPlacement; index: number } | undefined => {
    if (node.opType === 'Add') {
      for (const i of [0, 1]) {
        const kernel = data.biasAdds.get(node.inputs[i]);
        if (kernel && node.inputs[1 - i] === kernel.bias?.value) return { kernel, index: 1 - i };
      }
      return undefined;
    }
    const kernel = data.kernels.get(node.outputs[0]);
    return kernel?.bias && node.inputs[2] === kernel.bias.value ? { kernel, index: 2 } : undefined;
  };
  return defineRule({
    name: 'quant/static-quantize-bias',
    description: 'biases of quantized kernels in int32 with scale s_x·s_w',
    pattern: op(['Conv', 'Gemm', 'Add']),
    check: (m) => (kernelOf(m.root) ? true : 'no float bias of a quantized kernel'),
    rewrite: (m, b) => {
      const { kernel, index } = kernelOf(m.root)!;
      const { codes, scale } = quantizeBiasValues(kernel, data.quantizers.get(kernel.input)!.params.scale);
      const base = kernel.bias!.value;
      const dq = b.node('DequantizeLinear', [b.constant(codes, `${base}_quantized`), b.constant(scale, `${base}_scale`)],
        kernel.axis === undefined ? {} : { axis: 0 }, { name: `${base}_DequantizeLinear` });
      return { nodes: [dq.node, withInput(m.root, index, dq.outputs[0])] };
    },
  });
}
