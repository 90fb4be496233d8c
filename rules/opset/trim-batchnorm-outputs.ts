import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';

/**
 * BatchNormalization-14 has training_mode (default 0) and at most 3 outputs, all but Y only in training mode.
 * Before, up to 5 optional training outputs could be listed; unused ones go, used ones cannot be kept.
 */
export const trimBatchnormOutputs = defineRule({
  name: 'opset/trim-batchnorm-outputs',
  description: 'opset 14: BatchNormalization keeps only Y (its training outputs must be unused)',
  pattern: op('BatchNormalization'),
  check: (m, ctx) => {
    const used = m.root.outputs.slice(1).find((o) => o !== '' && (ctx.consumers(o).length > 0 || ctx.isGraphOutput(o)));
    return used === undefined ? true : `its training output '${used}' is used (training mode)`;
  },
  rewrite: (m) => ({ nodes: [m.root.outputs.length > 1 ? { ...m.root, outputs: [m.root.outputs[0]] } : m.root] }),
});
