import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrInt } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/model.js';
import type { RuleContext } from '../../src/rewrite/rule.js';
import { withAttributes } from './helpers.js';

/**
 * The axis a pre-13 Softmax/LogSoftmax/Hardmax can keep as is: it coerced its input to 2-D at `axis` (default 1) and
 * normalized each row; opset 13 normalizes along `axis` alone (default -1). The two agree when `axis` is the last
 * dimension, or when every dimension after it is 1. Returns undefined when they may differ.
 */
function keptAxis(node: Node, ctx: RuleContext): number | undefined {
  const axis = attrInt(node, 'axis', 1);
  if (axis === -1) return -1;
  const shape = ctx.typeOf(node.inputs[0])?.shape;
  if (!shape) return undefined;
  const a = axis < 0 ? axis + shape.length : axis;
  return shape.slice(a + 1).every((d) => d === 1) ? a : undefined;
}

/**
 * Opset 13 changed what Softmax, LogSoftmax and Hardmax normalize over. Where the old and new meanings agree the axis
 * is written explicitly (the default moved from 1 to -1); where they differ, the op runs on its input flattened at
 * `axis` (the old 2-D coercion) and the result is reshaped back to the input's shape.
 */
export const adaptSoftmaxAxis = defineRule({
  name: 'opset/adapt-softmax-axis',
  description: 'opset 13: Softmax/LogSoftmax/Hardmax over the 2-D coercion at axis',
  pattern: op(['Softmax', 'LogSoftmax', 'Hardmax']),
  rewrite: (m, b, ctx) => {
    const n = m.root;
    const kept = keptAxis(n, ctx);
    if (kept !== undefined) return { nodes: [attrInt(n, 'axis') === kept ? n : withAttributes(n, { axis: kept })] };
    const x = n.inputs[0];
    const base = n.name || n.opType;
    const flat = b.node('Flatten', [x], { axis: attrInt(n, 'axis', 1) }, { name: `${base}/flatten` });
    const normalized = b.fresh(`${n.outputs[0]}_2d`);
    const shape = b.node('Shape', [x], {}, { name: `${base}/shape` });
    const back = b.node('Reshape', [normalized, shape.outputs[0]], {}, { name: `${base}/reshape`, outputs: [n.outputs[0]] });
    const core: Node = { ...withAttributes(n, { axis: 1 }), inputs: [flat.outputs[0]], outputs: [normalized] };
    return { nodes: [flat.node, shape.node, core, back.node] };
  },
});
