import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { getAttribute } from '../../src/ir/model.js';
import { attr } from '../../src/ir/builder.js';
import { withAttributes } from './helpers.js';

/** LpPool-2 and GlobalLpPool-2 take p as an int (before: a float, default 2.0). */
export const lpPoolPToInt = defineRule({
  name: 'opset/lp-pool-p-to-int',
  description: 'opset 2: LpPool/GlobalLpPool p from float to int',
  pattern: op(['LpPool', 'GlobalLpPool']),
  check: (m) => {
    const p = getAttribute(m.root, 'p');
    return p?.type !== 'float' || Number.isInteger(p.value) ? true : `p=${p.value} is not an integer`;
  },
  rewrite: (m) => {
    const p = getAttribute(m.root, 'p');
    return { nodes: [p?.type === 'float' ? withAttributes(m.root, { p: attr.int(p.value) }) : m.root] };
  },
});
