// Numpy-style (multidirectional) broadcasting, plus the pre-opset-7 `broadcast`/`axis` form of binary ops.
import { attrInt, type Node } from '../ir/model.js';
import { sizeOf, stridesOf } from './context.js';

/** The broadcast result shape of `shapes` (right-aligned; a dim of 1 stretches), or undefined when they clash. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    const offset = rank - shape.length;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i];
      const o = out[offset + i];
      if (d === o || d === 1) continue;
      if (o !== 1) return undefined;
      out[offset + i] = d;
    }
  }
  return out;
}

/**
 * For each element of an `outDims` tensor (row-major), the flat index it reads in a tensor of `inDims` broadcast
 * to `outDims`. Undefined means "the same index" (no broadcasting needed).
 */
export function broadcastSourceIndex(inDims: readonly number[], outDims: readonly number[]): Uint32Array | undefined {
  if (inDims.length === outDims.length && inDims.every((d, i) => d === outDims[i])) return undefined;
  const rank = outDims.length;
  const inStrides = stridesOf(inDims);
  // Stride 0 along stretched (size-1 or missing) dims: every output position there reads the same element.
  const strides = outDims.map((_, i) => {
    const j = i - (rank - inDims.length);
    return j >= 0 && inDims[j] !== 1 ? inStrides[j] : 0;
  });
  const count = sizeOf(outDims);
  const map = new Uint32Array(count);
  const counter = new Array<number>(rank).fill(0);
  let src = 0;
  for (let i = 0; i < count; i++) {
    map[i] = src;
    // Odometer step: bump the last axis, carrying into earlier ones.
    for (let a = rank - 1; a >= 0; a--) {
      counter[a]++;
      src += strides[a];
      if (counter[a] < outDims[a]) break;
      src -= strides[a] * counter[a];
      counter[a] = 0;
    }
  }
  return map;
}

/**
 * Input shapes as numpy broadcasting should see them. From opset 7 that is the shapes themselves. Before, binary
 * ops broadcast only when `broadcast=1`, and then B alone is stretched onto A, aligned at `axis` (default: suffix).
 * Undefined when the legacy rules reject the shapes.
 */
export function alignLegacyBroadcast(node: Node, opset: number, a: readonly number[], b: readonly number[]): [readonly number[], readonly number[]] | undefined {
  if (opset >= 7) return [a, b];
  if (attrInt(node, 'broadcast', 0) !== 1) {
    return a.length === b.length && a.every((d, i) => d === b[i]) ? [a, b] : undefined;
  }
  const axis = attrInt(node, 'axis');
  let aligned = b;
  if (axis !== undefined) {
    const start = axis < 0 ? axis + a.length : axis;
    const trailing = a.length - start - b.length;
    if (start < 0 || trailing < 0) return undefined;
    aligned = [...b, ...new Array<number>(trailing).fill(1)];
  }
  const out = broadcastShapes([a, aligned]);
  // Only B may stretch: the result must keep A's shape.
  if (!out || out.length !== a.length || out.some((d, i) => d !== a[i])) return undefined;
  return [a, aligned];
}
