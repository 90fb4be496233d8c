// Data-movement ops (Gather, Concat, Slice, Transpose, Expand, Tile, Split, Pad). They copy element values
// unchanged, so they accept every type with a typed-array form (float16 moves as bit patterns).
import { DataType, type NumericArray } from '../ir/dtype.js';
import { attrFloat, attrInt, attrInts, attrString } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { broadcastShapes } from './broadcast.js';
import { type EvalContext, type Evaluator, allocate, intValues, isMovable, normalizeAxes, normalizeAxis, numericKindOf, scalarOf, sizeOf, stridesOf } from './context.js';

type Scalar = number | bigint;

/** Copies `length` elements between arrays of the same element type. */
function copyRange(dst: NumericArray, at: number, src: NumericArray, from: number, length: number): void {
  // Both arrays come from the same constructor; the cast only picks one signature of set/subarray.
  (dst as Uint8Array).set((src as Uint8Array).subarray(from, from + length), at);
}

/**
 * The shared kernel of Slice, Transpose, Expand, Tile, Split and Pad: output element (i0, i1, ...) reads the
 * source at flat index offsets(0)[i0] + offsets(1)[i1] + ...; a negative offset on any axis means "outside the
 * source" and takes `fill`. Offsets are asked for only once the output is known to fit the limit and be non-empty
 * (an empty output may still have one huge axis); undefined from `axisOffsets` declines the evaluation.
 */
function copyByAxisOffsets(
  ctx: EvalContext, x: Tensor, outDims: readonly number[], axisOffsets: (axis: number) => number[] | undefined, fill: Scalar = 0,
): Tensor | undefined {
  const out = allocate(ctx, x.dataType, outDims);
  if (!out) return undefined;
  if (out.length === 0) return Tensor.fromArray(x.dataType, outDims, out);
  const offsets: number[][] = [];
  for (let a = 0; a < outDims.length; a++) {
    const axis = axisOffsets(a);
    if (!axis) return undefined;
    offsets.push(axis);
  }
  const src = x.toArray() as ArrayLike<Scalar>;
  const dst = out as unknown as { [i: number]: Scalar };
  const rank = outDims.length;
  const counter = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.length; i++) {
    let from = 0;
    let outside = false;
    for (let a = 0; a < rank; a++) {
      const o = offsets[a][counter[a]];
      if (o < 0) outside = true;
      from += o;
    }
    dst[i] = outside ? fill : src[from];
    for (let a = rank - 1; a >= 0 && ++counter[a] === outDims[a]; a--) counter[a] = 0;
  }
  return Tensor.fromArray(x.dataType, outDims, out);
}

/** Offsets that read coordinate `start + i·step` of an axis with `stride`, for i < count. */
const steppedOffsets = (count: number, start: number, step: number, stride: number): number[] =>
  Array.from({ length: count }, (_, i) => (start + i * step) * stride);

/** A zero of the array type `x.toArray()` gives (0n for 64-bit integers). */
function zeroLike(x: Tensor): Scalar {
  return numericKindOf(x.dataType) === 'bigint' ? 0n : 0;
}

// ---------------------------------------------------------------- Gather, Concat

const gather: Evaluator = (ctx) => {
  const [data, indices] = ctx.inputs;
  if (!data || !indices || !isMovable(data.dataType)) return undefined;
  if (indices.dataType !== DataType.INT32 && indices.dataType !== DataType.INT64) return undefined;
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', 0), data.dims.length);
  if (axis === undefined) return undefined;
  const axisDim = data.dims[axis];
  const picks = indices.toNumbers().map((i) => (i < 0 ? i + axisDim : i));
  if (picks.some((i) => !(i >= 0 && i < axisDim))) return undefined;
  const outDims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
  const out = allocate(ctx, data.dataType, outDims);
  if (!out) return undefined;
  const src = data.toArray();
  const outer = sizeOf(data.dims.slice(0, axis));
  const inner = sizeOf(data.dims.slice(axis + 1));
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < picks.length; k++) {
      copyRange(out, (o * picks.length + k) * inner, src, (o * axisDim + picks[k]) * inner, inner);
    }
  }
  return [Tensor.fromArray(data.dataType, outDims, out)];
};

const concat: Evaluator = (ctx) => {
  const parts = ctx.inputs;
  const first = parts[0];
  if (!first || !isMovable(first.dataType) || parts.some((t) => !t || t.dataType !== first.dataType)) return undefined;
  const tensors = parts as readonly Tensor[];
  const rank = first.dims.length;
  // Concat-1 defaulted axis to 1; it is required from opset 4.
  const requested = attrInt(ctx.node, 'axis') ?? (ctx.opset < 4 ? 1 : undefined);
  const axis = requested === undefined ? undefined : normalizeAxis(requested, rank);
  if (axis === undefined) return undefined;
  const sameOffAxis = (t: Tensor): boolean => t.dims.length === rank && t.dims.every((d, i) => i === axis || d === first.dims[i]);
  if (!tensors.every(sameOffAxis)) return undefined;
  const outDims = [...first.dims];
  outDims[axis] = tensors.reduce((s, t) => s + t.dims[axis], 0);
  const out = allocate(ctx, first.dataType, outDims);
  if (!out) return undefined;
  const outer = sizeOf(first.dims.slice(0, axis));
  const inner = sizeOf(first.dims.slice(axis + 1));
  const sources = tensors.map((t) => t.toArray());
  let at = 0;
  for (let o = 0; o < outer; o++) {
    tensors.forEach((t, k) => {
      const chunk = t.dims[axis] * inner;
      copyRange(out, at, sources[k], o * chunk, chunk);
      at += chunk;
    });
  }
  return [Tensor.fromArray(first.dataType, outDims, out)];
};

// ---------------------------------------------------------------- Slice

interface SliceArgs { starts: number[]; ends: number[]; axes?: number[]; steps?: number[] }

/** Slice-1 took starts/ends/axes as attributes; from opset 10 they (and steps) are int32/int64 inputs. */
function sliceArgs(ctx: EvalContext): SliceArgs | undefined {
  if (ctx.opset < 10) {
    const starts = attrInts(ctx.node, 'starts');
    const ends = attrInts(ctx.node, 'ends');
    return starts && ends ? { starts, ends, axes: attrInts(ctx.node, 'axes') } : undefined;
  }
  const [, startsT, endsT, axesT, stepsT] = ctx.inputs;
  const starts = intValues(startsT);
  const ends = intValues(endsT);
  const axes = axesT && intValues(axesT);
  const steps = stepsT && intValues(stepsT);
  if (!starts || !ends || (axesT && !axes) || (stepsT && !steps)) return undefined;
  return { starts, ends, axes, steps };
}

const slice: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  const args = sliceArgs(ctx);
  if (!x || !args || !isMovable(x.dataType)) return undefined;
  const { dims } = x;
  const n = args.starts.length;
  const axes = normalizeAxes(args.axes ?? dims.map((_, i) => i).slice(0, n), dims.length);
  const steps = args.steps ?? new Array<number>(n).fill(1);
  if (!axes || axes.length !== n || args.ends.length !== n || steps.length !== n || steps.includes(0)) return undefined;
  const start = dims.map(() => 0);
  const step = dims.map(() => 1);
  const count = [...dims];
  for (let k = 0; k < n; k++) {
    const a = axes[k];
    const d = dims[a];
    const s = steps[k];
    // INT64_MAX/MIN bounds arrive as ±9.2e18 doubles; they only ever get clamped, so the rounding is harmless.
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const b = s > 0 ? clamp(args.starts[k], 0, d) : clamp(args.starts[k], 0, d - 1);
    const e = s > 0 ? clamp(args.ends[k], 0, d) : clamp(args.ends[k], -1, d - 1);
    start[a] = b;
    step[a] = s;
    count[a] = Math.max(0, Math.ceil((e - b) / s));
  }
  const strides = stridesOf(dims);
  const y = copyByAxisOffsets(ctx, x, count, (a) => steppedOffsets(count[a], start[a], step[a], strides[a]));
  return y && [y];
};

// ---------------------------------------------------------------- Transpose, Expand, Tile

const transpose: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  if (!x || !isMovable(x.dataType)) return undefined;
  const rank = x.dims.length;
  const perm = attrInts(ctx.node, 'perm') ?? x.dims.map((_, i) => rank - 1 - i);
  if (perm.length !== rank || !normalizeAxes(perm, rank) || perm.some((p) => p < 0)) return undefined;
  const strides = stridesOf(x.dims);
  const outDims = perm.map((p) => x.dims[p]);
  const y = copyByAxisOffsets(ctx, x, outDims, (a) => steppedOffsets(outDims[a], 0, 1, strides[perm[a]]));
  return y && [y];
};

const expand: Evaluator = (ctx) => {
  const [x, shapeT] = ctx.inputs;
  const shape = intValues(shapeT);
  if (!x || !shape || shapeT?.dataType !== DataType.INT64 || !isMovable(x.dataType) || shape.some((d) => d < 0)) return undefined;
  const outDims = broadcastShapes([x.dims, shape]);
  if (!outDims) return undefined;
  const lead = outDims.length - x.dims.length;
  const strides = stridesOf(x.dims);
  // Stretched axes (missing or size 1 in x) read the same element at every position.
  const y = copyByAxisOffsets(ctx, x, outDims, (a) => {
    const j = a - lead;
    return steppedOffsets(outDims[a], 0, j >= 0 && x.dims[j] !== 1 ? 1 : 0, j >= 0 ? strides[j] : 0);
  });
  return y && [y];
};

const tile: Evaluator = (ctx) => {
  const [x, repeatsT] = ctx.inputs;
  const repeats = intValues(repeatsT);
  // Tile-1 took (tiles, axis) inputs; only the opset-6 form is evaluated.
  if (ctx.opset < 6 || !x || !repeats || !isMovable(x.dataType)) return undefined;
  if (repeats.length !== x.dims.length || repeats.some((r) => r < 0)) return undefined;
  const strides = stridesOf(x.dims);
  const outDims = x.dims.map((d, a) => d * repeats[a]);
  const y = copyByAxisOffsets(ctx, x, outDims, (a) => Array.from({ length: outDims[a] }, (_, i) => (i % x.dims[a]) * strides[a]));
  return y && [y];
};

// ---------------------------------------------------------------- Split

/** Part sizes along the axis: explicit (attribute before opset 13, input after), num_outputs (18), or equal parts. */
function splitSizes(ctx: EvalContext, dim: number): number[] | undefined {
  const parts = ctx.node.outputs.length;
  const explicit = ctx.opset >= 13
    ? ctx.inputs[1] && intValues(ctx.inputs[1])
    : attrInts(ctx.node, 'split') ?? (ctx.opset < 2 && ctx.inputs[1] ? intValues(ctx.inputs[1]) : undefined);
  if ((ctx.opset >= 13 || ctx.opset < 2) && ctx.inputs[1] && !explicit) return undefined;
  if (explicit) return explicit;
  const numOutputs = ctx.opset >= 18 ? attrInt(ctx.node, 'num_outputs') : undefined;
  if (numOutputs !== undefined) {
    if (numOutputs !== parts || numOutputs < 1) return undefined;
    // Uneven: every part takes ceil(dim / n), the last one what remains.
    const chunk = Math.ceil(dim / numOutputs);
    return [...new Array<number>(numOutputs - 1).fill(chunk), dim - chunk * (numOutputs - 1)];
  }
  return parts > 0 && dim % parts === 0 ? new Array<number>(parts).fill(dim / parts) : undefined;
}

const split: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  if (!x || !isMovable(x.dataType)) return undefined;
  const axis = normalizeAxis(attrInt(ctx.node, 'axis', 0), x.dims.length);
  if (axis === undefined) return undefined;
  const sizes = splitSizes(ctx, x.dims[axis]);
  if (!sizes || sizes.length !== ctx.node.outputs.length || sizes.some((s) => s < 0) || sizes.reduce((a, b) => a + b, 0) !== x.dims[axis]) return undefined;
  const strides = stridesOf(x.dims);
  const outputs: Tensor[] = [];
  let begin = 0;
  for (const size of sizes) {
    const outDims = x.dims.map((d, a) => (a === axis ? size : d));
    const part = copyByAxisOffsets(ctx, x, outDims, (a) => steppedOffsets(outDims[a], a === axis ? begin : 0, 1, strides[a]));
    if (!part) return undefined;
    outputs.push(part);
    begin += size;
  }
  return outputs;
};

// ---------------------------------------------------------------- Pad

interface PadArgs { pads: number[]; axes?: number[]; fill?: Scalar }

/** Pad-1 (`paddings`) and Pad-2 (`pads`, `value`) used attributes; opset 11 made them inputs, 18 added `axes`. */
function padArgs(ctx: EvalContext, x: Tensor): PadArgs | undefined {
  if (ctx.opset < 11) {
    const pads = attrInts(ctx.node, ctx.opset < 2 ? 'paddings' : 'pads');
    // The float `value` attribute only fits the float types Pad-2 accepted.
    return pads && numericKindOf(x.dataType) === 'float' ? { pads, fill: attrFloat(ctx.node, 'value', 0) } : undefined;
  }
  const [, padsT, valueT, axesT] = ctx.inputs;
  const pads = intValues(padsT);
  const axes = axesT && intValues(axesT);
  const fill = valueT && scalarOf(valueT);
  if (!pads || (axesT && (!axes || ctx.opset < 18)) || (valueT && (fill === undefined || valueT.dataType !== x.dataType))) return undefined;
  return { pads, axes, fill };
}

/** Source coordinate for output coordinate `i` of a padded axis; -1 = constant fill; undefined = not evaluated. */
type PadIndexer = (c: number, d: number) => number | undefined;
const PAD_MODES: Readonly<Record<string, PadIndexer>> = {
  constant: () => -1,
  edge: (c, d) => (d === 0 ? undefined : Math.min(Math.max(c, 0), d - 1)),
  // numpy 'reflect' (edge not repeated); a pad wider than d - 1 would reflect more than once, left unevaluated.
  reflect: (c, d) => (c < 0 ? (-c <= d - 1 ? -c : undefined) : 2 * (d - 1) - c >= 0 ? 2 * (d - 1) - c : undefined),
  wrap: (c, d) => (d === 0 ? undefined : ((c % d) + d) % d),
};

const pad: Evaluator = (ctx) => {
  const [x] = ctx.inputs;
  if (!x || !isMovable(x.dataType)) return undefined;
  const args = padArgs(ctx, x);
  const mode = PAD_MODES[attrString(ctx.node, 'mode', 'constant')];
  if (!args || !mode) return undefined;
  const rank = x.dims.length;
  const axes = normalizeAxes(args.axes ?? x.dims.map((_, i) => i), rank);
  if (!axes || args.pads.length !== 2 * axes.length) return undefined;
  const before = new Array<number>(rank).fill(0);
  const after = new Array<number>(rank).fill(0);
  axes.forEach((a, k) => {
    before[a] = args.pads[k];
    after[a] = args.pads[k + axes.length];
  });
  // Negative pads crop; with a non-constant mode it is unclear whether cropping comes before padding.
  if (mode !== PAD_MODES.constant && [...before, ...after].some((p) => p < 0)) return undefined;
  // A zero bit pattern is the default fill; float8e8m0 has no zero, so it needs an explicit value.
  if (args.fill === undefined && x.dataType === DataType.FLOAT8E8M0) return undefined;
  const strides = stridesOf(x.dims);
  const outDims = x.dims.map((d, a) => d + before[a] + after[a]);
  if (outDims.some((d) => d < 0)) return undefined;
  const padOffsets = (a: number): number[] | undefined => {
    const d = x.dims[a];
    const offsets: number[] = [];
    for (let i = 0; i < outDims[a]; i++) {
      const c = i - before[a];
      const source = c >= 0 && c < d ? c : mode(c, d);
      if (source === undefined) return undefined;
      offsets.push(source < 0 ? -1 : source * strides[a]);
    }
    return offsets;
  };
  const fill = args.fill === undefined ? zeroLike(x) : numericKindOf(x.dataType) === 'bigint' ? BigInt(args.fill) : args.fill;
  const y = copyByAxisOffsets(ctx, x, outDims, padOffsets, fill);
  return y && [y];
};

export const MOVEMENT_OPS: Readonly<Record<string, Evaluator>> = {
  Gather: gather,
  Concat: concat,
  Slice: slice,
  Transpose: transpose,
  Expand: expand,
  Tile: tile,
  Split: split,
  Pad: pad,
};
