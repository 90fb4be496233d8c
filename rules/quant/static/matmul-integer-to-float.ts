import { defineRule, type Rule } from '../../../src/rewrite/rule.js';
import { op, v } from '../../../src/rewrite/pattern.js';
import { DataType } from '../../../src/ir/dtype.js';
import { graphIndex } from '../../../src/ir/analysis.js';
import type { Node } from '../../../src/ir/model.js';
import type { KernelPlacement } from '../../../src/quant/placement.js';
import { quantizeWeight } from '../../../src/quant/weights.js';
import { type StaticQuantData, quantizerInitializers } from './data.js';

/**
 * MatMul(x, W) → Add(bias), where onnxruntime makes no Gemm of the pair (shapes not static) →
 * QuantizeLinear(x) → com.microsoft.MatMulIntegerToFloat(x_q, W_int8, s_x, s_w, zp_x, , bias): the kernel its QDQ
 * fusion would make, with the bias inside instead of a float Add over the whole output after it.
 */
export function matmulIntegerToFloat(data: StaticQuantData): Rule {
  const kernelOf = (add: Node): KernelPlacement | undefined => {
    for (const i of [0, 1]) {
      const kernel = data.kernels.get(add.inputs[i]);
      if (kernel?.integerToFloat && add.inputs[1 - i] === kernel.bias?.value && kernel.bias.add?.outputs[0] === add.outputs[0]) return kernel;
    }
    return undefined;
  };
  return defineRule({
    name: 'quant/static-matmul-integer-to-float',
    description: 'a quantized MatMul and its bias Add run as one MatMulIntegerToFloat',
    pattern: op('Add', [v('a'), v('b')]),
    check: (m) => (kernelOf(m.root) ? true : 'not the bias Add of a MatMul the placement writes as MatMulIntegerToFloat'),
    rewrite: (m, b, ctx) => {
      const kernel = kernelOf(m.root)!;
      const q = data.quantizers.get(kernel.input)!;
      const w = quantizeWeight(kernel.weight, { dataType: DataType.INT8, symmetric: true, axis: kernel.axis });
      const base = kernel.node.inputs[1];
      const quant = b.node('QuantizeLinear', [kernel.input, q.scaleName, q.zeroPointName], {}, { name: `${kernel.input}_QuantizeLinear` });
      const inputs = [quant.outputs[0], b.constant(w.codes, `${base}_quantized`), q.scaleName, b.constant(w.scale, `${base}_scale`), q.zeroPointName, '', kernel.bias!.value];
      const fused = b.node('MatMulIntegerToFloat', inputs, {}, { domain: 'com.microsoft', name: kernel.node.name, outputs: m.root.outputs });
      const matmul = graphIndex(ctx.graph).producer.get(kernel.node.outputs[0]);
      return { nodes: [quant.node, fused.node], initializers: quantizerInitializers(q), subsumes: matmul ? [matmul] : [] };
    },
  });
}
