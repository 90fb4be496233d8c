import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { getAttribute } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { attr } from '../../src/ir/builder.js';
import { withAttributes } from './helpers.js';

const typeNamed = (name: string): DataType | undefined => {
  const t = (DataType as unknown as Record<string, DataType | undefined>)[name.toUpperCase()];
  return typeof t === 'number' && t !== DataType.UNDEFINED ? t : undefined;
};

/** Cast-1 named its target type as a string ("FLOAT"); from opset 6 `to` is the TensorProto.DataType number. */
export const castToEnum = defineRule({
  name: 'opset/cast-to-enum',
  description: 'opset 6: Cast\'s `to` from a type name to a DataType number',
  pattern: op('Cast'),
  check: (m) => {
    const to = getAttribute(m.root, 'to');
    if (to?.type === 'int') return true;
    if (to?.type !== 'string') return 'Cast-1 has no `to` attribute';
    return typeNamed(to.value) !== undefined ? true : `'${to.value}' is not a TensorProto data type`;
  },
  rewrite: (m) => {
    const to = getAttribute(m.root, 'to')!;
    return { nodes: [to.type === 'string' ? withAttributes(m.root, { to: attr.int(typeNamed(to.value)!) }) : m.root] };
  },
});
