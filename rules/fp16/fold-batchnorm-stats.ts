import { defineRule, type Rule } from '../../src/rewrite/rule.js';
import { constant, op, v } from '../../src/rewrite/pattern.js';
import { attrFloat, attrInt } from '../../src/ir/model.js';
import { attr, type AttributeInput } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';

const isFloat = (t: Tensor): boolean => t.dataType === DataType.FLOAT;

/**
 * Inference BatchNormalization whose running statistics do not fit float16 (PP-OCR's detector has variances of
 * 1e7-1e8; clamped to 65504 they normalize by the wrong amount) → the same affine map with the statistics folded
 * into scale and bias: scale' = scale/√(var+ε), bias' = bias − mean·scale', mean 0, var 1, ε 0.
 */
export function foldBatchNormStats(maxFinite: number): Rule {
  const beyond = (t: Tensor): boolean => t.toFloat32().some((x) => Number.isFinite(x) && Math.abs(x) > maxFinite);
  return defineRule({
    name: 'fp16/fold-batchnorm-stats',
    description: 'BatchNormalization statistics beyond float16 range folded into its scale and bias',
    pattern: op('BatchNormalization', [v('x'), constant('scale', isFloat), constant('bias', isFloat), constant('mean', isFloat), constant('var', isFloat)]),
    check: (m) => {
      if (m.root.outputs.filter((o) => o !== '').length !== 1 || attrInt(m.root, 'training_mode', 0) !== 0) return 'it runs in training mode';
      const { scale, bias, mean } = m.constants;
      const channels = m.constants.var.size;
      if (![scale, bias, mean].every((t) => t.size === channels)) return 'its parameters broadcast';
      return beyond(mean) || beyond(m.constants.var) ? true : 'its statistics fit in float16';
    },
    rewrite: (m, b) => {
      const eps = attrFloat(m.root, 'epsilon', 1e-5);
      const [s, bi, mu, va] = [m.constants.scale, m.constants.bias, m.constants.mean, m.constants.var].map((t) => t.toFloat32());
      const scale = Float32Array.from(s, (g, c) => g / Math.sqrt(va[c] + eps));
      const bias = Float32Array.from(bi, (x, c) => x - mu[c] * scale[c]);
      const dims = m.constants.var.dims;
      const attrs: Record<string, AttributeInput> = Object.fromEntries(m.root.attributes.map((a) => [a.name, a]));
      attrs.epsilon = attr.float(0);
      const inputs = [m.values.x,
        b.constant(Tensor.fromArray(DataType.FLOAT, dims, scale), `${m.values.scale}_folded`),
        b.constant(Tensor.fromArray(DataType.FLOAT, dims, bias), `${m.values.bias}_folded`),
        b.constant(Tensor.fromArray(DataType.FLOAT, dims, new Float32Array(scale.length)), `${m.values.mean}_zero`),
        b.constant(Tensor.fromArray(DataType.FLOAT, dims, new Float32Array(scale.length).fill(1)), `${m.values.var}_one`)];
      return { nodes: [b.node('BatchNormalization', inputs, attrs, { outputs: m.root.outputs, name: m.root.name }).node] };
    },
  });
}
