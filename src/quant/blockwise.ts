// Block-wise 4-bit weight quantization of a MatMul weight [K, N] along K, by round-to-nearest (RTN), in the two
// layouts onnxruntime runs: com.microsoft.MatMulNBits and opset-21 blocked DequantizeLinear → MatMul.
// The arithmetic mirrors onnxruntime's MLAS quantizer (q4_dq.cpp, what matmul_nbits_quantizer.py calls), so the
// bytes match what onnxruntime's own tool writes for MatMulNBits. The DequantizeLinear layout reuses the same codes;
// onnxruntime's QDQ path rounds roundf(w / s) + zp rather than roundf(w / s + zp), so it can differ on exact ties.
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';

export interface BlockwiseOptions {
  /** Elements of K per scale: a power of two ≥ 16 (MatMulNBits' requirement), usually 32, 64 or 128. */
  readonly blockSize: number;
  /**
   * Symmetric: no zero point (8 implied); scale = -m / 8 where m is the block's value of largest magnitude, so m maps
   * to code 0 (int4 -8) exactly and the other sign gets codes up to 15 (int4 7). Asymmetric: the block's range
   * (widened to include 0) spread over codes 0..15 with a per-block zero point.
   */
  readonly symmetric: boolean;
}

/** One RTN quantization of a [K, N] weight; both layouts below are views of it. */
export interface BlockQuantized {
  readonly k: number;
  readonly n: number;
  readonly blockSize: number;
  /** ceil(K / blockSize). */
  readonly blocks: number;
  readonly symmetric: boolean;
  /** Unsigned codes 0..15, [K, N] row-major; the weight is (code - zeroPoint) * scale. */
  readonly codes: Uint8Array;
  /** [blocks, N] row-major; negative where the symmetric scheme's largest-magnitude value is positive. */
  readonly scales: Float32Array;
  /** [blocks, N] row-major, 0..15; 8 everywhere when symmetric. */
  readonly zeroPoints: Uint8Array;
  /** (code - zeroPoint) * scale in float32, [K, N]: what both layouts dequantize to. */
  readonly dequantized: Float32Array;
}

/** C's roundf: half away from zero (MLAS rounds codes this way, not half to even). Exact for every double. */
function roundHalfAway(x: number): number {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

/** A block's scale and zero point from its value range, as MLAS computes them (float32 throughout). */
export function blockScale(min: number, max: number, symmetric: boolean): { scale: number; zeroPoint: number } {
  if (symmetric) {
    // MLAS range2scale: the value of largest magnitude, with its sign, maps to -8.
    const m = Math.abs(max) > Math.abs(min) ? max : min;
    return { scale: Math.fround(-m / 8), zeroPoint: 8 };
  }
  // MLAS range2scalezp.
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = Math.fround(Math.fround(hi - lo) / 15);
  const zpf = scale !== 0 ? Math.fround(0 - Math.fround(lo / scale)) : lo;
  return { scale, zeroPoint: zpf < 0 ? 0 : zpf > 15 ? 15 : roundHalfAway(zpf) };
}

/** The 4-bit code of `value` given 1/scale and the zero point. */
export function codeOf(value: number, recip: number, zp: number): number {
  const x = Math.fround(Math.fround(value * recip) + zp);
  // Clamped first (same result, the bounds being integers), x ≥ 0 rounds half away as floor(x + 0.5),
  // which is exact for float32 x. NaN → the zero point.
  return x > 0 ? Math.floor((x < 15 ? x : 15) + 0.5) : x <= 0 ? 0 : zp;
}

export function quantizeBlockwise4(weight: Float32Array, k: number, n: number, options: BlockwiseOptions): BlockQuantized {
  const { blockSize, symmetric } = options;
  if (!(blockSize >= 16 && (blockSize & (blockSize - 1)) === 0)) throw new Error(`block size ${blockSize} is not a power of two ≥ 16`);
  if (weight.length !== k * n) throw new Error(`${weight.length} weights for [${k}, ${n}]`);
  const blocks = Math.ceil(k / blockSize);
  const codes = new Uint8Array(k * n);
  const scales = new Float32Array(blocks * n);
  const zeroPoints = new Uint8Array(blocks * n);
  const dequantized = new Float32Array(k * n);
  const mins = new Float64Array(n), maxs = new Float64Array(n), recips = new Float32Array(n);
  for (let b = 0; b < blocks; b++) {
    const k0 = b * blockSize, k1 = Math.min(k0 + blockSize, k);
    mins.fill(Infinity);
    maxs.fill(-Infinity);
    // Rows beyond K are zero padding (onnxruntime pads before quantizing): they widen the range to include 0.
    if (k1 - k0 < blockSize) { mins.fill(0); maxs.fill(0); }
    for (let r = k0; r < k1; r++) {
      const row = r * n;
      for (let c = 0; c < n; c++) {
        const v = weight[row + c];
        if (v < mins[c]) mins[c] = v;
        if (v > maxs[c]) maxs[c] = v;
      }
    }
    const pb = b * n;
    for (let c = 0; c < n; c++) {
      const { scale, zeroPoint } = blockScale(mins[c], maxs[c], symmetric);
      scales[pb + c] = scale;
      zeroPoints[pb + c] = zeroPoint;
      recips[c] = scale !== 0 ? 1 / scale : 0;
    }
    for (let r = k0; r < k1; r++) {
      const row = r * n;
      for (let c = 0; c < n; c++) {
        const zp = zeroPoints[pb + c];
        const code = codeOf(weight[row + c], recips[c], zp);
        codes[row + c] = code;
        dequantized[row + c] = (code - zp) * scales[pb + c];
      }
    }
  }
  return { k, n, blockSize, blocks, symmetric, codes, scales, zeroPoints, dequantized };
}

/** Inputs and attributes of a com.microsoft.MatMulNBits node (opset import { domain: 'com.microsoft', version: 1 }). */
export interface MatMulNBitsWeights {
  /** uint8 [N, blocks, blockSize / 2]: column n's codes along K, two per byte, low nibble first; K padded with the zero point. */
  readonly B: Tensor;
  /** float [N, blocks]. */
  readonly scales: Tensor;
  /** uint8 [N, ceil(blocks / 2)], packed like B (a last odd nibble is 8); absent when symmetric (8 implied). */
  readonly zeroPoints?: Tensor;
  readonly attributes: { readonly K: number; readonly N: number; readonly bits: 4; readonly block_size: number };
}

export function toMatMulNBits(q: BlockQuantized): MatMulNBitsWeights {
  const { k, n, blockSize, blocks } = q;
  const blob = blockSize / 2;
  const B = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  for (let c = 0; c < n; c++) {
    for (let b = 0; b < blocks; b++) {
      const zp = q.zeroPoints[b * n + c];
      scales[c * blocks + b] = q.scales[b * n + c];
      const out = (c * blocks + b) * blob;
      for (let j = 0; j < blob; j++) {
        const r = b * blockSize + 2 * j;
        const lo = r < k ? q.codes[r * n + c] : zp;
        const hi = r + 1 < k ? q.codes[(r + 1) * n + c] : zp;
        B[out + j] = lo | (hi << 4);
      }
    }
  }
  const attributes = { K: k, N: n, bits: 4, block_size: blockSize } as const;
  const result = {
    B: Tensor.fromArray(DataType.UINT8, [n, blocks, blob], B),
    scales: Tensor.fromArray(DataType.FLOAT, [n, blocks], scales),
    attributes,
  };
  if (q.symmetric) return result;
  const perColumn = Math.ceil(blocks / 2);
  const zeroPoints = new Uint8Array(n * perColumn);
  for (let c = 0; c < n; c++) {
    for (let b = 0; b < blocks; b += 2) {
      const hi = b + 1 < blocks ? q.zeroPoints[(b + 1) * n + c] : 8;
      zeroPoints[c * perColumn + b / 2] = q.zeroPoints[b * n + c] | (hi << 4);
    }
  }
  return { ...result, zeroPoints: Tensor.fromArray(DataType.UINT8, [n, perColumn], zeroPoints) };
}

/** Inputs and attributes of an opset-21 DequantizeLinear whose output feeds MatMul as B. */
export interface BlockedDequantizeWeights {
  /** [K, N]: int4 (code - 8) when symmetric, else uint4 codes. */
  readonly weight: Tensor;
  /** float [blocks, N]. */
  readonly scale: Tensor;
  /** uint4 [blocks, N]; absent when symmetric (int4 with zero point 0). */
  readonly zeroPoint?: Tensor;
  readonly attributes: { readonly axis: 0; readonly block_size: number };
}

export function toBlockedDequantizeLinear(q: BlockQuantized): BlockedDequantizeWeights {
  const { k, n, blocks } = q;
  const attributes = { axis: 0, block_size: q.blockSize } as const;
  const scale = Tensor.fromArray(DataType.FLOAT, [blocks, n], q.scales);
  if (!q.symmetric) {
    return {
      weight: Tensor.fromArray(DataType.UINT4, [k, n], q.codes), scale,
      zeroPoint: Tensor.fromArray(DataType.UINT4, [blocks, n], q.zeroPoints), attributes,
    };
  }
  const signed = new Int8Array(k * n);
  for (let i = 0; i < signed.length; i++) signed[i] = q.codes[i] - 8;
  return { weight: Tensor.fromArray(DataType.INT4, [k, n], signed), scale, attributes };
}
