import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrString } from '../../src/ir/model.js';
import { withAttributes } from './helpers.js';

const RENAMED: Readonly<Record<string, string>> = { bilinear: 'linear', bicubic: 'cubic', nearest: 'nearest' };

/** GridSample-20 (N-D) renamed its modes: bilinear → linear, bicubic → cubic (default bilinear → linear). */
export const renameGridSampleModes = defineRule({
  name: 'opset/rename-grid-sample-modes',
  description: 'opset 20: GridSample mode names',
  pattern: op('GridSample'),
  check: (m) => (RENAMED[attrString(m.root, 'mode', 'bilinear')] ? true : `unknown mode '${attrString(m.root, 'mode')}'`),
  rewrite: (m) => ({ nodes: [withAttributes(m.root, { mode: RENAMED[attrString(m.root, 'mode', 'bilinear')] })] }),
});
