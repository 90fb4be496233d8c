// Recurrent layers (RNN, GRU, LSTM): Y is [seq, directions, batch, hidden] (layout 0) or
// [batch, seq, directions, hidden] (layout 1); the final states drop the sequence axis.
import { attrInt, attrString } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type OutputTypes, type RuleSet, ruleFor, tensorType } from '../context.js';

function recurrent(ctx: InferContext): OutputTypes {
  const x = ctx.input(0);
  const xs = x?.shape;
  const elemType = x?.elemType ?? DataType.UNDEFINED;
  const hidden: Dim = attrInt(ctx.node, 'hidden_size') ?? ctx.input(2)?.shape?.[2];
  const directions = attrString(ctx.node, 'direction', 'forward') === 'bidirectional' ? 2 : 1;
  const batchFirst = attrInt(ctx.node, 'layout', 0) === 1;
  if (!xs || xs.length !== 3) return [tensorType(elemType), tensorType(elemType), tensorType(elemType)];
  const [seq, batch] = batchFirst ? [xs[1], xs[0]] : [xs[0], xs[1]];
  const y = batchFirst ? [batch, seq, directions, hidden] : [seq, directions, batch, hidden];
  const state = batchFirst ? [batch, directions, hidden] : [directions, batch, hidden];
  return [tensorType(elemType, y), tensorType(elemType, state), tensorType(elemType, state)];
}

export const recurrentRules: RuleSet = ruleFor(['RNN', 'GRU', 'LSTM'], { infer: recurrent });
