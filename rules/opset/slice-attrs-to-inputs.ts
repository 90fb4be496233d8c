import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { intsInput, intsOf, withInputs, withoutAttributes } from './helpers.js';

/** Slice-10 takes starts/ends/axes as int64 inputs (and adds steps, default 1): same clamping rules. */
export const sliceAttrsToInputs = defineRule({
  name: 'opset/slice-attrs-to-inputs',
  description: 'opset 10: Slice\'s starts/ends/axes attributes to inputs',
  pattern: op('Slice'),
  check: (m) => (intsOf(m.root, 'starts') && intsOf(m.root, 'ends') ? true : 'Slice-1 without starts or ends'),
  rewrite: (m, b) => {
    const n = m.root;
    const starts = intsInput(b, n, intsOf(n, 'starts')!, 'starts');
    const ends = intsInput(b, n, intsOf(n, 'ends')!, 'ends');
    const axesAttr = intsOf(n, 'axes');
    const axes = axesAttr ? intsInput(b, n, axesAttr, 'axes') : '';
    return { nodes: [withInputs(withoutAttributes(n, 'starts', 'ends', 'axes'), [n.inputs[0], starts, ends, axes])] };
  },
});
