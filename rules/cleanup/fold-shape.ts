import { defineRule } from '../../src/rewrite/rule.js';
import { op, v } from '../../src/rewrite/pattern.js';
import { attrInt } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';

/** Shape(x) and Size(x) of a value whose shape is fully static become constants. */
export const foldShape = defineRule({
  name: 'cleanup/fold-shape',
  description: 'Shape/Size of a statically shaped value become constants',
  pattern: op(['Shape', 'Size'], [v('x')]),
  check: (m, ctx) => {
    const shape = ctx.typeOf(m.values.x)?.shape;
    if (!shape) return 'the rank of its input is unknown';
    if (!shape.every((d) => typeof d === 'number')) return `its input's shape [${shape.map((d) => d ?? '?')}] is not static`;
    return true;
  },
  rewrite: (m, _b, ctx) => {
    const shape = ctx.typeOf(m.values.x)!.shape as number[];
    const out = m.root.outputs[0];
    if (m.root.opType === 'Size') {
      return { initializers: new Map([[out, Tensor.scalar(DataType.INT64, shape.reduce((a, b) => a * b, 1))]]) };
    }
    // Opset 15 added start/end (negative counts from the back, clamped).
    const rank = shape.length;
    const clamp = (i: number): number => Math.min(Math.max(i < 0 ? i + rank : i, 0), rank);
    const dims = shape.slice(clamp(attrInt(m.root, 'start', 0)), clamp(attrInt(m.root, 'end', rank)));
    return { initializers: new Map([[out, Tensor.fromArray(DataType.INT64, [dims.length], BigInt64Array.from(dims, BigInt))]]) };
  },
});
