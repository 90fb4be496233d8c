import { defineRule, type Rule } from '../../../src/rewrite/rule.js';
import { constant, op, v } from '../../../src/rewrite/pattern.js';
import { DataType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { quantizedColumns, splitColumns } from '../fuse-attention.js';
import { type StaticQuantData, quantizerInitializers } from './data.js';

/**
 * com.microsoft.Attention(x, W[D, 3N], b) → QuantizeLinear(x) → com.microsoft.QAttention(x_u8, W_int8, b, s_x, s_w,
 * , zp_x): the input quantized with its calibrated range (constants, no DynamicQuantizeLinear at run time), the
 * weights as dynamic mode's QAttention has them (symmetric, per column or one scale per Q, K and V), bias float.
 */
export function quantizeAttention(data: StaticQuantData): Rule {
  return defineRule({
    name: 'quant/static-quantize-attention',
    description: 'float Attention runs as QAttention on its input quantized with the calibrated range',
    pattern: op('Attention', [v('x'), constant('w', (t) => t.dataType === DataType.FLOAT)], { domain: 'com.microsoft' }),
    check: (m) => {
      if (!data.kernels.has(m.root.outputs[0])) return 'the placement keeps it float';
      return data.quantizers.has(m.values.x) ? true : 'its input has no quantizer';
    },
    rewrite: (m, b) => {
      const q = data.quantizers.get(m.values.x)!;
      const kernel = data.kernels.get(m.root.outputs[0])!;
      const w = quantizedColumns(splitColumns(m.constants.w, 3), kernel.axis !== undefined);
      const width = m.constants.w.dims[1];
      const bias = m.root.inputs[2] || b.constant(Tensor.fromArray(DataType.FLOAT, [width], new Float32Array(width)), `${m.values.w}_bias`);
      const quant = b.node('QuantizeLinear', [m.values.x, q.scaleName, q.zeroPointName], {}, { name: `${m.values.x}_QuantizeLinear` });
      const inputs = [quant.outputs[0], b.constant(w.codes, `${m.values.w}_quantized`), bias, q.scaleName, b.constant(w.scale, `${m.values.w}_scale`), '', q.zeroPointName];
      const fused = { ...m.root, opType: 'QAttention', inputs };
      return { nodes: [quant.node, fused], initializers: quantizerInitializers(q) };
    },
  });
}
