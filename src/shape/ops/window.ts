// Spatial output sizes of windowed ops (Conv, pools), shared by their rules: kernel, strides, dilations, pads,
// auto_pad and ceil_mode read the same way everywhere.
import { attrInt, attrInts, attrString, type Node } from '../../ir/model.js';
import type { Dim } from '../../ir/types.js';
import { type Shape, windowOutput } from '../dims.js';

/** Output spatial dims for input spatial dims `spatial` under the node's window attributes. */
export function windowedShape(node: Node, spatial: Shape, kernel: readonly Dim[], options: { ceil?: boolean } = {}): Dim[] {
  const n = spatial.length;
  const strides = attrInts(node, 'strides') ?? new Array(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array(n).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array(2 * n).fill(0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const ceil = options.ceil ?? attrInt(node, 'ceil_mode', 0) === 1;
  return spatial.map((size, i) => {
    const k = kernel[i];
    const s = strides[i] ?? 1;
    const d = dilations[i] ?? 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      if (typeof size === 'number') return Math.ceil(size / s);
      return s === 1 ? size : undefined;
    }
    const [begin, end] = autoPad === 'VALID' ? [0, 0] : [pads[i] ?? 0, pads[i + n] ?? 0];
    // A 1-wide, unit-stride, unpadded window keeps even a symbolic size.
    if (typeof size === 'string') return k === 1 && s === 1 && begin + end === 0 ? size : undefined;
    // VALID's formula is ceil((in - k_eff + 1) / s), the floor form, whatever ceil_mode says.
    return windowOutput(size, k, s, d, begin, end, ceil && autoPad !== 'VALID');
  });
}
