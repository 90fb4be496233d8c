import { defineRule, type Rule } from '../../src/rewrite/rule.js';
import { constant, op, v } from '../../src/rewrite/pattern.js';
import { DataType } from '../../src/ir/dtype.js';
import { quantizeWeight } from '../../src/quant/weights.js';
import type { Node } from '../../src/ir/model.js';

export interface DynamicMatMulOptions {
  readonly perChannel: boolean;
  /** Nodes to leave in float (the pass resolves names and regexes into this predicate). */
  readonly excluded: (node: Node) => boolean;
}

/**
 * MatMul(x, W) with a constant float weight [K, N] → the form onnxruntime fuses into MatMulIntegerToFloat /
 * DynamicQuantizeMatMul: DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_int8, x_zp) → Cast → Mul(x_scale·W_scale).
 * Weights are symmetric int8 (zero point 0, omitted), per output column or per tensor.
 */
export function dynamicMatMul(options: DynamicMatMulOptions): Rule {
  return defineRule({
    name: 'quant/dynamic-matmul',
    description: 'MatMul with a constant weight runs on int8 weights and uint8 activations quantized at run time',
    pattern: op('MatMul', [v('x'), constant('w', (t) => t.dataType === DataType.FLOAT && t.dims.length === 2)]),
    check: (m, ctx) => {
      if (options.excluded(m.root)) return 'excluded by the configuration';
      if ((ctx.opset() ?? 0) < 11) return 'DynamicQuantizeLinear needs opset 11 or later';
      if (ctx.typeOf(m.values.x)?.elemType !== DataType.FLOAT) return 'its input is not known to be float32';
      return true;
    },
    rewrite: (m, b) => {
      const w = quantizeWeight(m.constants.w, { dataType: DataType.INT8, symmetric: true, axis: options.perChannel ? 1 : undefined });
      const base = m.values.w;
      const dq = b.node('DynamicQuantizeLinear', [m.values.x], {}, { outputs: 3 });
      const [xq, xScale, xZero] = dq.outputs;
      const codes = b.constant(w.codes, `${base}_quantized`);
      const wScale = b.constant(w.scale, `${base}_scale`);
      const product = b.node('MatMulInteger', [xq, codes, xZero]);
      const asFloat = b.node('Cast', product.outputs, { to: DataType.FLOAT });
      const scale = b.node('Mul', [xScale, wScale]);
      const out = b.node('Mul', [asFloat.outputs[0], scale.outputs[0]], {}, { outputs: m.root.outputs });
      return { nodes: [dq.node, product.node, asFloat.node, scale.node, out.node] };
    },
  });
}
