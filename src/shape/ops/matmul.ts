// Matrix products: MatMul (numpy semantics, batch broadcasting), Gemm, their integer and QLinear forms, Einsum, Det.
import { attrInt, attrString } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type OpRule, type RuleSet, tensorType } from '../context.js';
import { broadcastShapes, unifyDim, type Shape } from '../dims.js';

/** numpy.matmul's result shape: 1-D operands are promoted to matrices, then the promoted axis is dropped. */
export function matmulShape(a: Shape | undefined, b: Shape | undefined): Dim[] | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const left = a.length === 1 ? [1, a[0]] : a;
  const right = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcastShapes([left.slice(0, -2), right.slice(0, -2)]);
  if (!batch) return undefined;
  const out = [...batch];
  if (a.length > 1) out.push(left[left.length - 2]);
  if (b.length > 1) out.push(right[right.length - 1]);
  return out;
}

/** MatMul-like rule over inputs `a` and `b`, with the output type from input `typeFrom` or fixed. */
function matmulRule(a: number, b: number, elemType: (ctx: InferContext) => DataType | undefined): OpRule {
  return { infer: (ctx) => [tensorType(elemType(ctx) ?? DataType.UNDEFINED, matmulShape(ctx.input(a)?.shape, ctx.input(b)?.shape))] };
}

function gemm(ctx: InferContext): Dim[] | undefined {
  const a = ctx.input(0)?.shape;
  const b = ctx.input(1)?.shape;
  if (!a || !b || a.length !== 2 || b.length !== 2) return undefined;
  const m = attrInt(ctx.node, 'transA', 0) ? a[1] : a[0];
  const n = attrInt(ctx.node, 'transB', 0) ? b[0] : b[1];
  return [m, n];
}

/** Einsum's output shape from its equation (explicit or implicit output, with ellipsis broadcasting). */
function einsumShape(ctx: InferContext): Dim[] | undefined {
  const equation = attrString(ctx.node, 'equation')?.replace(/\s/g, '');
  if (!equation) return undefined;
  const [lhs, rhs] = equation.split('->');
  const terms = lhs.split(',');
  const letters = new Map<string, Dim>();
  const counts = new Map<string, number>();
  const ellipses: Shape[] = [];
  for (let i = 0; i < terms.length; i++) {
    const shape = ctx.input(i)?.shape;
    if (!shape) return undefined;
    const [before, after = ''] = terms[i].split('...');
    const hasEllipsis = terms[i].includes('...');
    const named = before.length + after.length;
    if (named > shape.length || (!hasEllipsis && named !== shape.length)) return undefined;
    const ellipsisRank = shape.length - named;
    ellipses.push(shape.slice(before.length, before.length + ellipsisRank));
    const bind = (ch: string, d: Dim): void => {
      // A letter of size 1 in one operand broadcasts against the same letter elsewhere.
      const prev = letters.get(ch);
      if (!letters.has(ch) || prev === 1) letters.set(ch, d);
      else if (d !== 1) letters.set(ch, unifyDim(prev, d));
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
    };
    [...before].forEach((ch, k) => bind(ch, shape[k]));
    [...after].forEach((ch, k) => bind(ch, shape[before.length + ellipsisRank + k]));
  }
  const broadcastEllipsis = broadcastShapes(ellipses) ?? [];
  const output = rhs ?? `...${[...counts].filter(([, c]) => c === 1).map(([ch]) => ch).sort().join('')}`;
  const out: Dim[] = [];
  const [before, after = ''] = output.split('...');
  for (const ch of before) out.push(letters.get(ch));
  if (output.includes('...')) out.push(...broadcastEllipsis);
  for (const ch of after) out.push(letters.get(ch));
  return out;
}

export const matmulRules: RuleSet = {
  MatMul: matmulRule(0, 1, (ctx) => ctx.input(0)?.elemType),
  MatMulInteger: matmulRule(0, 1, () => DataType.INT32),
  // QLinearMatMul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point): y has y_zero_point's type.
  QLinearMatMul: matmulRule(0, 3, (ctx) => ctx.input(7)?.elemType),
  Gemm: { infer: (ctx) => [tensorType(ctx.input(0)?.elemType ?? DataType.UNDEFINED, gemm(ctx))] },
  Einsum: { infer: (ctx) => [tensorType(ctx.input(0)?.elemType ?? DataType.UNDEFINED, einsumShape(ctx))] },
  Det: { infer: (ctx) => [tensorType(ctx.input(0)?.elemType ?? DataType.UNDEFINED, ctx.input(0)?.shape?.slice(0, -2))] },
};
