// distill: turns a student model into a distillation training graph. The teacher (by default a frozen copy of the
// student as given; normally the original fp32 model, with the pruned or quantized copy as student) is merged in
// under the `teacher/` prefix, sharing the student's inputs; one loss per student:teacher pair (kl_div on
// temperature-softened softmax, mse, or token-wise contrastive), summed, optionally mixed with a hard-label
// cross-entropy, becomes the scalar graph output `loss`. The student's outputs are untouched. Training it (the
// gradients, the optimizer, freezing the teacher's initializers) is the trainer's job; `buildDistillModel` also
// returns the frozen names. PaddleSlim's Compress.Distillation keys (T, Teacher, distillation_loss_type, node) are aliases.
import { definePass } from '../src/passes/pass.js';
import { exact, outputsSuperset } from '../src/passes/contract.js';
import type { Model } from '../src/ir/model.js';
import { loadModel } from '../src/io/load.js';
import { buildDistillModel } from './distill/head.js';
import { parsePairs } from './distill/pairs.js';

export { buildDistillModel, type DistillLoss, type DistillModel, type DistillOptions } from './distill/head.js';
export { mergeTeacher, TEACHER_PREFIX, type MergedModel } from './distill/merge.js';
export { lastParamValues, parsePairs, pickPairs, type DistillPair, type PairMode } from './distill/pairs.js';
export { crossEntropy, klDiv, mse, tokenWiseContrastive } from './distill/losses.js';

export const distill = definePass({
  name: 'distill',
  description: 'add a teacher (frozen, prefixed teacher/) and a scalar distillation loss output to the student',
  options: {
    teacher: { type: 'string', default: '', aliases: ['Teacher'], description: 'teacher .onnx file; empty: a frozen copy of the student as given' },
    teacher_model: { type: 'data', default: undefined, description: 'the teacher as a Model (in code); overrides teacher' },
    loss: {
      type: 'enum', values: ['kl_div', 'mse', 'token_wise_contrastive'], default: 'kl_div', aliases: ['distillation_loss_type'],
      description: 'per-pair loss: KL on softmax(x / T) × T², mean squared error, or token-wise InfoNCE of L2-normalized features',
    },
    temperature: { type: 'number', default: 1, min: 0.01, aliases: ['T'], description: 'softmax temperature of kl_div and token_wise_contrastive' },
    distill_loss_ratio: {
      type: 'number', default: 0.5, min: 0, max: 1,
      description: 'with labels: loss = ratio × distill + (1 − ratio) × hard-label CE; without labels loss = distill',
    },
    pairs: { type: 'list', default: [], aliases: ['node'], description: 'student_value:teacher_value pairs (one name: the same value in both); empty: by pair_mode' },
    pair_mode: {
      type: 'enum', values: ['outputs', 'last_param_nodes'], default: 'outputs',
      description: 'default pairs: float graph outputs by name, or per output the last node with parameters feeding it (PaddleSlim ACT)',
    },
    labels: { type: 'string', default: '', description: 'name of an int64 class-id input for a hard-label cross-entropy on the first pair' },
  },
  // The student's outputs stay bitwise equal; `loss` is added.
  contract: outputsSuperset(exact),
  configSections: ['Distillation'],
  run: {
    kind: 'transform',
    transform(model, options, ctx) {
      const teacher = (options.teacher_model as Model | undefined) ?? (options.teacher ? loadModel(options.teacher) : undefined);
      const result = buildDistillModel(model, {
        teacher, loss: options.loss, T: options.temperature, distillLossRatio: options.distill_loss_ratio,
        pairs: options.pairs.length ? parsePairs(options.pairs) : undefined, pairMode: options.pair_mode,
        labels: options.labels || undefined,
      });
      ctx.note('pairs', result.pairs.map((p) => `${p.student}:${p.teacher}`).join(', '));
      ctx.note('frozen teacher initializers', result.frozen.length);
      ctx.note('loss output', result.loss);
      return result.model;
    },
  },
});
