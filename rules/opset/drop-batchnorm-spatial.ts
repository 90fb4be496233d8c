import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrInt } from '../../src/ir/model.js';
import { withoutAttributes } from './helpers.js';

/** BatchNormalization-9 dropped `spatial`: statistics are always per channel (spatial=1, the old default). */
export const dropBatchnormSpatial = defineRule({
  name: 'opset/drop-batchnorm-spatial',
  description: 'opset 9: drop BatchNormalization\'s spatial=1',
  pattern: op('BatchNormalization'),
  check: (m) => (attrInt(m.root, 'spatial', 1) === 1 ? true : 'spatial=0 (per-activation statistics) has no opset-9 equivalent'),
  rewrite: (m) => ({ nodes: [withoutAttributes(m.root, 'spatial')] }),
});
