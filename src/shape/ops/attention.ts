// Attention ops: Attention (4-D heads-first or 3-D packed, with a past KV cache), FlexAttention, LinearAttention,
// RotaryEmbedding.
import { attrInt } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type OutputTypes, type RuleSet, sameAs, tensorType } from '../context.js';
import { addDims, divDims, mulDims } from '../dims.js';

const typeOf = (ctx: InferContext, i: number): DataType => ctx.input(i)?.elemType ?? DataType.UNDEFINED;

function attention(ctx: InferContext): OutputTypes {
  const q = ctx.input(0)?.shape;
  const k = ctx.input(1)?.shape;
  const v = ctx.input(2)?.shape;
  if (!q || !k || !v) return [tensorType(typeOf(ctx, 0))];
  let batch: Dim, qHeads: Dim, qSeq: Dim, kvHeads: Dim, kvSeq: Dim, headSize: Dim, vHeadSize: Dim, y: Dim[];
  if (q.length === 4) {
    [batch, qHeads, qSeq] = q;
    [, kvHeads, kvSeq, headSize] = k;
    vHeadSize = v[3];
    y = [batch, qHeads, qSeq, vHeadSize];
  } else {
    // 3-D inputs pack heads into the last axis: [batch, seq, heads * head_size].
    qHeads = attrInt(ctx.node, 'q_num_heads');
    kvHeads = attrInt(ctx.node, 'kv_num_heads');
    [batch, qSeq] = q;
    kvSeq = k[1];
    headSize = divDims(k[2], kvHeads);
    vHeadSize = divDims(v[2], kvHeads);
    y = [batch, qSeq, mulDims(qHeads, vHeadSize)];
  }
  const past = ctx.input(4)?.shape;
  const total = ctx.hasInput(4) ? addDims(past?.[2], kvSeq) : kvSeq;
  return [
    tensorType(typeOf(ctx, 0), y),
    tensorType(typeOf(ctx, 1), [batch, kvHeads, total, headSize]),
    tensorType(typeOf(ctx, 2), [batch, kvHeads, total, vHeadSize]),
    tensorType(typeOf(ctx, 0), [batch, qHeads, qSeq, total]),
  ];
}

function linearAttention(ctx: InferContext): OutputTypes {
  const q = ctx.input(0)?.shape;
  const k = ctx.input(1)?.shape;
  const v = ctx.input(2)?.shape;
  const qHeads = attrInt(ctx.node, 'q_num_heads');
  const kvHeads = attrInt(ctx.node, 'kv_num_heads');
  const dk = divDims(k?.[2], kvHeads);
  const dv = divDims(v?.[2], kvHeads);
  const stateType = ctx.input(3)?.elemType ?? typeOf(ctx, 0);
  return [
    tensorType(typeOf(ctx, 0), q ? [q[0], q[1], mulDims(qHeads, dv)] : undefined),
    tensorType(stateType, q ? [q[0], kvHeads, dk, dv] : undefined),
  ];
}

export const attentionRules: RuleSet = {
  Attention: { infer: attention },
  'ai.onnx.preview:FlexAttention': {
    infer: (ctx) => {
      const q = ctx.input(0)?.shape;
      const v = ctx.input(2)?.shape;
      return [tensorType(typeOf(ctx, 0), q && v ? [q[0], q[1], q[2], v[3]] : undefined)];
    },
  },
  LinearAttention: { infer: linearAttention },
  RotaryEmbedding: sameAs(0),
};
