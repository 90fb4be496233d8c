import { defineRule } from '../../../src/rewrite/rule.js';
import { op, v } from '../../../src/rewrite/pattern.js';
import type { Node } from '../../../src/ir/model.js';

const attributesKey = (n: Node): string => JSON.stringify(n.attributes.map((a) => [a.name, a.type, a.type === 'int' ? String(a.value) : a.value]));

const sameQuantizer = (a: Node, b: Node): boolean =>
  a.opType === 'QuantizeLinear' && a.domain === b.domain && a.inputs.length === b.inputs.length &&
  a.inputs.every((x, i) => x === b.inputs[i]) && attributesKey(a) === attributesKey(b);

/**
 * Two QuantizeLinear nodes of one value with the same scale, zero point and attributes compute the same integers:
 * later ones read the first (kernels sharing an input — Q, K and V — quantize it once).
 */
export const shareQuantize = defineRule({
  name: 'quant/static-share-quantize',
  description: 'one quantizer per value and parameters',
  pattern: op('QuantizeLinear', [v('x')]),
  check: (m, ctx) => {
    const first = ctx.consumers(m.values.x).find((n) => sameQuantizer(n, m.root));
    if (first === m.root) return 'it is the first quantizer of its input';
    if (ctx.isGraphOutput(m.root.outputs[0])) return 'its output is a graph output';
    return true;
  },
  rewrite: (m, _b, ctx) => ({ replace: { [m.root.outputs[0]]: ctx.consumers(m.values.x).find((n) => sameQuantizer(n, m.root))!.outputs[0] } }),
});
