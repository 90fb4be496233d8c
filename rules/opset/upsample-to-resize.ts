import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import type { Node } from '../../src/ir/model.js';

/** Resize nodes made from Upsample: Upsample's scales are all ≥ 1 (onnxruntime enforces it), whatever computes them. */
export const FROM_UPSAMPLE = new WeakSet<Node>();

/** Opset 10 deprecated Upsample for Resize-10, which has Upsample-9's inputs, attribute and semantics. */
export const upsampleToResize = defineRule({
  name: 'opset/upsample-to-resize',
  description: 'opset 10: Upsample becomes Resize',
  pattern: op('Upsample'),
  rewrite: (m) => {
    const resize: Node = { ...m.root, opType: 'Resize' };
    FROM_UPSAMPLE.add(resize);
    return { nodes: [resize] };
  },
});
