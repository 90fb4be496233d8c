import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { getAttribute } from '../../src/ir/model.js';
import { withAttributes } from './helpers.js';

/** Concat-1 defaulted axis to 1; from opset 4 the attribute is required. */
export const setConcatAxis = defineRule({
  name: 'opset/set-concat-axis',
  description: 'opset 4: write Concat-1\'s default axis (1) explicitly',
  pattern: op('Concat'),
  rewrite: (m) => ({ nodes: [getAttribute(m.root, 'axis') ? m.root : withAttributes(m.root, { axis: 1 })] }),
});
