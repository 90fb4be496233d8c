import { defineRule, type Rule } from '../../src/rewrite/rule.js';
import { constant, op, v } from '../../src/rewrite/pattern.js';
import { attrInt, type Node } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { quantizeWeight } from '../../src/quant/weights.js';

/**
 * Gather(table, ids) from a constant float table [V, H] (embeddings) → DequantizeLinear(Gather(table_int8, ids))
 * with one scale per column: the table is stored in int8 and only the gathered rows are dequantized.
 */
export function gatherWeight(excluded: (node: Node) => boolean): Rule {
  return defineRule({
    name: 'quant/gather-weight',
    description: 'embedding tables stored in int8, dequantized after the lookup',
    pattern: op('Gather', [constant('table', (t) => t.dataType === DataType.FLOAT && t.dims.length === 2), v('ids')]),
    check: (m, ctx) => {
      if (excluded(m.root)) return 'excluded by the configuration';
      if (attrInt(m.root, 'axis', 0) !== 0) return 'it gathers along another axis than the rows';
      if ((ctx.opset() ?? 0) < 13) return 'per-axis DequantizeLinear needs opset 13 or later';
      return true;
    },
    rewrite: (m, b) => {
      const w = quantizeWeight(m.constants.table, { dataType: DataType.INT8, symmetric: true, axis: 1 });
      const codes = b.constant(w.codes, `${m.values.table}_quantized`);
      const rows = b.node('Gather', [codes, m.values.ids], { axis: 0 });
      const scale = b.constant(w.scale, `${m.values.table}_scale`);
      const zero = b.constant(w.zeroPoint, `${m.values.table}_zero_point`);
      const dq = b.node('DequantizeLinear', [rows.outputs[0], scale, zero], { axis: -1 }, { outputs: m.root.outputs });
      return { nodes: [rows.node, dq.node] };
    },
  });
}
