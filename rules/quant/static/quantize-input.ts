import { defineRule, type Rule } from '../../../src/rewrite/rule.js';
import { op, v } from '../../../src/rewrite/pattern.js';
import { KERNEL_OPS } from '../../../src/quant/placement.js';
import { type StaticQuantData, qdq, quantizerInitializers, withInput } from './data.js';

/**
 * Kernel(x, …) with x made by a float node or a graph input → Kernel(DQ(Q(x)), …): the quantizer sits in front of
 * this kernel only, so other readers of x keep the exact float (kernels reading the same x get equal quantizers,
 * merged afterwards by quant/static-share-quantize).
 */
export function quantizeInput(data: StaticQuantData): Rule {
  return defineRule({
    name: 'quant/static-quantize-input',
    description: 'a quantizer in front of a kernel whose input is made in float',
    pattern: op(KERNEL_OPS, [v('x')]),
    check: (m) => {
      const kernel = data.kernels.get(m.root.outputs[0]);
      if (!kernel) return 'the placement keeps it float';
      if (kernel.integerToFloat) return 'it becomes MatMulIntegerToFloat (quant/static-matmul-integer-to-float)';
      if (!data.atConsumer.has(m.values.x)) return 'its input is quantized where it is made, or already';
      return true;
    },
    rewrite: (m, b) => {
      const q = data.quantizers.get(m.values.x)!;
      const pair = qdq(b, m.values.x, q);
      return { nodes: [...pair.nodes, withInput(m.root, 0, pair.output)], initializers: quantizerInitializers(q) };
    },
  });
}
