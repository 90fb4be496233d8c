import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrFloat } from '../../src/ir/model.js';
import { float32Tensor, withInputs, withoutAttributes } from './helpers.js';

/**
 * Dropout-12 takes ratio (and training_mode, default false) as inputs. Inference Dropout ignores the ratio; it is
 * kept as an input so the model still says what it was trained with.
 */
export const dropoutRatioToInput = defineRule({
  name: 'opset/dropout-ratio-to-input',
  description: 'opset 12: Dropout\'s ratio attribute to an input',
  pattern: op('Dropout'),
  rewrite: (m, b) => {
    const ratio = attrFloat(m.root, 'ratio');
    const plain = withoutAttributes(m.root, 'ratio');
    if (ratio === undefined) return { nodes: [plain] };
    const input = b.constant(float32Tensor([ratio], []), `${m.root.name || 'dropout'}_ratio`);
    return { nodes: [withInputs(plain, [m.root.inputs[0], input])] };
  },
});
