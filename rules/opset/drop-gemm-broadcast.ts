import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { withoutAttributes } from './helpers.js';

/** Gemm-7 always broadcasts C to (M, N) (unidirectionally); broadcast=0 only forbade what now works. */
export const dropGemmBroadcast = defineRule({
  name: 'opset/drop-gemm-broadcast',
  description: 'opset 7: drop Gemm\'s broadcast attribute',
  pattern: op('Gemm'),
  rewrite: (m) => ({ nodes: [withoutAttributes(m.root, 'broadcast')] }),
});
