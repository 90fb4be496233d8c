import { defineRule, type Rule } from '../../src/rewrite/rule.js';
import { constant, op, v } from '../../src/rewrite/pattern.js';
import { DataType } from '../../src/ir/dtype.js';
import type { Node } from '../../src/ir/model.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { type BlockQuantized, toBlockedDequantizeLinear, toMatMulNBits } from '../../src/quant/blockwise.js';

export interface WeightOnlyOptions {
  /** com.microsoft.MatMulNBits (onnxruntime's fast CPU kernel) or opset-21 blocked DequantizeLinear → MatMul. */
  readonly format: 'matmulnbits' | 'qdq';
  readonly blockSize: number;
  readonly excluded: (node: Node) => boolean;
  /** Block-wise 4-bit codes for a weight [K, N] (round-to-nearest or GPTQ); undefined leaves the node float. */
  readonly quantize: (weight: Tensor, weightName: string) => BlockQuantized | undefined;
}

/** MatMul(x, W) with a constant float weight [K, N] → 4-bit block-wise weights, activations stay float. */
export function weightOnlyMatMul(options: WeightOnlyOptions): Rule {
  return defineRule({
    name: 'quant/weight-only-matmul',
    description: 'MatMul weights in 4 bits per element, block-wise along K',
    pattern: op('MatMul', [v('x'), constant('w', (t) => t.dataType === DataType.FLOAT && t.dims.length === 2)]),
    check: (m, ctx) => {
      if (options.excluded(m.root)) return 'excluded by the configuration';
      if (options.format === 'qdq' && (ctx.opset() ?? 0) < 21) return 'int4 DequantizeLinear needs opset 21 or later (use format matmulnbits)';
      if (options.format === 'matmulnbits' && ctx.opset('com.microsoft') === undefined) return 'the model does not import com.microsoft';
      if (m.constants.w.dims[0] < options.blockSize) return `K = ${m.constants.w.dims[0]} is smaller than one block`;
      return options.quantize(m.constants.w, m.values.w) ? true : 'no quantized weights for it';
    },
    rewrite: (m, b) => {
      const q = options.quantize(m.constants.w, m.values.w)!;
      const base = m.values.w;
      if (options.format === 'matmulnbits') {
        const w = toMatMulNBits(q);
        const inputs = [m.values.x, b.constant(w.B, `${base}_q4`), b.constant(w.scales, `${base}_scales`)];
        if (w.zeroPoints) inputs.push(b.constant(w.zeroPoints, `${base}_zero_points`));
        return { nodes: [b.node('MatMulNBits', inputs, { ...w.attributes }, { domain: 'com.microsoft', outputs: m.root.outputs }).node] };
      }
      const w = toBlockedDequantizeLinear(q);
      const inputs = [b.constant(w.weight, `${base}_q4`), b.constant(w.scale, `${base}_scale`)];
      if (w.zeroPoint) inputs.push(b.constant(w.zeroPoint, `${base}_zero_point`));
      const dq = b.node('DequantizeLinear', inputs, { ...w.attributes });
      return { nodes: [dq.node, b.node('MatMul', [m.values.x, dq.outputs[0]], {}, { outputs: m.root.outputs }).node] };
    },
  });
}
