import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { withoutAttributes } from './helpers.js';

/** The ops whose version 1 carried `consumed_inputs`, removed in opset 6. */
export const CONSUMED_INPUTS_OPS = [
  'Abs', 'Add', 'BatchNormalization', 'Ceil', 'Clip', 'Div', 'Dropout', 'Elu', 'Exp', 'Floor', 'HardSigmoid',
  'InstanceNormalization', 'LeakyRelu', 'Log', 'Max', 'Mean', 'Min', 'Mul', 'Neg', 'PRelu', 'Reciprocal', 'Relu',
  'Selu', 'Sigmoid', 'Sqrt', 'Sub', 'Sum', 'Tanh',
] as const;

/** consumed_inputs was an in-place hint for Caffe2; it never changed results. */
export const removeConsumedInputs = defineRule({
  name: 'opset/remove-consumed-inputs',
  description: 'opset 6: drop the legacy consumed_inputs attribute',
  pattern: op(CONSUMED_INPUTS_OPS),
  rewrite: (m) => ({ nodes: [withoutAttributes(m.root, 'consumed_inputs')] }),
});
