import { defineRule, type Rule } from '../../src/rewrite/rule.js';
import { constant, op, v } from '../../src/rewrite/pattern.js';
import { DataType } from '../../src/ir/dtype.js';
import type { Node } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { RewriteBuilder, RuleContext } from '../../src/rewrite/rule.js';

export const isWeight = (t: Tensor | undefined): t is Tensor => !!t && t.dataType === DataType.FLOAT && t.dims.length === 2;

/** MatMuls reading `x` as their left input with a constant float [K, N] weight, in graph order. */
export function siblings(x: string, k: number, ctx: RuleContext, excluded: (n: Node) => boolean): Node[] {
  return ctx.consumers(x).filter((n) => n.opType === 'MatMul' && n.domain === '' && n.inputs[0] === x && !excluded(n) &&
    n.outputs.every((o) => !ctx.isGraphOutput(o)) && ctx.constant(n.inputs[1])?.dims[0] === k && isWeight(ctx.constant(n.inputs[1])));
}

/** The constant 1-D bias [N] added to a MatMul's output by its only reader, if that is what happens next. */
export function biasOf(matmul: Node, ctx: RuleContext): { add: Node; bias: Tensor; name: string } | undefined {
  const y = matmul.outputs[0];
  const readers = ctx.consumers(y);
  if (readers.length !== 1 || ctx.isGraphOutput(y)) return undefined;
  const add = readers[0];
  if (add.opType !== 'Add' || add.domain !== '' || ctx.isGraphOutput(add.outputs[0])) return undefined;
  const name = add.inputs[0] === y ? add.inputs[1] : add.inputs[0];
  const bias = ctx.constant(name);
  const n = ctx.constant(matmul.inputs[1])!.dims[1];
  return bias && bias.dataType === DataType.FLOAT && bias.dims.length === 1 && bias.dims[0] === n ? { add, bias, name } : undefined;
}

/** [K, N1] ... [K, Nn] → [K, ΣN] (1-D biases: concatenated). */
export function concatColumns(tensors: readonly Tensor[]): Tensor {
  const rows = tensors[0].dims.length === 2 ? tensors[0].dims[0] : 1;
  const widths = tensors.map((t) => t.dims[t.dims.length - 1]);
  const total = widths.reduce((a, c) => a + c, 0);
  const out = new Float32Array(rows * total);
  let col = 0;
  tensors.forEach((t, i) => {
    const values = t.toFloat32();
    for (let r = 0; r < rows; r++) out.set(values.subarray(r * widths[i], (r + 1) * widths[i]), r * total + col);
    col += widths[i];
  });
  return Tensor.fromArray(DataType.FLOAT, tensors[0].dims.length === 2 ? [rows, total] : [total], out);
}

/** Split along the last axis into `widths`, named `outputs` (split sizes an input from opset 13). */
export function splitLast(b: RewriteBuilder, ctx: RuleContext, value: string, widths: readonly number[], outputs: readonly string[], hint: string) {
  const sizes = Tensor.fromArray(DataType.INT64, [widths.length], BigInt64Array.from(widths, BigInt));
  return (ctx.opset() ?? 0) >= 13
    ? b.node('Split', [value, b.constant(sizes, `${hint}_split`)], { axis: -1 }, { outputs })
    : b.node('Split', [value], { axis: -1, split: [...widths] }, { outputs });
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
      if (group.every((n) => biasOf(n, ctx))) return 'every sibling adds a bias: quant/merge-sibling-linears merges them with it';
      return true;
    },
    rewrite: (m, b, ctx) => {
      const group = siblings(m.values.x, m.constants.w.dims[0], ctx, excluded);
      const weights = group.map((n) => ctx.constant(n.inputs[1])!);
      const widths = weights.map((w) => w.dims[1]);
      const product = b.node('MatMul', [m.values.x, b.constant(concatColumns(weights), `${m.values.w}_merged`)]);
      const outputs = group.map((n, i) => (i === 0 ? n.outputs[0] : b.fresh(n.outputs[0])));
      const split = splitLast(b, ctx, product.outputs[0], widths, outputs, m.values.w);
      return {
        nodes: [product.node, split.node],
        replace: Object.fromEntries(group.slice(1).map((n, i) => [n.outputs[0], outputs[i + 1]])),
        subsumes: group.slice(1),
      };
    },
  });
}
