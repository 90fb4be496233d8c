import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { withAttributes } from './helpers.js';

/**
 * Split-18 needs either the sizes input or num_outputs. Without sizes, Split-13 made one equal part per output
 * (the axis had to divide evenly); num_outputs = that count does the same.
 */
export const setSplitNumOutputs = defineRule({
  name: 'opset/set-split-num-outputs',
  description: 'opset 18: Split without sizes gets num_outputs',
  pattern: op('Split'),
  rewrite: (m) => ({ nodes: [m.root.inputs[1] ? m.root : withAttributes(m.root, { num_outputs: m.root.outputs.length })] }),
});
