// Fake quantization as a straight-through estimator. DQ(Q(x)) is piecewise constant, so its true gradient is zero
// almost everywhere; quantization-aware training instead passes the gradient straight through wherever x is
// representable, [(qmin - zp)·scale, (qmax - zp)·scale], and blocks it where Q saturates (the clipped STE).
// DequantizeLinear applies the mask, QuantizeLinear (whose integer output carries this gradient) passes it on.
import { DataType } from '../../src/ir/dtype.js';
import { attrInt } from '../../src/ir/model.js';
import { normAxis, range, type GradContext, type GradRule } from './rule.js';

const INTEGER_RANGE: Partial<Record<DataType, readonly [number, number]>> = {
  [DataType.UINT8]: [0, 255], [DataType.INT8]: [-128, 127], [DataType.UINT16]: [0, 65535], [DataType.INT16]: [-32768, 32767],
  [DataType.UINT4]: [0, 15], [DataType.INT4]: [-8, 7],
};

/** A per-axis [C] parameter reshaped to broadcast against x along `axis`; per-tensor ones as they are. */
function alongAxis(ctx: GradContext, p: string, x: string, axis: number): string {
  if (ctx.rank(p) === 0 || ctx.dims(p)?.[0] === 1) return p;
  const r = ctx.rank(x);
  const a = normAxis(axis, r);
  return ctx.unsqueeze(p, [...range(a), ...range(r, a + 1)]);
}

export const dequantizeLinear: GradRule = {
  op: 'DequantizeLinear',
  backward: (ctx) => {
    const [xq, scale, zeroPoint] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const q = ctx.producer(xq);
    if (!q || q.opType !== 'QuantizeLinear') return ctx.fail('the straight-through gradient needs the DequantizeLinear to read a QuantizeLinear');
    if (q.inputs[1] !== scale || (q.inputs[2] ?? '') !== (zeroPoint ?? '') || attrInt(q, 'axis', 1) !== attrInt(ctx.node, 'axis', 1)) {
      ctx.fail('the QuantizeLinear/DequantizeLinear pair must share scale, zero point and axis');
    }
    if (attrInt(ctx.node, 'block_size', 0)) ctx.fail('blocked quantization is not supported');
    const x = q.inputs[0];
    const [qmin, qmax] = INTEGER_RANGE[ctx.dtype(xq)] ?? ctx.fail(`no integer range for ${DataType[ctx.dtype(xq)]}`);
    const axis = attrInt(ctx.node, 'axis', 1);
    const s = alongAxis(ctx, scale, x, axis);
    const zp = zeroPoint ? e.op('Cast', [alongAxis(ctx, zeroPoint, x, axis)], { to: ctx.dtype(x) }) : ctx.scalar(0, x);
    const bound = (level: number): string => e.op('Mul', [e.op('Sub', [ctx.scalar(level, x), zp]), s]);
    const inside = e.op('And', [e.op('GreaterOrEqual', [x, bound(qmin)]), e.op('LessOrEqual', [x, bound(qmax)])]);
    return [e.op('Where', [inside, g, ctx.scalar(0, x)]), undefined, undefined];
  },
};

export const quantizeLinear: GradRule = {
  op: 'QuantizeLinear',
  integerOutputsCarryGradient: true,
  // The DequantizeLinear rule already masked the gradient to the representable range.
  backward: (ctx) => [ctx.grads[0], undefined, undefined],
};

export const quantRules: readonly GradRule[] = [dequantizeLinear, quantizeLinear];
