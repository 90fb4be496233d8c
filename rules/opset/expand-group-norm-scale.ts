import { defineRule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import { attrInt } from '../../src/ir/model.js';
import type { Node } from '../../src/ir/model.js';
import type { RuleContext, RewriteBuilder } from '../../src/rewrite/rule.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { int64Tensor, withInputs } from './helpers.js';

/** Channels and groups of a GroupNormalization whose input is float32 with a static channel count, or why not. */
function layout(node: Node, ctx: RuleContext): { channels: number; groups: number } | string {
  const x = ctx.typeOf(node.inputs[0]);
  // stash_type (21) computes in float32 by default; GroupNormalization-18 computed in the input's type.
  if (x?.elemType !== DataType.FLOAT) return 'its input is not known to be float32 (GroupNormalization-21 computes in stash_type float32)';
  const channels = x.shape?.[1];
  const groups = attrInt(node, 'num_groups');
  if (typeof channels !== 'number' || groups === undefined) return 'its channel count is not static (needed to widen scale and bias)';
  return channels % groups === 0 ? { channels, groups } : `${channels} channels do not split into ${groups} groups`;
}

/** A per-group vector repeated per channel: constants are widened in place, other values through Unsqueeze/Expand/Reshape. */
function perChannel(name: string, channels: number, groups: number, ctx: RuleContext, b: RewriteBuilder, base: string): { name: string; nodes: Node[] } {
  const per = channels / groups;
  const t = ctx.constant(name);
  if (t) {
    const values = t.toArray();
    const Ctor = values.constructor as new (n: number) => typeof values;
    const out = new Ctor(channels);
    for (let c = 0; c < channels; c++) (out as Float32Array)[c] = (values as Float32Array)[Math.floor(c / per)];
    return { name: b.constant(Tensor.fromArray(t.dataType, [channels], out), `${name}_per_channel`), nodes: [] };
  }
  const u = b.node('Unsqueeze', [name, b.constant(int64Tensor([1]), `${base}_axes`)], {}, { name: `${base}/unsqueeze` });
  const e = b.node('Expand', [u.outputs[0], b.constant(int64Tensor([groups, per]), `${base}_groups`)], {}, { name: `${base}/expand` });
  const r = b.node('Reshape', [e.outputs[0], b.constant(int64Tensor([channels]), `${base}_channels`)], {}, { name: `${base}/reshape` });
  return { name: r.outputs[0], nodes: [u.node, e.node, r.node] };
}

/**
 * GroupNormalization-18 took scale and bias per group; 21 takes them per channel (and stash_type, default float32).
 * Each group's value is repeated for its channels: the same numbers reach the same products.
 */
export const expandGroupNormScale = defineRule({
  name: 'opset/expand-group-norm-scale',
  description: 'opset 21: GroupNormalization scale/bias from per group to per channel',
  pattern: op('GroupNormalization'),
  check: (m, ctx) => {
    const l = layout(m.root, ctx);
    return typeof l === 'string' ? l : true;
  },
  rewrite: (m, b, ctx) => {
    const n = m.root;
    const { channels, groups } = layout(n, ctx) as { channels: number; groups: number };
    const base = n.name || 'group_norm';
    const scale = perChannel(n.inputs[1], channels, groups, ctx, b, `${base}_scale`);
    const bias = perChannel(n.inputs[2], channels, groups, ctx, b, `${base}_bias`);
    return { nodes: [...scale.nodes, ...bias.nodes, withInputs(n, [n.inputs[0], scale.name, bias.name])] };
  },
});
