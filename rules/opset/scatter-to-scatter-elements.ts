import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';

/** Opset 11 deprecated Scatter for ScatterElements: same inputs, axis and semantics. */
export const scatterToScatterElements = defineRule({
  name: 'opset/scatter-to-scatter-elements',
  description: 'opset 11: Scatter becomes ScatterElements',
  pattern: op('Scatter'),
  rewrite: (m) => ({ nodes: [{ ...m.root, opType: 'ScatterElements' }] }),
});
