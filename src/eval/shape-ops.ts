// Ops that read or rewrite shapes without moving data (Shape, Size, Reshape, Squeeze, Unsqueeze, Flatten,
// Identity) and ops that generate tensors from shape-like inputs (ConstantOfShape, Range).
import { DataType } from '../ir/dtype.js';
import { attrInt, attrInts, attrTensor } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { type Evaluator, allocate, axesFrom, intValues, isMovable, normalizeAxes, numericKindOf, scalarOf, sizeOf } from './context.js';

/** The same values under new dims, sharing storage (the input's proto leftovers such as its name are dropped). */
function withDims(t: Tensor, dims: readonly number[]): Tensor | undefined {
  if (!isMovable(t.dataType) || sizeOf(dims) !== t.size) return undefined;
  return new Tensor(t.dataType, dims, t.storage);
}

const int64Vector = (values: readonly number[]): Tensor =>
  Tensor.fromArray(DataType.INT64, [values.length], BigInt64Array.from(values, (v) => BigInt(v)));

const shape: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  if (!x) return undefined;
  const rank = x.dims.length;
  // Shape-15 slices the shape with start/end, clamping to [0, rank] after adding rank to negatives.
  const bound = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = ctx.opset >= 15 ? bound(attrInt(ctx.node, 'start', 0)) : 0;
  const end = ctx.opset >= 15 ? bound(attrInt(ctx.node, 'end', rank)) : rank;
  return [int64Vector(x.dims.slice(start, Math.max(start, end)))];
};

const size: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  return x && [Tensor.scalar(DataType.INT64, x.size)];
};

const identity: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  const y = x && withDims(x, x.dims);
  return y && [y];
};

/** Reshape's target dims: 0 copies the input dim (unless allowzero), one -1 takes what is left. */
export function reshapeDims(inDims: readonly number[], requested: readonly number[], allowZero: boolean): number[] | undefined {
  if (allowZero && requested.includes(0) && requested.includes(-1)) return undefined;
  let inferred = -1;
  const dims: number[] = [];
  for (let i = 0; i < requested.length; i++) {
    const r = requested[i];
    if (r === -1) {
      if (inferred >= 0) return undefined;
      inferred = i;
      dims.push(1);
    } else if (r === 0 && !allowZero) {
      if (i >= inDims.length) return undefined;
      dims.push(inDims[i]);
    } else if (r >= 0 && Number.isSafeInteger(r)) {
      dims.push(r);
    } else {
      return undefined;
    }
  }
  const total = sizeOf(inDims);
  if (inferred >= 0) {
    const known = sizeOf(dims);
    if (known === 0 || total % known !== 0) return undefined;
    dims[inferred] = total / known;
  }
  return sizeOf(dims) === total ? dims : undefined;
}

const reshape: Evaluator = (ctx) => {
  const [x, shapeInput] = ctx.inputs;
  // Reshape-1 took the shape as an attribute; allowzero arrived in opset 14.
  const requested = ctx.opset < 5 ? attrInts(ctx.node, 'shape') : intValues(shapeInput);
  if (!x || !requested || (ctx.opset >= 5 && shapeInput?.dataType !== DataType.INT64)) return undefined;
  const dims = reshapeDims(x.dims, requested, ctx.opset >= 14 && attrInt(ctx.node, 'allowzero', 0) === 1);
  const y = dims && withDims(x, dims);
  return y && [y];
};

const squeeze: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  const { present, axes } = axesFrom(ctx, 13);
  if (!x || (present && !axes)) return undefined;
  const rank = x.dims.length;
  // An empty axes input reads as "squeeze nothing" or "squeeze all": only evaluated where both agree.
  if (axes?.length === 0 && x.dims.includes(1)) return undefined;
  // Without axes every size-1 dim goes; a listed axis must have size 1.
  const drop = axes ? normalizeAxes(axes, rank) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
  if (!drop || drop.some((a) => x.dims[a] !== 1)) return undefined;
  const y = withDims(x, x.dims.filter((_, i) => !drop.includes(i)));
  return y && [y];
};

const unsqueeze: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  const { axes } = axesFrom(ctx, 13);
  if (!x || !axes) return undefined;
  // Axes count in the output's rank.
  const outRank = x.dims.length + axes.length;
  const inserted = normalizeAxes(axes, outRank);
  if (!inserted) return undefined;
  const dims: number[] = [];
  let next = 0;
  for (let i = 0; i < outRank; i++) dims.push(inserted.includes(i) ? 1 : x.dims[next++]);
  const y = withDims(x, dims);
  return y && [y];
};

const flatten: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  if (!x) return undefined;
  const rank = x.dims.length;
  // Unlike most axes, Flatten's may equal rank (everything goes to the outer dim): the range is [-rank, rank].
  const requested = attrInt(ctx.node, 'axis', 1);
  if (requested < -rank || requested > rank) return undefined;
  const axis = requested < 0 ? requested + rank : requested;
  const y = withDims(x, [sizeOf(x.dims.slice(0, axis)), sizeOf(x.dims.slice(axis))]);
  return y && [y];
};

const constantOfShape: Evaluator = (ctx) => {
  const [shapeInput] = ctx.inputs;
  const dims = intValues(shapeInput);
  if (!dims || shapeInput?.dataType !== DataType.INT64 || dims.some((d) => d < 0)) return undefined;
  const value = attrTensor(ctx.node, 'value') ?? Tensor.scalar(DataType.FLOAT, 0);
  const fill = scalarOf(value);
  const out = allocate(ctx, value.dataType, dims);
  if (fill === undefined || !out) return undefined;
  (out as { fill(v: number | bigint): unknown }).fill(fill);
  return [Tensor.fromArray(value.dataType, dims, out)];
};

// ---------------------------------------------------------------- Range

/** Integer Range: count = ceil((limit - start) / delta), computed exactly. */
function integerRangeCount(start: bigint, limit: bigint, delta: bigint): bigint {
  const span = limit - start;
  let count = span / delta;
  if (span % delta !== 0n && (span < 0n) === (delta < 0n)) count += 1n;
  return count > 0n ? count : 0n;
}

/**
 * Float Range. The spec's formula (start + i·delta) and its function body (repeated += delta) round differently,
 * and runtimes pick either; the result is given only when both agree on every element and on the count.
 */
function floatRangeValues(start: number, limit: number, delta: number, round: (v: number) => number, maxCount: number): number[] | undefined {
  if (!Number.isFinite(start) || !Number.isFinite(limit) || !Number.isFinite(delta) || delta === 0) return undefined;
  const exactCount = Math.max(Math.ceil((limit - start) / delta), 0);
  const roundedCount = Math.max(Math.ceil(round(round(limit - start) / delta)), 0);
  if (exactCount !== roundedCount || exactCount > maxCount) return undefined;
  const values: number[] = [];
  let accumulated = start;
  for (let i = 0; i < exactCount; i++) {
    const direct = round(start + round(i * delta));
    if (direct !== accumulated) return undefined;
    values.push(direct);
    accumulated = round(accumulated + delta);
  }
  return values;
}

const range: Evaluator = (ctx) => {
  const [startT, limitT, deltaT] = ctx.inputs;
  const t = startT?.dataType;
  if (t === undefined || limitT?.dataType !== t || deltaT?.dataType !== t) return undefined;
  const [start, limit, delta] = [scalarOf(startT), scalarOf(limitT), scalarOf(deltaT)];
  if (start === undefined || limit === undefined || delta === undefined) return undefined;
  const kind = numericKindOf(t);
  if (kind === 'float') {
    const round = t === DataType.FLOAT ? Math.fround : (v: number) => v;
    const values = floatRangeValues(start as number, limit as number, delta as number, round, Math.min(ctx.maxElements, 2 ** 32));
    const out = values && allocate(ctx, t, [values.length]);
    if (!out) return undefined;
    (out as Float32Array | Float64Array).set(values!);
    return [Tensor.fromArray(t, [out.length], out)];
  }
  if (kind !== 'int' && kind !== 'bigint') return undefined;
  const [s, l, d] = [BigInt(start), BigInt(limit), BigInt(delta)];
  if (d === 0n) return undefined;
  const count = integerRangeCount(s, l, d);
  if (count > BigInt(Math.min(ctx.maxElements, Number.MAX_SAFE_INTEGER))) return undefined;
  const out = allocate(ctx, t, [Number(count)]);
  if (!out) return undefined;
  for (let i = 0; i < out.length; i++) {
    const v = s + BigInt(i) * d;
    (out as unknown as { [i: number]: number | bigint })[i] = kind === 'bigint' ? v : Number(v);
  }
  return [Tensor.fromArray(t, [out.length], out)];
};

export const SHAPE_OPS: Readonly<Record<string, Evaluator>> = {
  Shape: shape,
  Size: size,
  Identity: identity,
  Reshape: reshape,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Flatten: flatten,
  ConstantOfShape: constantOfShape,
  Range: range,
};
