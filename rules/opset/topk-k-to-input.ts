import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrInt } from '../../src/ir/model.js';
import { intsInput, withInputs, withoutAttributes } from './helpers.js';

/** TopK-10 takes k as a 1-element int64 input. */
export const topkKToInput = defineRule({
  name: 'opset/topk-k-to-input',
  description: 'opset 10: TopK\'s k attribute to an input',
  pattern: op('TopK'),
  check: (m) => (attrInt(m.root, 'k') !== undefined ? true : 'TopK-1 without k'),
  rewrite: (m, b) => ({
    nodes: [withInputs(withoutAttributes(m.root, 'k'), [m.root.inputs[0], intsInput(b, m.root, [attrInt(m.root, 'k')!], 'k')])],
  }),
});
