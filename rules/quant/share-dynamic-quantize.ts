import { defineRule } from '../../src/rewrite/rule.js';
import { op, v } from '../../src/rewrite/pattern.js';

/**
 * Two DynamicQuantizeLinear nodes reading the same value compute the same thing: later ones read the first.
 * (Q, K and V projections share their input; quantizing it once saves two passes over the activations.)
 */
export const shareDynamicQuantize = defineRule({
  name: 'quant/share-dynamic-quantize',
  description: 'one DynamicQuantizeLinear per activation',
  pattern: op('DynamicQuantizeLinear', [v('x')]),
  check: (m, ctx) => {
    const first = ctx.consumers(m.values.x).find((n) => n.opType === 'DynamicQuantizeLinear' && n.domain === '');
    if (first === m.root) return 'it is the first quantizer of its input';
    if (m.root.outputs.some((o) => ctx.isGraphOutput(o))) return 'one of its outputs is a graph output';
    return true;
  },
  rewrite: (m, _b, ctx) => {
    const first = ctx.consumers(m.values.x).find((n) => n.opType === 'DynamicQuantizeLinear' && n.domain === '')!;
    return { replace: Object.fromEntries(m.root.outputs.map((o, i) => [o, first.outputs[i]])) };
  },
});
