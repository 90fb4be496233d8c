// Losses: the loss is a scalar unless reduction is 'none', where it keeps the target's [N, d1, ...] shape.
import { attrString } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import { type InferContext, type OutputTypes, type RuleSet, tensorType } from '../context.js';

function loss(ctx: InferContext): OutputTypes {
  const scores = ctx.input(0);
  const elemType = scores?.elemType ?? DataType.UNDEFINED;
  const reduced = attrString(ctx.node, 'reduction', 'mean') !== 'none';
  // SoftmaxCrossEntropyLoss's optional log_prob has the scores' shape.
  return [tensorType(elemType, reduced ? [] : ctx.input(1)?.shape), scores];
}

export const lossRules: RuleSet = {
  NegativeLogLikelihoodLoss: { infer: loss },
  SoftmaxCrossEntropyLoss: { infer: loss },
};
