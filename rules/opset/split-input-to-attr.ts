import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { withAttributes, withInputs } from './helpers.js';

/** Split-1 could take the sizes as a second input; Split-2 only as the `split` attribute. */
export const splitInputToAttr = defineRule({
  name: 'opset/split-input-to-attr',
  description: 'opset 2: Split\'s sizes input to the split attribute',
  pattern: op('Split'),
  check: (m, ctx) => (!m.root.inputs[1] || ctx.constant(m.root.inputs[1]) ? true : 'its split sizes are not a constant'),
  rewrite: (m, _b, ctx) => {
    const sizes = m.root.inputs[1];
    if (!sizes) return { nodes: [m.root] };
    const split = ctx.constant(sizes)!.toNumbers();
    return { nodes: [withAttributes(withInputs(m.root, [m.root.inputs[0]]), { split: { type: 'ints', value: split } })] };
  },
});
