// Reductions: Reduce* (axes an attribute before opset 13 for ReduceSum and 18 for the rest, an input after),
// ArgMax/ArgMin and TopK.
import { attrInt, attrInts } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type OpRule, type RuleSet, type Value, numbersOf, ruleFor, tensorType, withShape } from '../context.js';
import { normalizeAxis, productOf } from '../dims.js';

/** Shape after reducing `axes` (all axes when undefined), keeping them as 1s or dropping them. */
function reducedShape(xs: readonly Dim[], axes: readonly number[] | undefined, keepdims: boolean): Dim[] | undefined {
  const reduced = new Set(axes ? axes.map((a) => normalizeAxis(a, xs.length)) : xs.map((_, i) => i));
  if (reduced.has(undefined)) return undefined;
  return keepdims ? xs.map((d, i) => (reduced.has(i) ? 1 : d)) : xs.filter((_, i) => !reduced.has(i));
}

function reduceShape(ctx: InferContext, axesInputFrom: number): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  const keepdims = attrInt(ctx.node, 'keepdims', 1) === 1;
  if (ctx.opset < axesInputFrom) return reducedShape(xs, attrInts(ctx.node, 'axes'), keepdims);
  const noop = attrInt(ctx.node, 'noop_with_empty_axes', 0) === 1;
  if (!ctx.hasInput(1)) return noop ? [...xs] : reducedShape(xs, undefined, keepdims);
  const axes = numbersOf(ctx.value(1));
  if (axes) return axes.length === 0 && noop ? [...xs] : reducedShape(xs, axes.length ? axes : undefined, keepdims);
  // Unknown axes: with keepdims the rank stays; without, it drops by the number of axes when that is known.
  const count = ctx.input(1)?.shape?.[0];
  if (keepdims) return xs.map(() => undefined);
  return typeof count === 'number' && count > 0 ? new Array(xs.length - count).fill(undefined) : undefined;
}

/** A reduction of a whole 1-D value to one element (Size-like arithmetic over shapes). */
function reduceValue(f: (v: Value) => Dim) {
  return (ctx: InferContext, out: Parameters<NonNullable<OpRule['value']>>[1]): Value | undefined => {
    const v = ctx.value(0);
    const n = out?.shape?.reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1);
    return v && ctx.input(0)?.shape?.length === 1 && n === 1 ? [f(v)] : undefined;
  };
}

const numeric = (f: (xs: number[]) => number) => (v: Value): Dim => {
  const xs = numbersOf(v);
  return xs ? f(xs) : undefined;
};

const reduce = (axesInputFrom: number, value?: (v: Value) => Dim): OpRule => ({
  infer: (ctx) => [withShape(ctx.input(0), reduceShape(ctx, axesInputFrom))],
  value: value && reduceValue(value),
});

function argShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  return xs && reducedShape(xs, [attrInt(ctx.node, 'axis', 0)], attrInt(ctx.node, 'keepdims', 1) === 1);
}

function topKShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', -1), xs.length);
  const k = ctx.opset < 10 ? attrInt(ctx.node, 'k') : ctx.value(1)?.[0];
  return xs.map((d, i) => (i === axis ? k : d));
}

export const reduceRules: RuleSet = {
  ...ruleFor(['ReduceMean', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'], reduce(18)),
  ReduceSum: reduce(13, numeric((xs) => xs.reduce((a, b) => a + b, 0))),
  ReduceProd: reduce(18, productOf),
  ReduceMax: reduce(18, numeric((xs) => Math.max(...xs))),
  ReduceMin: reduce(18, numeric((xs) => Math.min(...xs))),
  ...ruleFor(['ArgMax', 'ArgMin'], { infer: (ctx) => [tensorType(DataType.INT64, argShape(ctx))] }),
  TopK: {
    infer: (ctx) => {
      const shape = topKShape(ctx);
      return [withShape(ctx.input(0), shape), tensorType(DataType.INT64, shape)];
    },
  },
};
