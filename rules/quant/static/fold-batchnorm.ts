import { defineRule, type Rule } from '../../../src/rewrite/rule.js';
import { constant, op, v } from '../../../src/rewrite/pattern.js';
import { attrFloat, attrInt, type Node } from '../../../src/ir/model.js';
import { DataType } from '../../../src/ir/dtype.js';
import { Tensor } from '../../../src/ir/tensor.js';

const isFloat = (t: Tensor): boolean => t.dataType === DataType.FLOAT;

/**
 * Conv(x, W[, B]) → inference BatchNormalization → Conv(x, W·γ/√(σ²+ε), (B − μ)·γ/√(σ²+ε) + β). onnxruntime folds
 * this itself in float models, but not once a quantizer sits between the two: folded first, the BatchNormalization
 * is quantized into the Conv's weights instead of running in float between two Q/DQ pairs.
 */
export function foldBatchNorm(excluded: (node: Node) => boolean): Rule {
  return defineRule({
    name: 'quant/static-fold-batchnorm',
    description: 'inference BatchNormalization after a Conv folded into its weights and bias',
    pattern: op('BatchNormalization', [
      op('Conv', [v('x'), constant('w', (t) => isFloat(t) && t.dims.length >= 3)], { bind: 'conv', singleUse: true }),
      constant('scale', isFloat), constant('bias', isFloat), constant('mean', isFloat), constant('var', isFloat),
    ]),
    check: (m, ctx) => {
      if (excluded(m.nodes.conv)) return 'its Conv is excluded by the configuration';
      if (m.root.outputs.filter((o) => o !== '').length !== 1 || attrInt(m.root, 'training_mode', 0) !== 0) return 'it runs in training mode';
      if (attrInt(m.root, 'spatial', 1) !== 1) return 'it normalizes per element (spatial = 0)';
      const channels = m.constants.w.dims[0];
      if (![m.constants.scale, m.constants.bias, m.constants.mean, m.constants.var].every((t) => t.size === channels)) return 'its parameters do not match the Conv channels';
      const convBias = m.nodes.conv.inputs[2];
      if (convBias && !(ctx.constant(convBias) && isFloat(ctx.constant(convBias)!) && ctx.constant(convBias)!.size === channels)) return 'the Conv bias is not a constant vector';
      return true;
    },
    rewrite: (m, b, ctx) => {
      const eps = attrFloat(m.root, 'epsilon', 1e-5);
      const [g, beta, mu, va] = [m.constants.scale, m.constants.bias, m.constants.mean, m.constants.var].map((t) => t.toFloat32());
      const w = m.constants.w.toFloat32();
      const convBias = m.nodes.conv.inputs[2] ? ctx.constant(m.nodes.conv.inputs[2])!.toFloat32() : new Float32Array(g.length);
      const factor = Float64Array.from(g, (x, c) => x / Math.sqrt(va[c] + eps));
      const per = w.length / g.length;
      const weight = Float32Array.from(w, (x, i) => x * factor[Math.floor(i / per)]);
      const bias = Float32Array.from(convBias, (x, c) => (x - mu[c]) * factor[c] + beta[c]);
      const wName = b.constant(Tensor.fromArray(DataType.FLOAT, m.constants.w.dims, weight), `${m.values.w}_bn_folded`);
      const bName = b.constant(Tensor.fromArray(DataType.FLOAT, [g.length], bias), `${m.nodes.conv.name || m.values.w}_bn_bias`);
      const conv = m.nodes.conv;
      return { nodes: [{ ...conv, inputs: [m.values.x, wName, bName], outputs: [...m.root.outputs] }] };
    },
  });
}
