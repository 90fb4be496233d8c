import { defineRule, type Rule } from '../../src/rewrite/rule.js';
import { constant, op, v } from '../../src/rewrite/pattern.js';
import { DataType } from '../../src/ir/dtype.js';
import type { Node } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { RuleContext } from '../../src/rewrite/rule.js';

const isWeight = (t: Tensor | undefined): t is Tensor => !!t && t.dataType === DataType.FLOAT && t.dims.length === 2;

/** MatMuls reading `x` as their left input with a constant float [K, N] weight, in graph order. */
function siblings(x: string, k: number, ctx: RuleContext, excluded: (n: Node) => boolean): Node[] {
  return ctx.consumers(x).filter((n) => n.opType === 'MatMul' && n.domain === '' && n.inputs[0] === x && !excluded(n) &&
    // Live only: merged-away siblings linger, unread, until dead code goes.
    n.outputs.every((o) => !ctx.isGraphOutput(o) && ctx.consumers(o).length > 0) && ctx.constant(n.inputs[1])?.dims[0] === k && isWeight(ctx.constant(n.inputs[1])));
}

/**
 * MatMuls that share their input (attention's Q, K and V projections) become one MatMul over the weights
 * concatenated by columns, then a Split: one larger integer GEMM instead of several after quantization.
 */
export function mergeSiblingMatMuls(excluded: (node: Node) => boolean): Rule {
  return defineRule({
    name: 'quant/merge-sibling-matmuls',
    description: 'MatMuls sharing their input run as one MatMul + Split',
    pattern: op('MatMul', [v('x'), constant('w', isWeight)]),
    check: (m, ctx) => {
      const group = siblings(m.values.x, m.constants.w.dims[0], ctx, excluded);
      if (group.length < 2) return 'no other MatMul with a constant weight reads its input';
      if (group[0] !== m.root) return 'a sibling earlier in the graph leads the merge';
      return true;
    },
    rewrite: (m, b, ctx) => {
      const group = siblings(m.values.x, m.constants.w.dims[0], ctx, excluded);
      const weights = group.map((n) => ctx.constant(n.inputs[1])!);
      const k = weights[0].dims[0];
      const widths = weights.map((w) => w.dims[1]);
      const total = widths.reduce((a, c) => a + c, 0);
      const merged = new Float32Array(k * total);
      let col = 0;
      for (const w of weights) {
        const values = w.toFloat32();
        const n = w.dims[1];
        for (let r = 0; r < k; r++) merged.set(values.subarray(r * n, (r + 1) * n), r * total + col);
        col += n;
      }
      const product = b.node('MatMul', [m.values.x, b.constant(Tensor.fromArray(DataType.FLOAT, [k, total], merged), `${m.values.w}_merged`)]);
      const outputs = group.map((n, i) => (i === 0 ? n.outputs[0] : b.fresh(n.outputs[0])));
      const sizes = Tensor.fromArray(DataType.INT64, [widths.length], BigInt64Array.from(widths, BigInt));
      const split = (ctx.opset() ?? 0) >= 13
        ? b.node('Split', [product.outputs[0], b.constant(sizes, `${m.values.w}_split`)], { axis: -1 }, { outputs })
        : b.node('Split', [product.outputs[0]], { axis: -1, split: widths }, { outputs });
      return {
        nodes: [product.node, split.node],
        replace: Object.fromEntries(group.slice(1).map((n, i) => [n.outputs[0], outputs[i + 1]])),
      };
    },
  });
}
