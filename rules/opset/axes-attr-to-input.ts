import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { intsInput, intsOf, withInputs, withoutAttributes } from './helpers.js';

/** Squeeze/Unsqueeze/ReduceSum (opset 13) and the other reductions (opset 18) take axes as an input. */
export const AXES_INPUT_OPS = [
  'Squeeze', 'Unsqueeze', 'ReduceSum', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax',
  'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare',
] as const;

/**
 * axes attribute → int64 input. No (or an empty) axes attribute means "all axes" (reductions) or "every 1-dim"
 * (Squeeze); an omitted input means the same (noop_with_empty_axes defaults to 0).
 */
export const axesAttrToInput = defineRule({
  name: 'opset/axes-attr-to-input',
  description: 'opset 13 (Squeeze, Unsqueeze, ReduceSum) / 18 (other reductions): axes attribute to an input',
  pattern: op(AXES_INPUT_OPS),
  check: (m) => (m.root.opType === 'Unsqueeze' && !intsOf(m.root, 'axes')?.length ? 'Unsqueeze without axes' : true),
  rewrite: (m, b) => {
    const axes = intsOf(m.root, 'axes');
    const plain = withoutAttributes(m.root, 'axes');
    if (!axes?.length) return { nodes: [plain] };
    return { nodes: [withInputs(plain, [m.root.inputs[0], intsInput(b, m.root, axes, 'axes')])] };
  },
});
