import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { withAttributes } from './helpers.js';

/** RoiAlign-16 added coordinate_transformation_mode, default half_pixel; RoiAlign-10 behaved as output_half_pixel. */
export const setRoiAlignHalfPixel = defineRule({
  name: 'opset/set-roi-align-half-pixel',
  description: 'opset 16: RoiAlign keeps output_half_pixel coordinates',
  pattern: op('RoiAlign'),
  rewrite: (m) => ({ nodes: [withAttributes(m.root, { coordinate_transformation_mode: 'output_half_pixel' })] }),
});
