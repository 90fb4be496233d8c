import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrFloat } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { FLOAT_TYPES, floatScalar, withInputs, withoutAttributes } from './helpers.js';

const FLT_MAX = 3.4028234663852886e38;

/**
 * Clip-11 takes min/max as optional scalar inputs of the input's type. Clip-6's defaults were float32's
 * lowest()/max(); Clip-11's are the input type's, which differ for double and float16 — so for those types both
 * bounds are written explicitly.
 */
export const clipAttrsToInputs = defineRule({
  name: 'opset/clip-attrs-to-inputs',
  description: 'opset 11: Clip\'s min/max attributes to scalar inputs',
  pattern: op('Clip'),
  check: (m, ctx) => {
    const t = ctx.typeOf(m.root.inputs[0])?.elemType;
    if (t === undefined || t === DataType.UNDEFINED) return 'the element type of its input is unknown (the bounds must have it)';
    return FLOAT_TYPES.has(t) ? true : `Clip-6 does not take ${DataType[t]} inputs`;
  },
  rewrite: (m, b, ctx) => {
    const t = ctx.typeOf(m.root.inputs[0])!.elemType;
    let lo = attrFloat(m.root, 'min'), hi = attrFloat(m.root, 'max');
    if (t !== DataType.FLOAT) { lo ??= -FLT_MAX; hi ??= FLT_MAX; }
    const name = m.root.name || 'clip';
    const min = lo === undefined ? '' : b.constant(floatScalar(t, lo), `${name}_min`);
    const max = hi === undefined ? '' : b.constant(floatScalar(t, hi), `${name}_max`);
    return { nodes: [withInputs(withoutAttributes(m.root, 'min', 'max'), [m.root.inputs[0], min, max])] };
  },
});
