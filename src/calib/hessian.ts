// Σ xᵀx over the rows of a layer's input (the GPTQ Hessian, up to a constant), accumulated batch by batch.
import type { ValueSink } from './collect.js';

export class HessianAccumulator implements ValueSink {
  private readonly upper: Float64Array;
  rows = 0;

  constructor(readonly k: number) {
    this.upper = new Float64Array(k * k);
  }

  observe(values: Float32Array): void {
    const k = this.k;
    if (values.length % k !== 0) throw new Error(`a layer input of ${values.length} values is not rows of ${k}`);
    const h = this.upper;
    for (let off = 0; off < values.length; off += k) {
      for (let i = 0; i < k; i++) {
        const xi = values[off + i];
        if (xi === 0) continue;
        const row = i * k;
        for (let j = i; j < k; j++) h[row + j] += xi * values[off + j];
      }
    }
    this.rows += values.length / k;
  }

  /** The symmetric k×k matrix (2/rows)·Σ xᵀx. */
  hessian(): Float64Array {
    const k = this.k;
    const out = new Float64Array(k * k);
    const scale = this.rows ? 2 / this.rows : 0;
    for (let i = 0; i < k; i++) {
      for (let j = i; j < k; j++) {
        const v = this.upper[i * k + j] * scale;
        out[i * k + j] = v;
        out[j * k + i] = v;
      }
    }
    return out;
  }
}
