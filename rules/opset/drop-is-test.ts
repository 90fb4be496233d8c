import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrInt } from '../../src/ir/model.js';
import { withoutAttributes } from './helpers.js';

/** Opset 7 removed is_test: BatchNormalization and Dropout always run in inference mode from then on. */
export const dropIsTest = defineRule({
  name: 'opset/drop-is-test',
  description: 'opset 7: drop is_test (inference mode) from BatchNormalization and Dropout',
  pattern: op(['BatchNormalization', 'Dropout']),
  // is_test defaulted to 0: training mode (batch statistics, random drops) has no opset-7 equivalent.
  check: (m) => (attrInt(m.root, 'is_test', 0) === 1 ? true : 'is_test is 0 (training mode), which opset 7 cannot express'),
  rewrite: (m) => ({ nodes: [withoutAttributes(m.root, 'is_test')] }),
});
