// Normalizations and softmax-like ops: outputs keep the input's shape; LayerNormalization's and
// BatchNormalization's extra outputs are the statistics.
import { attrInt } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import { type RuleSet, ruleFor, sameAs, tensorType, withShape } from '../context.js';
import { normalizeAxis } from '../dims.js';

export const normRules: RuleSet = {
  ...ruleFor(['InstanceNormalization', 'GroupNormalization', 'LpNormalization', 'LRN', 'MeanVarianceNormalization',
    'Softmax', 'LogSoftmax', 'Hardmax'], sameAs(0)),
  LayerNormalization: {
    // Mean and InvStdDev have the normalized axes reduced to 1, in stash_type precision.
    infer: (ctx) => {
      const x = ctx.input(0);
      const xs = x?.shape;
      const axis = xs ? normalizeAxis(attrInt(ctx.node, 'axis', -1), xs.length) : undefined;
      const stats = xs && axis !== undefined ? xs.map((d, i) => (i < axis ? d : 1)) : undefined;
      const stash = tensorType(attrInt(ctx.node, 'stash_type', DataType.FLOAT), stats);
      return [x, stash, stash];
    },
  },
  RMSNormalization: { infer: (ctx) => [tensorType(ctx.input(1)?.elemType ?? ctx.input(0)?.elemType ?? DataType.UNDEFINED, ctx.input(0)?.shape)] },
  BatchNormalization: {
    // Training-mode outputs are per-channel statistics shaped like the mean input.
    infer: (ctx) => {
      const x = ctx.input(0);
      const channels = x?.shape && x.shape.length > 1 ? [x.shape[1]] : undefined;
      const stat = withShape(ctx.input(3) ?? x, ctx.input(3)?.shape ?? channels);
      return [x, ...new Array(Math.max(0, ctx.outputCount - 1)).fill(stat)];
    },
  },
};
