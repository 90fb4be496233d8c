import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { intsInput, intsOf, withInputs, withoutAttributes } from './helpers.js';

/** Split-13 takes the sizes as an optional int64 input. */
export const splitAttrToInput = defineRule({
  name: 'opset/split-attr-to-input',
  description: 'opset 13: Split\'s split attribute to an input',
  pattern: op('Split'),
  rewrite: (m, b) => {
    const split = intsOf(m.root, 'split');
    const plain = withoutAttributes(m.root, 'split');
    if (!split?.length) return { nodes: [plain] };
    return { nodes: [withInputs(plain, [m.root.inputs[0], intsInput(b, m.root, split, 'split')])] };
  },
});
