import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrInt } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/model.js';
import type { RuleContext } from '../../src/rewrite/rule.js';
import { withInputs, withoutAttributes } from './helpers.js';

export const LEGACY_BROADCAST_OPS = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'And', 'Or', 'Xor', 'Equal', 'Greater', 'Less'] as const;

/** How many trailing 1-dims B needs so that numpy broadcasting puts it where `axis` did; a string says why unknown. */
function trailingOnes(node: Node, ctx: RuleContext): number | string {
  if (attrInt(node, 'broadcast', 0) !== 1) return 0; // no broadcasting: A and B have one shape
  const axis = attrInt(node, 'axis');
  if (axis === undefined) return 0; // suffix matching is numpy's alignment
  const ra = ctx.typeOf(node.inputs[0])?.shape?.length;
  const rb = ctx.typeOf(node.inputs[1])?.shape?.length;
  if (ra === undefined || rb === undefined) return 'the ranks of A and B are unknown (needed to align B at axis)';
  const start = axis < 0 ? axis + ra : axis;
  const n = ra - start - rb;
  return n >= 0 ? n : `B (rank ${rb}) does not fit in A (rank ${ra}) at axis ${axis}`;
}

/**
 * Opset 7 replaced `broadcast`/`axis` (B aligned to A at `axis`) by numpy broadcasting (right-aligned). Where
 * `axis` puts B elsewhere than the end, B gets trailing 1-dims: a reshaped constant, or an Unsqueeze.
 */
export const expandLegacyBroadcast = defineRule({
  name: 'opset/expand-legacy-broadcast',
  description: 'opset 7: broadcast/axis attributes to numpy broadcasting',
  pattern: op(LEGACY_BROADCAST_OPS),
  check: (m, ctx) => {
    const n = trailingOnes(m.root, ctx);
    return typeof n === 'string' ? n : true;
  },
  rewrite: (m, b, ctx) => {
    const plain = withoutAttributes(m.root, 'broadcast', 'axis');
    const n = trailingOnes(m.root, ctx) as number;
    if (n === 0) return { nodes: [plain] };
    const [a, bName] = m.root.inputs;
    const rb = ctx.typeOf(bName)!.shape!.length;
    const c = ctx.constant(bName);
    if (c) {
      const reshaped = b.constant(c.reshaped([...c.dims, ...Array<number>(n).fill(1)]), `${bName}_aligned`);
      return { nodes: [withInputs(plain, [a, reshaped])] };
    }
    const axes = Array.from({ length: n }, (_, i) => rb + i);
    const u = b.node('Unsqueeze', [bName], { axes });
    return { nodes: [u.node, withInputs(plain, [a, u.outputs[0]])] };
  },
});
