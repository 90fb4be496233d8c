import { defineRule } from '../../src/rewrite/rule.js';
import { op, v } from '../../src/rewrite/pattern.js';

/** Identity(x) → x. Kept when its output is a graph output: graph outputs keep their names. */
export const removeIdentity = defineRule({
  name: 'cleanup/remove-identity',
  description: 'readers of Identity(x) read x',
  pattern: op('Identity', [v('x')]),
  check: (m, ctx) => (ctx.isGraphOutput(m.root.outputs[0]) ? 'its output is a graph output' : true),
  rewrite: (m) => ({ replace: { [m.root.outputs[0]]: m.values.x } }),
});
