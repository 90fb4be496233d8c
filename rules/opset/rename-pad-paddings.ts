import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { intsOf, withAttributes, withoutAttributes } from './helpers.js';

/** Pad-2 renamed `paddings` to `pads` (same layout: all begins, then all ends). */
export const renamePadPaddings = defineRule({
  name: 'opset/rename-pad-paddings',
  description: 'opset 2: Pad\'s paddings attribute is called pads',
  pattern: op('Pad'),
  check: (m) => (intsOf(m.root, 'paddings') || intsOf(m.root, 'pads') ? true : 'Pad-1 without paddings'),
  rewrite: (m) => {
    const paddings = intsOf(m.root, 'paddings');
    if (!paddings) return { nodes: [m.root] };
    return { nodes: [withAttributes(withoutAttributes(m.root, 'paddings'), { pads: { type: 'ints', value: paddings } })] };
  },
});
