// Indexing ops: Gather (with value propagation: Shape(x)[i]), GatherElements, GatherND, the Scatter family,
// Compress and OneHot.
import { attrInt } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type RuleSet, type Value, numbersOf, sameAs, tensorType, withShape } from '../context.js';
import { normalizeAxis } from '../dims.js';

function gatherShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  const is = ctx.input(1)?.shape;
  if (!xs || !is) return undefined;
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', 0), xs.length);
  if (axis === undefined) return undefined;
  return [...xs.slice(0, axis), ...is, ...xs.slice(axis + 1)];
}

function gatherValue(ctx: InferContext): Value | undefined {
  const data = ctx.value(0);
  const indices = numbersOf(ctx.value(1));
  if (!data || !indices || ctx.input(0)?.shape?.length !== 1) return undefined;
  return indices.map((i) => data[i < 0 ? i + data.length : i]);
}

/** GatherND: data[:b] + indices[b:-1] + data[b + indices[-1]:]. */
function gatherNDShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  const is = ctx.input(1)?.shape;
  if (!xs || !is || is.length === 0) return undefined;
  const b = attrInt(ctx.node, 'batch_dims', 0);
  const last = is[is.length - 1];
  if (typeof last !== 'number') return undefined;
  return [...xs.slice(0, b), ...is.slice(b, -1), ...xs.slice(b + last)];
}

/** Compress keeps as many slices as the condition has true entries (counted when the condition is constant). */
function compressShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  const cond = ctx.value(1);
  const axisAttr = attrInt(ctx.node, 'axis');
  const count = (limit: Dim): Dim => {
    if (!cond || typeof limit !== 'number' || cond.some((c) => typeof c !== 'number')) return undefined;
    return cond.slice(0, limit).filter((c) => c !== 0).length;
  };
  if (axisAttr === undefined) {
    const total = xs?.every((d) => typeof d === 'number') ? xs.reduce<number>((a, d) => a * (d as number), 1) : undefined;
    return [count(total)];
  }
  if (!xs) return undefined;
  const axis = normalizeAxis(axisAttr, xs.length);
  return xs.map((d, i) => (i === axis ? count(d) : d));
}

function oneHotShape(ctx: InferContext): Dim[] | undefined {
  const is = ctx.input(0)?.shape;
  if (!is) return undefined;
  const depth = ctx.value(1);
  const d = depth?.length === 1 && typeof depth[0] === 'number' ? Math.trunc(depth[0]) : undefined;
  const rank = is.length + 1;
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', -1), rank);
  if (axis === undefined) return undefined;
  return [...is.slice(0, axis), d, ...is.slice(axis)];
}

export const gatherRules: RuleSet = {
  Gather: { infer: (ctx) => [withShape(ctx.input(0), gatherShape(ctx))], value: gatherValue },
  GatherElements: { infer: (ctx) => [withShape(ctx.input(0), ctx.input(1)?.shape)] },
  GatherND: { infer: (ctx) => [withShape(ctx.input(0), gatherNDShape(ctx))] },
  Scatter: sameAs(0),
  ScatterElements: sameAs(0),
  ScatterND: sameAs(0),
  Compress: { infer: (ctx) => [withShape(ctx.input(0), compressShape(ctx))] },
  OneHot: { infer: (ctx) => [tensorType(ctx.input(2)?.elemType ?? DataType.UNDEFINED, oneHotShape(ctx))] },
};
