import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrString } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/model.js';
import type { RuleContext } from '../../src/rewrite/rule.js';
import { float32Tensor, withAttributes, withInputs } from './helpers.js';
import { FROM_UPSAMPLE } from './upsample-to-resize.js';

/**
 * The nearest_mode that reproduces Resize-10 (and Upsample): output index i reads input i / scale (asymmetric),
 * truncated when upsampling and rounded up when downsampling — per axis, as onnxruntime's opset-10 kernel does.
 * A string says why no single mode does.
 */
function nearestMode(node: Node, ctx: RuleContext): string | { mode: string } {
  if (FROM_UPSAMPLE.has(node)) return { mode: 'floor' };
  const scales = ctx.constant(node.inputs[1])?.toNumbers();
  if (!scales) return 'its scales are not a constant (the rounding of nearest depends on whether each axis grows or shrinks)';
  const up = scales.some((s) => s > 1), down = scales.some((s) => s < 1);
  if (up && down) return `its scales [${scales}] both grow and shrink axes (opset 10 rounds those differently)`;
  return { mode: down ? 'ceil' : 'floor' };
}

/**
 * Resize-11 moved scales to input 2 (after roi) and added coordinate_transformation_mode (default half_pixel) and
 * nearest_mode (default round_prefer_floor). Resize-10's behavior is asymmetric coordinates with floor (upsampling)
 * or ceil (downsampling) for nearest: both are written explicitly, with an empty roi.
 */
export const pinResizeCoordinates = defineRule({
  name: 'opset/pin-resize-coordinates',
  description: 'opset 11: Resize-10 as Resize-11 with asymmetric coordinates and its nearest rounding',
  pattern: op('Resize'),
  check: (m, ctx) => {
    if (attrString(m.root, 'mode', 'nearest') !== 'nearest') return true;
    const mode = nearestMode(m.root, ctx);
    return typeof mode === 'string' ? mode : true;
  },
  rewrite: (m, b, ctx) => {
    const n = m.root;
    const roi = b.constant(float32Tensor([]), `${n.name || 'resize'}_roi`);
    const attrs: Record<string, string> = { coordinate_transformation_mode: 'asymmetric' };
    if (attrString(n, 'mode', 'nearest') === 'nearest') attrs.nearest_mode = (nearestMode(n, ctx) as { mode: string }).mode;
    return { nodes: [withAttributes(withInputs(n, [n.inputs[0], roi, n.inputs[1]]), attrs)] };
  },
});
