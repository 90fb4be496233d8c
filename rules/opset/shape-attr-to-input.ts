import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { intsInput, intsOf, withInputs, withoutAttributes } from './helpers.js';

/** Reshape-1 took the target shape as an attribute; from opset 5 it is an int64 input. */
export const shapeAttrToInput = defineRule({
  name: 'opset/shape-attr-to-input',
  description: 'opset 5: Reshape\'s shape attribute to an input',
  pattern: op('Reshape'),
  check: (m) => (intsOf(m.root, 'shape') ? true : 'Reshape-1 has no shape attribute'),
  rewrite: (m, b) => {
    const shape = intsInput(b, m.root, intsOf(m.root, 'shape')!, 'shape');
    return { nodes: [withInputs(withoutAttributes(m.root, 'shape', 'consumed_inputs'), [m.root.inputs[0], shape])] };
  },
});
