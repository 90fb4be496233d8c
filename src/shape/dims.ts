// Arithmetic on dimensions. A Dim is a size, a symbol (kept as is: 'N' stays 'N'), or unknown. Symbols only
// survive operations that provably keep them (N*1, N+0, broadcasting N with 1 or N); anything else is unknown.
import type { Dim } from '../ir/types.js';

export type Shape = readonly Dim[];

export const isStatic = (d: Dim): d is number => typeof d === 'number';

/** A shape whose every dimension is a known size. */
export const isStaticShape = (s: Shape | undefined): s is readonly number[] => s !== undefined && s.every(isStatic);

/** Two dims that must agree (e.g. both sides of a Concat's non-axis dims): the more informative one. */
export function unifyDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return a ?? b;
}

/** Numpy broadcasting of two dims; undefined where the result depends on an unknown. */
export function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === b) return a;
  // A static size other than 1 fixes the result: the symbol must be 1 or equal to it.
  if (typeof a === 'number' && typeof b === 'string') return a;
  if (typeof b === 'number' && typeof a === 'string') return b;
  return undefined;
}

/** Multidirectional broadcasting of any number of shapes; undefined if some rank is unknown. */
export function broadcastShapes(shapes: readonly (Shape | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(0, ...shapes.map((s) => s!.length));
  const out: Dim[] = new Array(rank).fill(1);
  for (const s of shapes as Shape[]) {
    const offset = rank - s.length;
    s.forEach((d, i) => { out[offset + i] = broadcastDim(out[offset + i], d); });
  }
  return out;
}

/** `axis` in [-rank, rank) as a non-negative index; undefined when out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : undefined;
}

export function addDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  return undefined;
}

export function subDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (b === 0) return a;
  if (a !== undefined && a === b) return 0;
  return undefined;
}

export function mulDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === 0 || b === 0) return 0;
  return undefined;
}

/** Exact division only: a symbol divided by 1 or by itself, or sizes that divide evenly. */
export function divDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return b !== 0 && a % b === 0 ? a / b : undefined;
  if (b === 1) return a;
  if (a !== undefined && a === b) return 1;
  return undefined;
}

/** Product of dims; a single symbol times ones stays that symbol. */
export function productOf(dims: Shape): Dim {
  return dims.reduce<Dim>((acc, d) => mulDims(acc, d), 1);
}

/**
 * `numerator / denominator` as products of dims, cancelling equal symbols first. Used by Reshape's -1:
 * [N,12,64] → [N,-1] gives 768, [N,768] → [-1,12,64] gives N.
 */
export function divideProducts(numerator: Shape, denominator: Shape): Dim {
  const symbols = (s: Shape): string[] => s.filter((d): d is string => typeof d === 'string');
  if (numerator.some((d) => d === undefined) || denominator.some((d) => d === undefined)) return undefined;
  const num = symbols(numerator);
  for (const s of symbols(denominator)) {
    const i = num.indexOf(s);
    if (i < 0) return undefined;
    num.splice(i, 1);
  }
  const n = numerator.reduce<number>((acc, d) => (typeof d === 'number' ? acc * d : acc), 1);
  const m = denominator.reduce<number>((acc, d) => (typeof d === 'number' ? acc * d : acc), 1);
  if (m === 0 || n % m !== 0) return undefined;
  const ratio = n / m;
  if (num.length === 0) return ratio;
  return num.length === 1 && ratio === 1 ? num[0] : undefined;
}

/** Output length of a windowed op (conv, pool) along one axis, for explicit pads. */
export function windowOutput(size: Dim, kernel: Dim, stride: number, dilation: number, padBegin: number, padEnd: number, ceil = false): Dim {
  if (typeof size !== 'number' || typeof kernel !== 'number') return undefined;
  const effectiveKernel = (kernel - 1) * dilation + 1;
  const span = size + padBegin + padEnd - effectiveKernel;
  if (span < 0) return undefined;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // With ceil_mode, a last window that would start inside the end padding is dropped (as PyTorch and onnxruntime do).
  if (ceil && (out - 1) * stride >= size + padBegin) out--;
  return out;
}
