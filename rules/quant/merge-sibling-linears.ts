import { defineRule, type Rule } from '../../src/rewrite/rule.js';
import { constant, op, v } from '../../src/rewrite/pattern.js';
import type { Node } from '../../src/ir/model.js';
import { biasOf, concatColumns, isWeight, siblings, splitLast } from './merge-sibling-matmuls.js';

/**
 * Linear layers sharing their input (attention's Q, K and V: MatMul + bias Add each) become one MatMul over the
 * weights concatenated by columns, one Add of the concatenated biases, then a Split: after quantization one
 * larger integer GEMM with its bias fused in, instead of three.
 */
export function mergeSiblingLinears(excluded: (node: Node) => boolean): Rule {
  return defineRule({
    name: 'quant/merge-sibling-linears',
    description: 'linear layers sharing their input run as one MatMul + Add + Split',
    pattern: op('Add', [op('MatMul', [v('x'), constant('w', isWeight)], { bind: 'matmul' })]),
    check: (m, ctx) => {
      const matmul = m.nodes.matmul;
      if (biasOf(matmul, ctx)?.add !== m.root) return 'it is not the bias of its MatMul';
      const group = siblings(m.values.x, m.constants.w.dims[0], ctx, excluded);
      if (group.length < 2) return 'no other MatMul with a constant weight reads its input';
      if (group[0] !== matmul) return 'a sibling earlier in the graph leads the merge';
      if (!group.every((n) => biasOf(n, ctx))) return 'not every sibling adds a bias';
      return true;
    },
    rewrite: (m, b, ctx) => {
      const group = siblings(m.values.x, m.constants.w.dims[0], ctx, excluded);
      const biases = group.map((n) => biasOf(n, ctx)!);
      const weights = group.map((n) => ctx.constant(n.inputs[1])!);
      const product = b.node('MatMul', [m.values.x, b.constant(concatColumns(weights), `${m.values.w}_merged`)]);
      const sum = b.node('Add', [product.outputs[0], b.constant(concatColumns(biases.map((x) => x.bias)), `${biases[0].name}_merged`)]);
      const outputs = biases.map((x, i) => (i === 0 ? x.add.outputs[0] : b.fresh(x.add.outputs[0])));
      const split = splitLast(b, ctx, sum.outputs[0], weights.map((w) => w.dims[1]), outputs, m.values.w);
      return {
        nodes: [product.node, sum.node, split.node],
        replace: Object.fromEntries(biases.slice(1).map((x, i) => [x.add.outputs[0], outputs[i + 1]])),
        subsumes: [...group.slice(1), ...biases.slice(1).map((x) => x.add)],
      };
    },
  });
}
