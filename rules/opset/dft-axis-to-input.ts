import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrInt } from '../../src/ir/model.js';
import { int64Tensor, withInputs, withoutAttributes } from './helpers.js';

/** DFT-20 takes axis as an optional scalar input whose default is -2; DFT-17's attribute defaulted to 1: always written. */
export const dftAxisToInput = defineRule({
  name: 'opset/dft-axis-to-input',
  description: 'opset 20: DFT\'s axis attribute to an input',
  pattern: op('DFT'),
  rewrite: (m, b) => {
    const axis = b.constant(int64Tensor([attrInt(m.root, 'axis', 1)], []), `${m.root.name || 'dft'}_axis`);
    return { nodes: [withInputs(withoutAttributes(m.root, 'axis'), [m.root.inputs[0], m.root.inputs[1] ?? '', axis])] };
  },
});
