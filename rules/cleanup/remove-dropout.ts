import { defineRule } from '../../src/rewrite/rule.js';
import { op, v } from '../../src/rewrite/pattern.js';
import { attrInt } from '../../src/ir/model.js';

/** Dropout in inference form (no training_mode input, mask unused) is the identity on its data. */
export const removeDropout = defineRule({
  name: 'cleanup/remove-dropout',
  description: 'readers of an inference-mode Dropout read its input',
  pattern: op('Dropout', [v('x')]),
  check: (m, ctx) => {
    const [out, mask] = m.root.outputs;
    if (ctx.isGraphOutput(out)) return 'its output is a graph output';
    if (mask && (ctx.consumers(mask).length > 0 || ctx.isGraphOutput(mask))) return 'its mask output is used';
    if (m.root.inputs[2]) {
      const training = ctx.constant(m.root.inputs[2]);
      if (!training || training.toNumbers()[0] !== 0) return 'training_mode is not a constant false';
    }
    // Before opset 7, Dropout defaults to training mode unless is_test=1.
    if ((ctx.opset() ?? 0) < 7 && attrInt(m.root, 'is_test', 0) !== 1) return 'is_test is not 1 (training mode)';
    return true;
  },
  rewrite: (m) => ({ replace: { [m.root.outputs[0]]: m.values.x } }),
});
