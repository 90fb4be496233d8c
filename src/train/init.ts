// Seeded weight initialization for models built from scratch: the same seed gives the same weights everywhere.
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';

/** Standard normal draws from a uniform generator (Box-Muller, both values used). */
export function normalSampler(next: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) { const s = spare; spare = undefined; return s; }
    const u = 1 - next(), v = next(); // u in (0, 1]: log(u) is finite
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** He (Kaiming) normal: N(0, 2 / fanIn), for layers followed by ReLU. */
export function heNormal(dims: readonly number[], fanIn: number, normal: () => number): Tensor {
  const std = Math.sqrt(2 / fanIn);
  const n = dims.reduce((a, b) => a * b, 1);
  return Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from({ length: n }, () => std * normal()));
}

export function zeros(dims: readonly number[]): Tensor {
  return Tensor.fromArray(DataType.FLOAT, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)));
}
