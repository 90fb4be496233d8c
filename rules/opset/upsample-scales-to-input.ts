import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrFloats } from '../../src/ir/model.js';
import { float32Tensor, withInputs, withoutAttributes } from './helpers.js';

/** Upsample-9 takes its scales as a float input instead of an attribute. */
export const upsampleScalesToInput = defineRule({
  name: 'opset/upsample-scales-to-input',
  description: 'opset 9: Upsample\'s scales attribute to an input',
  pattern: op('Upsample'),
  check: (m) => (attrFloats(m.root, 'scales') ? true : 'Upsample-7 without scales'),
  rewrite: (m, b) => {
    const scales = b.constant(float32Tensor(attrFloats(m.root, 'scales')!), `${m.root.name || 'upsample'}_scales`);
    return { nodes: [withInputs(withoutAttributes(m.root, 'scales'), [m.root.inputs[0], scales])] };
  },
});
