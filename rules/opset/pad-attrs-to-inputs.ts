import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrFloat } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { FLOAT_TYPES, floatScalar, intsInput, intsOf, withInputs, withoutAttributes } from './helpers.js';

/** Pad-11 takes pads (int64) and the constant value (a scalar of the input's type) as inputs. */
export const padAttrsToInputs = defineRule({
  name: 'opset/pad-attrs-to-inputs',
  description: 'opset 11: Pad\'s pads/value attributes to inputs',
  pattern: op('Pad'),
  check: (m, ctx) => {
    if (!intsOf(m.root, 'pads')) return 'Pad-2 without pads';
    const value = attrFloat(m.root, 'value');
    if (value === undefined || Object.is(value, 0)) return true;
    const t = ctx.typeOf(m.root.inputs[0])?.elemType;
    if (t === undefined || t === DataType.UNDEFINED) return 'the element type of its input is unknown (the pad value must have it)';
    return FLOAT_TYPES.has(t) ? true : `Pad-2 does not take ${DataType[t]} inputs`;
  },
  rewrite: (m, b, ctx) => {
    const n = m.root;
    const pads = intsInput(b, n, intsOf(n, 'pads')!, 'pads');
    const value = attrFloat(n, 'value');
    // 0 is the default constant value; -0.0 is not bitwise 0, so it is kept.
    const constant = value === undefined || Object.is(value, 0) ? ''
      : b.constant(floatScalar(ctx.typeOf(n.inputs[0])!.elemType, value), `${n.name || 'pad'}_value`);
    return { nodes: [withInputs(withoutAttributes(n, 'pads', 'value'), [n.inputs[0], pads, constant])] };
  },
});
