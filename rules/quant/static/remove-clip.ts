import { defineRule } from '../../../src/rewrite/rule.js';
import { op, v } from '../../../src/rewrite/pattern.js';
import { DataType } from '../../../src/ir/dtype.js';
import { graphIndex } from '../../../src/ir/analysis.js';
import { clipBounds, clipIsRedundant } from '../../../src/quant/placement.js';
import { isQuantType } from '../../../src/quant/params.js';
import { withInput } from './data.js';

/**
 * Relu/Clip → QuantizeLinear where the quantizer already saturates to the clip range (onnxruntime's test: Relu
 * with zero point = qmin, Clip with rint(min/s)+zp ≤ qmin and rint(max/s)+zp ≥ qmax) → QuantizeLinear alone.
 * Exact, so it also applies to quantizers a QAT export brought.
 */
export const removeClip = defineRule({
  name: 'quant/static-remove-clip',
  description: 'a Relu/Clip the following quantizer makes redundant is removed',
  pattern: op('QuantizeLinear', [op(['Clip', 'Relu'], [v('x')], { bind: 'clip', singleUse: true })]),
  check: (m, ctx) => {
    const [, scaleName, zpName] = m.root.inputs;
    const scale = scaleName ? ctx.constant(scaleName) : undefined;
    if (!scale || scale.size !== 1 || scale.dataType !== DataType.FLOAT) return 'its scale is not one constant float';
    const zp = zpName ? ctx.constant(zpName) : undefined;
    if (zpName && (!zp || zp.size !== 1)) return 'its zero point is not one constant';
    const dataType = zp ? zp.dataType : DataType.UINT8;
    if (!isQuantType(dataType) || (dataType !== DataType.UINT8 && dataType !== DataType.INT8 && dataType !== DataType.UINT16 && dataType !== DataType.INT16)) {
      return 'it quantizes to a type this rule does not reason about';
    }
    // onnxruntime fuses a node with DQ inputs only if all or none of its readers are Qs: a Q moved up next to float
    // readers of such a node would keep it from fusing.
    const producer = graphIndex(ctx.graph).producer.get(m.values.x);
    if (ctx.consumers(m.values.x).length > 1 && producer?.inputs.some((i) => graphIndex(ctx.graph).producer.get(i)?.opType === 'DequantizeLinear')) {
      return 'its input is made by a node onnxruntime fuses and read by others too';
    }
    const bounds = clipBounds(m.nodes.clip, ctx.constant, ctx.opset() ?? 0);
    if (!bounds) return 'the clip bounds are not constant';
    const params = { scale: scale.toFloat32()[0], zeroPoint: zp ? Number(zp.toArray()[0]) : 0, dataType };
    return clipIsRedundant(m.nodes.clip.opType, bounds, params) ? true : 'the quantizer does not saturate to the clip range';
  },
  rewrite: (m) => ({ nodes: [withInput(m.root, 0, m.values.x)] }),
});
