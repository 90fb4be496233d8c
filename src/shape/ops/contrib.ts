// com.microsoft ops the quantization passes emit (onnxruntime contrib ops): their outputs keep the float matmul's
// shape, so passes that run after them still see types.
import { attrInt, attrInts } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type OutputTypes, type RuleSet, tensorType } from '../context.js';
import { divDims } from '../dims.js';

/** [..., K] × [K, N] → [..., N], float out. */
function matmulToFloat(n: (ctx: InferContext) => Dim): (ctx: InferContext) => OutputTypes {
  return (ctx) => {
    const a = ctx.input(0)?.shape;
    return [tensorType(DataType.FLOAT, a ? [...a.slice(0, -1), n(ctx)] : undefined)];
  };
}

/** Attention / QAttention: input [B, S, D], weights [D, 3H] (or qkv_hidden_sizes) → [B, S, H_v]. */
function attention(ctx: InferContext): OutputTypes {
  const input = ctx.input(0)?.shape;
  const sizes = attrInts(ctx.node, 'qkv_hidden_sizes');
  const hidden: Dim = sizes ? sizes[2] : divDims(ctx.input(1)?.shape?.[1], 3);
  // QAttention's input is uint8; its output is float like the bias.
  const elemType = ctx.node.opType === 'QAttention' ? ctx.input(2)?.elemType ?? DataType.FLOAT : ctx.input(0)?.elemType ?? DataType.UNDEFINED;
  return [tensorType(elemType, input ? [input[0], input[1], hidden] : undefined)];
}

export const contribRules: RuleSet = {
  'com.microsoft:MatMulNBits': { infer: matmulToFloat((ctx) => attrInt(ctx.node, 'N')) },
  'com.microsoft:MatMulIntegerToFloat': { infer: matmulToFloat((ctx) => ctx.input(1)?.shape?.at(-1)) },
  'com.microsoft:DynamicQuantizeMatMul': { infer: matmulToFloat((ctx) => ctx.input(1)?.shape?.at(-1)) },
  'com.microsoft:Attention': { infer: attention },
  'com.microsoft:QAttention': { infer: attention },
  'com.microsoft:MultiHeadAttention': {
    infer: (ctx) => {
      const q = ctx.input(0)?.shape;
      const v = ctx.input(2)?.shape;
      return [tensorType(ctx.input(0)?.elemType ?? DataType.UNDEFINED, q && v && q.length === 3 ? [q[0], q[1], v[v.length - 1]] : undefined)];
    },
  },
};
