import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrInt, attrInts, getAttribute } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/model.js';
import type { RuleContext } from '../../src/rewrite/rule.js';

/** Why a Scan-8 cannot drop its batch axis, or true. */
function unbatchable(node: Node, ctx: RuleContext): true | string {
  if (node.inputs[0]) return 'it has sequence_lens (per-batch lengths Scan-9 cannot express)';
  const nonBatch = node.inputs.slice(1).find((x) => ctx.typeOf(x)?.shape?.[0] !== 1);
  return nonBatch === undefined ? true : `the batch axis of '${nonBatch}' is not statically 1 (Scan-9 has no batch axis)`;
}

/**
 * Scan-8 ran its body once per batch entry (axis 0 of every state and scan input; scan inputs scanned along axis 1);
 * Scan-9 has no batch axis. With a batch of 1 and no sequence_lens, the same body runs as Scan-9 on the inputs
 * squeezed at axis 0, and the outputs are unsqueezed back.
 */
export const unbatchScan = defineRule({
  name: 'opset/unbatch-scan',
  description: 'opset 9: Scan-8 with a batch of 1 as Scan-9 between Squeeze and Unsqueeze',
  pattern: op('Scan'),
  check: (m, ctx) => unbatchable(m.root, ctx),
  rewrite: (m, b) => {
    const n = m.root;
    const base = n.name || 'scan';
    const squeezed = n.inputs.slice(1).map((x, i) => b.node('Squeeze', [x], { axes: [0] }, { name: `${base}/unbatch_${i}` }));
    const inner = n.outputs.map((o) => (o === '' ? '' : b.fresh(`${o}_unbatched`)));
    const directions = attrInts(n, 'directions');
    const scan: Node = {
      ...n,
      inputs: squeezed.map((s) => s.outputs[0]),
      outputs: inner,
      attributes: [
        getAttribute(n, 'body')!,
        { name: 'num_scan_inputs', type: 'int', value: attrInt(n, 'num_scan_inputs')! },
        ...(directions ? [{ name: 'scan_input_directions', type: 'ints' as const, value: directions }] : []),
      ],
    };
    const rebatched = n.outputs.flatMap((o, i) => (o === '' ? [] : [b.node('Unsqueeze', [inner[i]], { axes: [0] }, { name: `${base}/rebatch_${i}`, outputs: [o] }).node]));
    return { nodes: [...squeezed.map((s) => s.node), scan, ...rebatched] };
  },
});
