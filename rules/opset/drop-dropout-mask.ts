import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';

/** Dropout-10's mask is bool (before: the data's type). An unused mask output is dropped; a used one cannot change type. */
export const dropDropoutMask = defineRule({
  name: 'opset/drop-dropout-mask',
  description: 'opset 10: Dropout\'s mask output becomes bool (it must be unused)',
  pattern: op('Dropout'),
  check: (m, ctx) => {
    const mask = m.root.outputs[1];
    return !mask || (ctx.consumers(mask).length === 0 && !ctx.isGraphOutput(mask)) ? true : `its mask '${mask}' is used and would change type to bool`;
  },
  rewrite: (m) => ({ nodes: [m.root.outputs.length > 1 ? { ...m.root, outputs: [m.root.outputs[0]] } : m.root] }),
});
