import { defineRule, type RuleContext } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrInt, type Node } from '../../src/ir/model.js';
import { graphIndex } from '../../src/ir/analysis.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DataType } from '../../src/ir/dtype.js';

/**
 * torch.onnx exports grouped-query attention's repeat_interleave of key/value heads one head at a time:
 *   Split(x, axis a, [1,..,1]) → each piece: Unsqueeze(a+1) → Expand(E) → Reshape(R) → Concat(axis a).
 * With E[a] = 1 and R[a] = -1 the same three ops applied to the whole of x give the same tensor, in one pass
 * instead of n — and a form whose head axis the prune pass can follow.
 */
export const mergeSplitRepeat = defineRule({
  name: 'cleanup/merge-split-repeat',
  description: 'Split into single heads → Unsqueeze/Expand/Reshape each → Concat becomes one Unsqueeze/Expand/Reshape',
  // The first piece's chain, so dispatch rejects other Concats early and the driver revisits when the chain changes.
  pattern: op('Concat', [op('Reshape', [op('Expand', [op('Unsqueeze', [op('Split')])])])]),
  check: (m, ctx) => {
    const chain = repeatChain(m.root, ctx);
    return typeof chain === 'string' ? chain : true;
  },
  rewrite: (m, b, ctx) => {
    const chain = repeatChain(m.root, ctx) as RepeatChain;
    const axes = b.constant(Tensor.fromArray(DataType.INT64, [1], BigInt64Array.of(BigInt(chain.axis + 1))), 'repeat_axes');
    const unsq = b.node('Unsqueeze', chain.unsqueezeUsesInput ? [chain.source, axes] : [chain.source], chain.unsqueezeUsesInput ? {} : { axes: [chain.axis + 1] });
    const expand = b.node('Expand', [unsq.outputs[0], chain.expandShape]);
    const reshape = b.node('Reshape', [expand.outputs[0], chain.reshapeShape]);
    return {
      nodes: [unsq.node, expand.node, reshape.node],
      replace: { [m.root.outputs[0]]: reshape.outputs[0] },
      subsumes: chain.nodes,
    };
  },
});

interface RepeatChain {
  readonly source: string;
  readonly axis: number;
  readonly expandShape: string;
  readonly reshapeShape: string;
  readonly unsqueezeUsesInput: boolean;
  readonly nodes: readonly Node[];
}

function repeatChain(concat: Node, ctx: RuleContext): RepeatChain | string {
  const { producer } = graphIndex(ctx.graph);
  const single = (name: string): Node | undefined => {
    const readers = ctx.consumers(name);
    return readers.length === 1 && !ctx.isGraphOutput(name) ? readers[0] : undefined;
  };
  const rank = ctx.typeOf(concat.outputs[0])?.shape?.length;
  if (rank === undefined) return 'rank of the Concat output unknown';
  const axis = (attrInt(concat, 'axis', 0) + rank) % rank;
  const nodes: Node[] = [];
  let split: Node | undefined;
  let expandShape: string | undefined, reshapeShape: string | undefined, unsqueezeUsesInput = false;
  for (let k = 0; k < concat.inputs.length; k++) {
    const reshape = producer.get(concat.inputs[k]);
    if (reshape?.opType !== 'Reshape' || single(reshape.outputs[0]) !== concat) return `input ${k} is not a Reshape read only here`;
    const expand = producer.get(reshape.inputs[0]);
    if (expand?.opType !== 'Expand' || single(expand.outputs[0]) !== reshape) return `input ${k} is not Expand → Reshape`;
    const unsq = producer.get(expand.inputs[0]);
    if (unsq?.opType !== 'Unsqueeze' || single(unsq.outputs[0]) !== expand) return `input ${k} is not Unsqueeze → Expand → Reshape`;
    const piece = producer.get(unsq.inputs[0]);
    if (piece?.opType !== 'Split' || piece.outputs[k] !== unsq.inputs[0] || single(unsq.inputs[0]) !== unsq) return `input ${k} is not piece ${k} of a Split`;
    if (split && piece !== split) return 'pieces come from different Splits';
    split = piece;
    if (k > 0 && !(sameConstant(ctx, expand.inputs[1], expandShape!) && sameConstant(ctx, reshape.inputs[1], reshapeShape!))) return 'pieces are expanded or reshaped differently';
    expandShape = expand.inputs[1];
    reshapeShape = reshape.inputs[1];
    const unsqAxes = unsq.inputs[1] ? ctx.constant(unsq.inputs[1])?.toNumbers() : (unsq.attributes.find((a) => a.name === 'axes')?.value as number[] | undefined);
    if (!unsqAxes || unsqAxes.length !== 1 || (unsqAxes[0] + rank + 1) % (rank + 1) !== axis + 1) return `piece ${k} is not unsqueezed right after the split axis`;
    unsqueezeUsesInput = unsq.inputs.length > 1;
    nodes.push(reshape, expand, unsq);
  }
  if (!split || split.outputs.length !== concat.inputs.length || split.outputs.length < 2) return 'not every Split piece is concatenated';
  if ((attrInt(split, 'axis', 0) + rank) % rank !== axis) return 'split and concat axes differ';
  const sizes = split.inputs[1] ? ctx.constant(split.inputs[1])?.toNumbers() : undefined;
  const n = split.outputs.length;
  if (ctx.typeOf(split.inputs[0])?.shape?.[axis] !== n || (sizes && sizes.some((s) => s !== 1))) return 'pieces are not single heads';
  const e = ctx.constant(expandShape!)?.toNumbers();
  const r = ctx.constant(reshapeShape!)?.toNumbers();
  if (!e || e.length !== rank + 1 || e[axis] !== 1) return 'Expand shape is not a constant that keeps the head axis';
  if (!r || r.length !== rank || r[axis] !== -1 || r.slice(0, axis).some((d) => d !== 0)) return 'Reshape shape does not merge the head and repeat axes';
  return { source: split.inputs[0], axis, expandShape: expandShape!, reshapeShape: reshapeShape!, unsqueezeUsesInput, nodes: [...nodes, split] };
}

/** Same name, or constants with equal values (folding gives each piece its own copy until duplicates merge). */
function sameConstant(ctx: RuleContext, a: string, b: string): boolean {
  if (a === b) return true;
  const [x, y] = [ctx.constant(a)?.toNumbers(), ctx.constant(b)?.toNumbers()];
  return x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i]);
}
