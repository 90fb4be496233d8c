import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { withoutAttributes } from './helpers.js';

/** Opset 7 dropped output_sequence from RNN/GRU/LSTM: whether Y is produced is said by naming the output. */
export const dropRnnOutputSequence = defineRule({
  name: 'opset/drop-rnn-output-sequence',
  description: 'opset 7: drop RNN/GRU/LSTM output_sequence',
  pattern: op(['RNN', 'GRU', 'LSTM']),
  rewrite: (m) => ({ nodes: [withoutAttributes(m.root, 'output_sequence')] }),
});
