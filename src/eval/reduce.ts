// ReduceSum/Prod/Min/Max. Integers are combined exactly (BigInt) and the result must fit the type: on overflow
// runtimes disagree (onnxruntime saturates an int32 ReduceProd, a loop in C would wrap). Floats are combined in
// row-major order and rounded at every step, and given only when no order could change the bits (float-order.ts).
import { DataType } from '../ir/dtype.js';
import { attrInt } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { type EvalContext, type Evaluator, allocate, axesFrom, integerRange, normalizeAxes, numericKindOf, sizeOf, stridesOf } from './context.js';
import { extremeIsOrderIndependent, productIsOrderIndependent, sumIsOrderIndependent } from './float-order.js';

type Scalar = number | bigint;

interface Reduction {
  /** Opset from which `axes` is an input (and noop_with_empty_axes exists). */
  readonly axesInputSince: number;
  readonly allowsBool: boolean;
  /** One step, on two numbers or two bigints. */
  readonly combine: (acc: Scalar, v: Scalar) => Scalar;
  /** Result of reducing nothing. */
  readonly empty: (t: DataType) => number | bigint;
  /** For float values: whether every order of combining them gives the same bits. */
  readonly orderIndependent: (values: ArrayLike<number>, t: DataType) => boolean;
}

/** The far ends of a type's values: ±Infinity for floats, the integer range otherwise. */
function typeRange(t: DataType): readonly [number | bigint, number | bigint] {
  return integerRange(t) ?? [-Infinity, Infinity];
}

const add = (a: Scalar, v: Scalar): Scalar => (a as number) + (v as number); // number + number or bigint + bigint
const multiply = (a: Scalar, v: Scalar): Scalar => (a as number) * (v as number);
// numpy's minimum/maximum: NaN propagates, and of equal values (0, -0) the running one is kept.
const pickMin = (a: Scalar, v: Scalar): Scalar => (a <= v || a !== a ? a : v);
const pickMax = (a: Scalar, v: Scalar): Scalar => (a >= v || a !== a ? a : v);

const REDUCTIONS: Readonly<Record<string, Reduction>> = {
  ReduceSum: { axesInputSince: 13, allowsBool: false, combine: add, empty: () => 0, orderIndependent: sumIsOrderIndependent },
  ReduceProd: { axesInputSince: 18, allowsBool: false, combine: multiply, empty: () => 1, orderIndependent: productIsOrderIndependent },
  // Reducing nothing gives the type's far end: +Inf / the highest value for Min, -Inf / the lowest for Max.
  ReduceMin: { axesInputSince: 18, allowsBool: true, combine: pickMin, empty: (t) => typeRange(t)[1], orderIndependent: extremeIsOrderIndependent },
  ReduceMax: { axesInputSince: 18, allowsBool: true, combine: pickMax, empty: (t) => typeRange(t)[0], orderIndependent: extremeIsOrderIndependent },
};

function reduce(reduction: Reduction, ctx: EvalContext): Tensor[] | undefined {
  const [x] = ctx.inputs;
  if (!x) return undefined;
  const kind = numericKindOf(x.dataType);
  if (!kind || (kind === 'bool' && !reduction.allowsBool)) return undefined;
  const rank = x.dims.length;
  const { present, axes: requested } = axesFrom(ctx, reduction.axesInputSince);
  if (present && !requested) return undefined;
  const noopWhenEmpty = ctx.opset >= reduction.axesInputSince && attrInt(ctx.node, 'noop_with_empty_axes', 0) === 1;
  if (!requested?.length && noopWhenEmpty) return [new Tensor(x.dataType, x.dims, x.storage)];
  const axes = requested?.length ? normalizeAxes(requested, rank) : x.dims.map((_, i) => i);
  if (!axes) return undefined;
  const reduced = x.dims.map((_, i) => axes.includes(i));
  const reducedDims = x.dims.map((d, i) => (reduced[i] ? 1 : d));
  const outDims = attrInt(ctx.node, 'keepdims', 1) === 1 ? reducedDims : x.dims.filter((_, i) => !reduced[i]);
  const out = allocate(ctx, x.dataType, outDims);
  if (!out) return undefined;
  const src = x.toArray() as ArrayLike<Scalar>;
  // Two elements combine the same either way; from three on, a float result may depend on the order.
  const groupSize = sizeOf(x.dims.filter((_, i) => reduced[i]));
  if (kind === 'float' && groupSize > 2 && !reduction.orderIndependent(src as ArrayLike<number>, x.dataType)) return undefined;

  const isFloat = kind === 'float';
  // Floats round to the element type at every step; integers stay exact until the final range check.
  const round = x.dataType === DataType.FLOAT ? Math.fround : (v: number) => v;
  const step = isFloat
    ? (acc: Scalar, v: Scalar): Scalar => round(reduction.combine(acc, v) as number)
    : (acc: Scalar, v: Scalar): Scalar => reduction.combine(acc, BigInt(v));
  const empty = reduction.empty(x.dataType);
  const acc: Scalar[] = new Array<Scalar>(out.length).fill(isFloat ? Number(empty) : BigInt(empty));
  const started = new Uint8Array(out.length);
  const outStrides = stridesOf(reducedDims).map((s, a) => (reduced[a] ? 0 : s));
  const counter = new Array<number>(rank).fill(0);
  for (let i = 0; i < src.length; i++) {
    let o = 0;
    for (let a = 0; a < rank; a++) o += counter[a] * outStrides[a];
    // Start from the first element rather than an identity: a sum of -0s stays -0.
    acc[o] = started[o] ? step(acc[o], src[i]) : isFloat ? src[i] : BigInt(src[i]);
    started[o] = 1;
    for (let a = rank - 1; a >= 0 && ++counter[a] === x.dims[a]; a--) counter[a] = 0;
  }
  const [lowest, highest] = typeRange(x.dataType);
  const dst = out as unknown as { [i: number]: Scalar };
  for (let i = 0; i < out.length; i++) {
    const v = acc[i];
    if (isFloat) dst[i] = v;
    else if (v < lowest || v > highest) return undefined;
    else dst[i] = kind === 'bigint' ? v : Number(v);
  }
  return [Tensor.fromArray(x.dataType, outDims, out)];
}

export const REDUCE_OPS: Readonly<Record<string, Evaluator>> = Object.fromEntries(
  Object.entries(REDUCTIONS).map(([op, reduction]) => [op, (ctx: EvalContext) => reduce(reduction, ctx)]),
);
