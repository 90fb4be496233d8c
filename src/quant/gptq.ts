// GPTQ (Frantar et al., 2022) for block-wise 4-bit MatMul weights [K, N]: rows of W (input dimensions) are
// quantized in order, and each row's rounding error is spread over the rows not yet quantized through the
// inverse Hessian of the layer's inputs (H = Σ xᵀx over calibration tokens), minimizing the output error
// ‖XW − XŴ‖² rather than the weight error. Block scales are taken from the error-updated rows when a block
// starts, as GPTQ's group-wise variant does. Codes and scales use the same scheme as round-to-nearest.
import { type BlockQuantized, blockScale, codeOf } from './blockwise.js';
import { choleskyInPlace } from '../linalg/cholesky.js';

export interface GptqOptions {
  readonly blockSize: number;
  readonly symmetric: boolean;
  /** Dampening added to H's diagonal, relative to its mean (the paper's 1%). */
  readonly damp?: number;
}

/** The upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU), with dampening raised until H is positive definite. */
function inverseHessianFactor(hessian: Float64Array, k: number, damp: number): Float64Array {
  let mean = 0;
  for (let i = 0; i < k; i++) mean += hessian[i * k + i];
  mean = mean / k || 1;
  for (let attempt = 0; attempt < 8; attempt++, damp *= 10) {
    const l = Float64Array.from(hessian);
    for (let i = 0; i < k; i++) l[i * k + i] += damp * mean;
    if (!choleskyInPlace(l, k)) continue;
    // L⁻¹ by forward substitution, then H⁻¹ = L⁻ᵀ L⁻¹.
    const inv = new Float64Array(k * k);
    for (let c = 0; c < k; c++) {
      for (let i = c; i < k; i++) {
        let s = i === c ? 1 : 0;
        for (let p = c; p < i; p++) s -= l[i * k + p] * inv[p * k + c];
        inv[i * k + c] = s / l[i * k + i];
      }
    }
    const hinv = new Float64Array(k * k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let p = i; p < k; p++) s += inv[p * k + i] * inv[p * k + j];
        hinv[i * k + j] = s;
        hinv[j * k + i] = s;
      }
    }
    if (!choleskyInPlace(hinv, k)) continue;
    // Transpose the lower factor into U.
    const u = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) u[j * k + i] = hinv[i * k + j];
    return u;
  }
  throw new Error('GPTQ: the input Hessian is not positive definite even with strong dampening');
}

export function gptqBlockwise4(weight: Float32Array, k: number, n: number, hessian: Float64Array, options: GptqOptions): BlockQuantized {
  const { blockSize, symmetric } = options;
  if (hessian.length !== k * k) throw new Error(`GPTQ: Hessian has ${hessian.length} entries, expected ${k}×${k}`);
  const w = Float64Array.from(weight);
  const h = Float64Array.from(hessian);
  // Inputs that were always zero carry no information: their weights do not matter.
  for (let i = 0; i < k; i++) {
    if (h[i * k + i] === 0) {
      h[i * k + i] = 1;
      w.fill(0, i * n, (i + 1) * n);
    }
  }
  const u = inverseHessianFactor(h, k, options.damp ?? 0.01);
  const blocks = Math.ceil(k / blockSize);
  const codes = new Uint8Array(k * n);
  const scales = new Float32Array(blocks * n);
  const zeroPoints = new Uint8Array(blocks * n);
  const dequantized = new Float32Array(k * n);
  const recips = new Float32Array(n);
  const err = new Float64Array(n);
  for (let b = 0; b < blocks; b++) {
    const k0 = b * blockSize, k1 = Math.min(k0 + blockSize, k);
    for (let c = 0; c < n; c++) {
      // As round-to-nearest does: a partial last block counts its zero padding.
      let min = k1 - k0 < blockSize ? 0 : Infinity, max = k1 - k0 < blockSize ? 0 : -Infinity;
      for (let r = k0; r < k1; r++) {
        const v = Math.fround(w[r * n + c]);
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const p = blockScale(min, max, symmetric);
      scales[b * n + c] = p.scale;
      zeroPoints[b * n + c] = p.zeroPoint;
      recips[c] = p.scale !== 0 ? 1 / p.scale : 0;
    }
    for (let r = k0; r < k1; r++) {
      const d = u[r * k + r];
      for (let c = 0; c < n; c++) {
        const zp = zeroPoints[b * n + c];
        const value = w[r * n + c];
        const code = codeOf(value, recips[c], zp);
        const q = (code - zp) * scales[b * n + c];
        codes[r * n + c] = code;
        dequantized[r * n + c] = q;
        err[c] = (value - q) / d;
      }
      // Spread this row's error over the rows still to come.
      for (let j = r + 1; j < k; j++) {
        const f = u[r * k + j];
        if (f === 0) continue;
        const row = j * n;
        for (let c = 0; c < n; c++) w[row + c] -= f * err[c];
      }
    }
  }
  return { k, n, blockSize, blocks, symmetric, codes, scales, zeroPoints, dequantized };
}
