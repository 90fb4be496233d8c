import type { RangeRule } from '../../../src/quant/placement.js';
import { clipBounds } from '../../../src/quant/placement.js';

/**
 * PACT: a Clip with constant bounds in front of a quantizer sets that quantizer's range — the bounds are what QAT
 * learned as the quantization range, so they replace calibration (and quant/static-remove-clip then drops the Clip
 * when the quantizer saturates to it). A range rule: the placement applies it to every quantizer it places.
 */
export const adoptClipRange: RangeRule = {
  name: 'quant/static-adopt-clip-range',
  ops: ['Clip'],
  range(node, constant, opset) {
    const b = clipBounds(node, constant, opset);
    if (!b || !Number.isFinite(b.min) || !Number.isFinite(b.max) || !(b.max > b.min)) return undefined;
    return { kind: 'clip', min: b.min, max: b.max };
  },
};
