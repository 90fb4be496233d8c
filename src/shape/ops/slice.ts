// Ops that cut or grow dims by amounts given as attributes (old opsets) or inputs (newer): Slice, Split, Pad,
// CenterCropPad. Slice also slices values, which is how Shape(x)[1:] style shape arithmetic stays known.
import { attrInt, attrInts } from '../../ir/model.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type RuleSet, type Value, withShape } from '../context.js';
import { addDims, normalizeAxis } from '../dims.js';

interface SliceParams { starts?: Value; ends?: Value; axes?: Value; steps?: Value; axesGiven: boolean }

function sliceParams(ctx: InferContext): SliceParams {
  if (ctx.opset < 10) {
    const axes = attrInts(ctx.node, 'axes');
    return { starts: attrInts(ctx.node, 'starts'), ends: attrInts(ctx.node, 'ends'), axes, axesGiven: axes !== undefined };
  }
  return {
    starts: ctx.value(1), ends: ctx.value(2),
    axes: ctx.hasInput(3) ? ctx.value(3) : undefined, axesGiven: ctx.hasInput(3),
    // Unknown steps: an empty list makes every step unknown rather than the default 1.
    steps: ctx.hasInput(4) ? ctx.value(4) ?? [] : undefined,
  };
}

/** Start index and element count of a slice of `dim` (numpy semantics, clamped). */
function sliceRange(dim: number, start: number, end: number, step: number): [number, number] {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  if (step > 0) {
    const s = clamp(start < 0 ? start + dim : start, 0, dim);
    const e = clamp(end < 0 ? end + dim : end, 0, dim);
    return [s, Math.max(0, Math.ceil((e - s) / step))];
  }
  const s = clamp(start < 0 ? start + dim : start, 0, dim - 1);
  const e = clamp(end < 0 ? end + dim : end, -1, dim - 1);
  return [s, Math.max(0, Math.ceil((s - e) / -step))];
}

/** Length of the slice; a symbolic dim survives a whole-axis slice ([0:N] or [0:INT_MAX]). */
function sliceDim(dim: Dim, start: Dim, end: Dim, step: Dim): Dim {
  if (typeof start !== 'number' || typeof step !== 'number' || step === 0) return undefined;
  if (typeof dim === 'number' && typeof end === 'number') return sliceRange(dim, start, end, step)[1];
  if (step !== 1 || start !== 0) return undefined;
  if (end === dim || (typeof end === 'number' && end >= 2 ** 31 - 1)) return dim;
  // x[:n] with a symbolic n is taken to be in bounds (exporters emit it for tables sliced to a sequence length).
  return typeof end === 'string' && typeof dim === 'number' ? end : undefined;
}

/** Per-axis slices, or undefined when the axes themselves are unknown. */
function slicesOf(p: SliceParams, rank: number): Map<number, [Dim, Dim, Dim]> | undefined {
  if (!p.starts || !p.ends || (p.axesGiven && !p.axes)) return undefined;
  const axes = p.axes ?? p.starts.map((_, i) => i);
  const out = new Map<number, [Dim, Dim, Dim]>();
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i];
    const axis = typeof a === 'number' ? normalizeAxis(a, rank) : undefined;
    if (axis === undefined) return undefined;
    out.set(axis, [p.starts[i], p.ends[i], p.steps ? p.steps[i] : 1]);
  }
  return out;
}

function sliceShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  const slices = slicesOf(sliceParams(ctx), xs.length);
  if (!slices) {
    // Known axes with unknown bounds leave the other dims alone.
    const axes = ctx.opset >= 10 && ctx.hasInput(3) ? ctx.value(3) : undefined;
    const touched = new Set(axes?.map((a) => (typeof a === 'number' ? normalizeAxis(a, xs.length) ?? -1 : -1)));
    return xs.map((d, i) => (axes && !touched.has(-1) && !touched.has(i) ? d : undefined));
  }
  return xs.map((d, i) => {
    const s = slices.get(i);
    return s ? sliceDim(d, ...s) : d;
  });
}

function sliceValue(ctx: InferContext): Value | undefined {
  const v = ctx.value(0);
  if (!v || ctx.input(0)?.shape?.length !== 1) return undefined;
  const s = slicesOf(sliceParams(ctx), 1)?.get(0);
  if (!s || !s.every((x) => typeof x === 'number')) return undefined;
  const [start, end, step] = s as number[];
  if (step === 0) return undefined;
  const [first, count] = sliceRange(v.length, start, end, step);
  return Array.from({ length: count }, (_, k) => v[first + k * step]);
}

/** Sizes of Split's outputs along the axis: explicit sizes, or equal parts (the last smaller, opset 18). */
function splitSizes(ctx: InferContext, dim: Dim): Dim[] {
  const n = ctx.outputCount;
  // Sizes are an input from opset 13 (and in Split-1, which also took them as an optional input).
  const sizesInput = (ctx.opset >= 13 || ctx.opset < 2) && ctx.hasInput(1);
  const explicit = sizesInput ? ctx.value(1) : ctx.opset < 13 ? attrInts(ctx.node, 'split') : undefined;
  if (explicit) return [...explicit];
  if (sizesInput) return new Array(n).fill(undefined);
  if (n === 1) return [dim];
  if (typeof dim !== 'number') return new Array(n).fill(undefined);
  const part = Math.ceil(dim / n);
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(part, dim - part * i)));
}

function padShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  const pads = ctx.opset < 11 ? attrInts(ctx.node, 'pads') ?? attrInts(ctx.node, 'paddings') : ctx.value(1);
  const axesValue = ctx.opset >= 18 && ctx.hasInput(3) ? ctx.value(3) : undefined;
  if (!pads || (ctx.opset >= 18 && ctx.hasInput(3) && !axesValue)) return xs.map(() => undefined);
  const axes = axesValue ? axesValue.map((a) => (typeof a === 'number' ? normalizeAxis(a, xs.length) : undefined)) : xs.map((_, i) => i);
  const out = [...xs];
  axes.forEach((axis, i) => {
    if (axis === undefined) return;
    out[axis] = addDims(addDims(out[axis], pads[i]), pads[i + axes.length]);
  });
  return axes.includes(undefined) ? xs.map(() => undefined) : out;
}

function centerCropPadShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  const target = ctx.value(1);
  if (!xs || !target) return xs?.map(() => undefined);
  const axes = (attrInts(ctx.node, 'axes') ?? xs.map((_, i) => i)).map((a) => normalizeAxis(a, xs.length));
  const out = [...xs];
  axes.forEach((axis, i) => { if (axis !== undefined) out[axis] = target[i]; });
  return out;
}

export const sliceRules: RuleSet = {
  Slice: { infer: (ctx) => [withShape(ctx.input(0), sliceShape(ctx))], value: sliceValue },
  Split: {
    values: (ctx, outs) => {
      const v = ctx.value(0);
      if (!v || ctx.input(0)?.shape?.length !== 1) return [];
      let offset: number | undefined = 0;
      return outs.map((t) => {
        const n = t?.shape?.[0];
        if (typeof n !== 'number' || offset === undefined) return (offset = undefined);
        offset += n;
        return v.slice(offset - n, offset);
      });
    },
    infer: (ctx) => {
      const x = ctx.input(0);
      const xs = x?.shape;
      const axis = xs ? normalizeAxis(attrInt(ctx.node, 'axis', 0), xs.length) : undefined;
      if (!xs || axis === undefined) return new Array(ctx.outputCount).fill(withShape(x, undefined));
      return splitSizes(ctx, xs[axis]).map((size) => withShape(x, xs.map((d, i) => (i === axis ? size : d))));
    },
  },
  Pad: { infer: (ctx) => [withShape(ctx.input(0), padShape(ctx))] },
  CenterCropPad: { infer: (ctx) => [withShape(ctx.input(0), centerCropPadShape(ctx))] },
};
