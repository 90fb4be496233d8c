// A one-token decode step with a KV cache for stories260K-shaped Llama exports (llama2.c's model.py through
// torch.onnx: RMSNorm, RoPE on interleaved pairs, grouped-query attention, SwiGLU), built from the full model's own
// weight tensors (shared, not copied). The export has no cache, so sampling with it re-runs the whole prefix for
// every token; this step reads each layer's past keys and values and returns them one position longer, the
// protocol `kvCacheDecoder` (src/data/lm-sampling.ts) drives:
//   input_ids int64 [B, 1], position int64 [1], past_key.L / past_value.L float [B, kvHeads, P, headDim]
//   → logits [B, 1, vocab], present_key.L / present_value.L [B, kvHeads, P + 1, headDim].
// Weights are found by the export's node names (/blocks.L/wq/MatMul, ...); a model without them is refused.
import { GraphBuilder, makeModel } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import type { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';

const RMS_EPS = 1e-5; // llama2.c's norm_eps

export function llamaDecodeStep(full: Model): Model {
  const init = full.graph.initializers;
  const weightOf = (nodeName: string): Tensor => {
    const node = full.graph.nodes.find((n) => n.name === nodeName);
    const w = node && init.get(node.inputs[1]);
    if (!w) throw new Error(`not a stories260K-shaped Llama export: no weight for node ${nodeName}`);
    return w;
  };
  const named = (name: string): Tensor => {
    const t = init.get(name);
    if (!t) throw new Error(`not a stories260K-shaped Llama export: no initializer ${name}`);
    return t;
  };
  const layers = full.graph.nodes.filter((n) => /^\/blocks\.\d+\/wq\/MatMul$/.test(n.name)).length;
  if (layers === 0) throw new Error('not a stories260K-shaped Llama export: no /blocks.N/wq/MatMul nodes');
  const cos = named('cos'), sin = named('sin'), emb = named('emb.weight');
  const pairs = cos.dims[1], headDim = 2 * pairs, out = weightOf('/out/MatMul');
  if (emb.dims[1] !== out.dims[0]) throw new Error(`not a stories260K-shaped Llama export: embedding width ${emb.dims[1]}, output projection reads ${out.dims[0]}`);

  const g = new GraphBuilder('llama_decode_step');
  const ids = g.input('input_ids', DataType.INT64, ['batch', 1]);
  const position = g.input('position', DataType.INT64, [1]);
  const shapes = new Map<string, string>();
  const i64 = (name: string, values: number[]): string => {
    const key = `${name}:${values}`;
    if (!shapes.has(key)) shapes.set(key, g.initializer(name, Tensor.fromArray(DataType.INT64, [values.length], BigInt64Array.from(values, BigInt))));
    return shapes.get(key)!;
  };
  const f32 = (name: string, value: number): string => g.initializer(name, Tensor.fromArray(DataType.FLOAT, [], Float32Array.of(value)));
  const scalarIndex = (name: string, value: number): string => g.initializer(name, Tensor.fromArray(DataType.INT64, [], BigInt64Array.of(BigInt(value))));
  const eps = f32('rms_eps', RMS_EPS), one = f32('one', 1), scale = f32('attention_scale', 1 / Math.sqrt(headDim));
  const real = scalarIndex('real', 0), imag = scalarIndex('imag', 1);
  // cos/sin of this position, [1, 1, 1, pairs]: broadcast over batch and heads.
  const rotation = i64('rotation_shape', [1, 1, 1, pairs]);
  const cosAt = g.op('Reshape', [g.op('Gather', [g.initializer('cos', cos), position]), rotation]);
  const sinAt = g.op('Reshape', [g.op('Gather', [g.initializer('sin', sin), position]), rotation]);

  const rmsNorm = (x: string, weight: Tensor, name: string): string => {
    const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inverse = g.op('Div', [one, g.op('Sqrt', [g.op('Add', [meanSquare, eps])])]);
    return g.op('Mul', [g.op('Mul', [x, inverse]), g.initializer(name, weight)]);
  };
  const matmul = (x: string, weight: Tensor, name: string): string => g.op('MatMul', [x, g.initializer(name, weight)]);
  /** [B, 1, heads·headDim] → [B, 1, heads, headDim] with RoPE applied to its (even, odd) pairs. */
  const rope = (x: string, heads: number): string => {
    const split = g.op('Reshape', [x, i64('pairs_shape', [0, 0, heads, pairs, 2])]);
    const re = g.op('Gather', [split, real], { axis: 4 }), im = g.op('Gather', [split, imag], { axis: 4 });
    const outRe = g.op('Sub', [g.op('Mul', [re, cosAt]), g.op('Mul', [im, sinAt])]);
    const outIm = g.op('Add', [g.op('Mul', [re, sinAt]), g.op('Mul', [im, cosAt])]);
    const stacked = g.op('Concat', [g.op('Unsqueeze', [outRe, i64('last', [-1])]), g.op('Unsqueeze', [outIm, i64('last', [-1])])], { axis: -1 });
    return g.op('Reshape', [stacked, i64('heads_shape', [0, 0, heads, headDim])]);
  };

  let h = g.op('Gather', [g.initializer('emb.weight', emb), ids]);
  for (let l = 0; l < layers; l++) {
    const block = `/blocks.${l}`;
    const wq = weightOf(`${block}/wq/MatMul`), wk = weightOf(`${block}/wk/MatMul`);
    const heads = wq.dims[1] / headDim, kvHeads = wk.dims[1] / headDim;
    const xn = rmsNorm(h, named(`blocks.${l}.an.weight`), `blocks.${l}.an.weight`);
    const q = rope(matmul(xn, wq, `${block}.wq`), heads);
    const k = g.op('Transpose', [rope(matmul(xn, wk, `${block}.wk`), kvHeads)], { perm: [0, 2, 1, 3] });
    const v = g.op('Transpose', [g.op('Reshape', [matmul(xn, weightOf(`${block}/wv/MatMul`), `${block}.wv`), i64('heads_shape', [0, 0, kvHeads, headDim])])], { perm: [0, 2, 1, 3] });
    const pastK = g.input(`past_key.${l}`, DataType.FLOAT, ['batch', kvHeads, 'past', headDim]);
    const pastV = g.input(`past_value.${l}`, DataType.FLOAT, ['batch', kvHeads, 'past', headDim]);
    const [keys] = g.node('Concat', [pastK, k], { axis: 2 }, { outputNames: [`present_key.${l}`] });
    const [values] = g.node('Concat', [pastV, v], { axis: 2 }, { outputNames: [`present_value.${l}`] });
    g.output(keys, DataType.FLOAT, ['batch', kvHeads, 'present', headDim]);
    g.output(values, DataType.FLOAT, ['batch', kvHeads, 'present', headDim]);
    // Query head j reads key-value head floor(j / (heads / kvHeads)) (llama's repeat_kv): group the single
    // position's query heads as [B, kvHeads, heads / kvHeads, headDim] and attend each group to its own cache.
    const grouped = g.op('Reshape', [q, i64('grouped_shape', [0, kvHeads, heads / kvHeads, headDim])]);
    const scores = g.op('Mul', [g.op('MatMul', [grouped, g.op('Transpose', [keys], { perm: [0, 1, 3, 2] })]), scale]);
    const attended = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), values]);
    const merged = g.op('Reshape', [attended, i64('merged_shape', [0, 1, heads * headDim])]);
    h = g.op('Add', [h, matmul(merged, weightOf(`${block}/wo/MatMul`), `${block}.wo`)]);
    const fn = rmsNorm(h, named(`blocks.${l}.fn.weight`), `blocks.${l}.fn.weight`);
    const gate = matmul(fn, weightOf(`${block}/w1/MatMul`), `${block}.w1`);
    const up = matmul(fn, weightOf(`${block}/w3/MatMul`), `${block}.w3`);
    const swiglu = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    h = g.op('Add', [h, matmul(swiglu, weightOf(`${block}/w2/MatMul`), `${block}.w2`)]);
  }
  const [logits] = g.node('MatMul', [rmsNorm(h, named('norm.weight'), 'norm.weight'), g.initializer('out.weight', out)], {}, { outputNames: ['logits'] });
  g.output(logits, DataType.FLOAT, ['batch', 1, out.dims[1]]);
  return makeModel(g.build(), { opset: 17 });
}
