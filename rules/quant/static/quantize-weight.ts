import { defineRule, type Rule } from '../../../src/rewrite/rule.js';
import { constant, op, v } from '../../../src/rewrite/pattern.js';
import { DataType } from '../../../src/ir/dtype.js';
import { KERNEL_OPS } from '../../../src/quant/placement.js';
import { type StaticQuantData, kernelWeight, withInput } from './data.js';

/**
 * Kernel(x, W) with a constant float W → Kernel(x, DequantizeLinear(W_int8, scale[, axis])): symmetric int8 weights
 * (zero point 0), one scale per output channel (Conv axis 0, MatMul [K, N] axis 1, Gemm by transB) or per tensor.
 */
export function quantizeWeightRule(data: StaticQuantData): Rule {
  return defineRule({
    name: 'quant/static-quantize-weight',
    description: 'kernel weights stored in int8 and dequantized for the fused integer kernel',
    pattern: op(KERNEL_OPS, [v('x'), constant('w', (t) => t.dataType === DataType.FLOAT)]),
    check: (m) => {
      const kernel = data.kernels.get(m.root.outputs[0]);
      if (!kernel) return 'the placement keeps it float';
      return kernel.integerToFloat ? 'it becomes MatMulIntegerToFloat (quant/static-matmul-integer-to-float)' : true;
    },
    rewrite: (m, b) => {
      const kernel = data.kernels.get(m.root.outputs[0])!;
      const w = kernelWeight(kernel, data.quantizers.get(kernel.input)!.params.scale);
      const base = m.values.w;
      const codes = b.constant(w.codes, `${base}_quantized`);
      const scale = b.constant(w.scale, `${base}_scale`);
      const zero = b.constant(w.zeroPoint, `${base}_zero_point`);
      const dq = b.node('DequantizeLinear', [codes, scale, zero], kernel.axis === undefined ? {} : { axis: kernel.axis }, { name: `${base}_DequantizeLinear` });
      return { nodes: [dq.node, withInput(m.root, 1, dq.outputs[0])] };
    },
  });
}
