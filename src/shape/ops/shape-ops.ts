// Ops that make or read shapes: Shape, Size, Concat, Constant, ConstantOfShape, Range, NonZero. These carry the
// values that symbolic shape arithmetic propagates (Shape(x) is x's dims, symbols included).
import { attrInt, attrTensor } from '../../ir/model.js';
import { constantNodeValue } from '../../ir/analysis.js';
import { DataType } from '../../ir/dtype.js';
import type { ProtoMessage } from '../../proto/codec.js';
import type { Dim, TensorType } from '../../ir/types.js';
import { type InferContext, type RuleSet, type Value, numbersOf, tensorType } from '../context.js';
import { tensorValue } from '../constants.js';
import { addDims, normalizeAxis, productOf, unifyDim } from '../dims.js';

/** The [start, end) range of dims that Shape reports (start/end attributes from opset 15). */
function shapeRange(ctx: InferContext, rank: number): [number, number] {
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  return [clamp(attrInt(ctx.node, 'start', 0)), clamp(attrInt(ctx.node, 'end', rank))];
}

function concatShape(ctx: InferContext): Dim[] | undefined {
  const shapes = Array.from({ length: ctx.inputCount }, (_, i) => (ctx.hasInput(i) ? ctx.input(i)?.shape : []));
  const known = shapes.find((s) => s !== undefined && s.length > 0);
  if (!known) return undefined;
  // Concat-1's axis was optional, defaulting to 1.
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', ctx.opset < 4 ? 1 : 0), known.length);
  if (axis === undefined) return undefined;
  return known.map((_, i) => {
    if (i === axis) return shapes.reduce<Dim>((sum, s) => (s && s.length === known.length ? addDims(sum, s[i]) : undefined), 0);
    return shapes.reduce<Dim>((d, s) => (s && s.length === known.length ? unifyDim(d, s[i]) : d), undefined);
  });
}

function concatValue(ctx: InferContext): Value | undefined {
  const out: Dim[] = [];
  for (let i = 0; i < ctx.inputCount; i++) {
    const v = ctx.value(i);
    if (!v || ctx.input(i)?.shape?.length !== 1) return undefined;
    out.push(...v);
  }
  return out;
}

/** Constant nodes: the numeric forms through `constantNodeValue`, strings and sparse values read here. */
function constantType(ctx: InferContext): TensorType | undefined {
  const t = constantNodeValue(ctx.node);
  if (t) return tensorType(t.dataType, t.dims);
  const a = ctx.node.attributes[0];
  if (a?.name === 'value_string') return tensorType(DataType.STRING, []);
  if (a?.name === 'value_strings' && a.type === 'strings') return tensorType(DataType.STRING, [a.value.length]);
  if (a?.name === 'sparse_value' && a.type === 'proto') {
    const sparse = a.value;
    const values = sparse.values as ProtoMessage | undefined;
    const dims = (sparse.dims as (number | bigint)[] | undefined) ?? [];
    return tensorType((values?.data_type as number | undefined) ?? DataType.UNDEFINED, dims.map(Number));
  }
  return undefined;
}

function constantOfShapeType(ctx: InferContext): TensorType {
  const fill = attrTensor(ctx.node, 'value');
  const target = ctx.value(0);
  const length = ctx.input(0)?.shape?.[0];
  const shape = target ? [...target] : typeof length === 'number' ? new Array(length).fill(undefined) : undefined;
  return tensorType(fill?.dataType ?? DataType.FLOAT, shape);
}

function rangeCount(ctx: InferContext): number | undefined {
  const [start, limit, delta] = [0, 1, 2].map((i) => numbersOf(ctx.value(i))?.[0]);
  if (start === undefined || limit === undefined || delta === undefined || delta === 0) return undefined;
  return Math.max(Math.ceil((limit - start) / delta), 0);
}

export const shapeOpRules: RuleSet = {
  Shape: {
    infer: (ctx) => {
      const xs = ctx.input(0)?.shape;
      if (!xs) return [tensorType(DataType.INT64, [undefined])];
      const [start, end] = shapeRange(ctx, xs.length);
      return [tensorType(DataType.INT64, [Math.max(0, end - start)])];
    },
    value: (ctx) => {
      const xs = ctx.input(0)?.shape;
      if (!xs) return undefined;
      const [start, end] = shapeRange(ctx, xs.length);
      return xs.slice(start, end);
    },
  },
  Size: {
    infer: () => [tensorType(DataType.INT64, [])],
    value: (ctx) => {
      const xs = ctx.input(0)?.shape;
      return xs ? [productOf(xs)] : undefined;
    },
  },
  Concat: { infer: (ctx) => [tensorType(ctx.input(0)?.elemType ?? DataType.UNDEFINED, concatShape(ctx))], value: concatValue },
  Constant: { infer: (ctx) => [constantType(ctx)] },
  ConstantOfShape: {
    infer: (ctx) => [constantOfShapeType(ctx)],
    value: (ctx, out) => {
      const n = out?.shape && numbersOf(out.shape as Value)?.reduce((a, b) => a * b, 1);
      const fill = attrTensor(ctx.node, 'value');
      return n === undefined ? undefined : new Array(n).fill(fill ? tensorValue(fill)?.[0] : 0);
    },
  },
  Range: {
    infer: (ctx) => [tensorType(ctx.input(0)?.elemType ?? DataType.UNDEFINED, [rangeCount(ctx)])],
    value: (ctx) => {
      const n = rangeCount(ctx);
      const [start, , delta] = [0, 1, 2].map((i) => numbersOf(ctx.value(i))?.[0] ?? 0);
      return n === undefined ? undefined : Array.from({ length: n }, (_, k) => start + k * delta);
    },
  },
  // Data-dependent count of non-zero entries.
  NonZero: { infer: (ctx) => [tensorType(DataType.INT64, [ctx.input(0)?.shape?.length, undefined])] },
};
