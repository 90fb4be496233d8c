// Synthetic BERT / GPT models written node for node the way torch.onnx exports Hugging Face models (opset 17,
// float32), so quantization and structured-pruning passes meet the patterns they will meet in real files.
// Weights come from a seeded PRNG per tensor name: same config and seed ⇒ the same bytes, and a tensor's
// values do not depend on how many other tensors the config has.
import { GraphBuilder, makeModel } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import type { Graph, Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';

/** Sizes of a transformer (what a checkpoint's config.json fixes). */
export interface TransformerShape {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly ffn: number;
  readonly vocab: number;
  readonly maxSeq: number;
}

export interface TransformerConfig extends TransformerShape {
  /** Sequence length of `input_ids`: a size or a symbolic name (default 'seq'). */
  readonly seq?: number | string;
  /** Batch size of `input_ids`: a size or a symbolic name (default 'batch'). */
  readonly batch?: number | string;
  /** PRNG seed (default 0). */
  readonly seed?: number;
  /** Std of weights and biases (default 0.02, as BERT/GPT-2 initialise). */
  readonly std?: number;
  /**
   * Std of the LayerNorm gamma/beta noise (default 0: gamma = 1, beta = 0, as freshly initialised, so every
   * LayerNorm output row has mean 0 and variance 1). Nonzero gives gamma = 1 + N(0, s), beta = N(0, s).
   */
  readonly layerNormStd?: number;
  /** BERT only: add the pooler (first token → Dense → Tanh) as a second output `pooler_output`. */
  readonly pooler?: boolean;
}

export const BERT_BASE: TransformerShape = { layers: 12, hidden: 768, heads: 12, ffn: 3072, vocab: 30522, maxSeq: 512 };
export const GPT2_SMALL: TransformerShape = { layers: 12, hidden: 768, heads: 12, ffn: 3072, vocab: 50257, maxSeq: 1024 };
/** Tiny models for tests: build and run in milliseconds. */
export const BERT_TINY: TransformerShape = { layers: 2, hidden: 32, heads: 4, ffn: 64, vocab: 101, maxSeq: 16 };
export const GPT_TINY: TransformerShape = { layers: 2, hidden: 32, heads: 4, ffn: 64, vocab: 97, maxSeq: 16 };

/** Parameters the model's weight initializers hold (what "110M" counts for BERT-base). */
export function paramCount(shape: TransformerShape, kind: 'bert' | 'gpt', pooler = false): number {
  const { layers: L, hidden: H, ffn: F, vocab: V, maxSeq: S } = shape;
  const layer = 4 * (H * H + H) + (H * F + F) + (F * H + H) + 2 * 2 * H;
  const embed = V * H + S * H + 2 * H;
  return kind === 'bert'
    ? embed + L * layer + (pooler ? H * H + H : 0)
    : V * H + S * H + L * layer + 2 * H + H * V;
}

// ---------------------------------------------------------------- weights

/** FNV-1a of the name mixed with the seed: each tensor gets its own stream. */
function streamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * `n` values of N(mean, std): mulberry32 uniforms through Marsaglia's polar method (true Gaussian tails,
 * about 15 ns per value, so BERT-base's 110M weights take under two seconds; Box–Muller's cos/sin took 26 ns).
 */
export function normalArray(n: number, std: number, seed: number, mean = 0): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const inv = 1 / 2147483648;
  for (let i = 0; i < n;) {
    // mulberry32, inlined twice (a closure per draw costs ~3x here); signed results give uniforms in [-1, 1)
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const x = ((t ^ (t >>> 14)) | 0) * inv;
    s = (s + 0x6d2b79f5) | 0;
    t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const y = ((t ^ (t >>> 14)) | 0) * inv;
    const r2 = x * x + y * y;
    if (r2 >= 1 || r2 === 0) continue;
    const f = std * Math.sqrt((-2 * Math.log(r2)) / r2);
    out[i++] = mean + x * f;
    if (i < n) out[i++] = mean + y * f;
  }
  return out;
}

/** Adds nodes and seeded initializers with torch.onnx-style scoped names (`/encoder/layer.0/.../MatMul`). */
class Writer {
  readonly g: GraphBuilder;
  private readonly seed: number;
  private readonly std: number;
  private readonly lnStd: number;

  constructor(name: string, cfg: TransformerConfig) {
    this.g = new GraphBuilder(name);
    this.seed = cfg.seed ?? 0;
    this.std = cfg.std ?? 0.02;
    this.lnStd = cfg.layerNormStd ?? 0;
  }

  weight(name: string, dims: readonly number[], mean = 0, std = this.std): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const values = std === 0 ? new Float32Array(n).fill(mean) : normalArray(n, std, streamSeed(this.seed, name), mean);
    return this.g.initializer(name, Tensor.fromArray(DataType.FLOAT, dims, values));
  }

  ints(name: string, values: readonly number[]): string {
    return this.g.initializer(name, Tensor.fromArray(DataType.INT64, [values.length], BigInt64Array.from(values, BigInt)));
  }

  scalar(name: string, value: number): string {
    return this.g.initializer(name, Tensor.scalar(DataType.FLOAT, value));
  }

  op(scope: string, opType: string, inputs: readonly string[], attrs: Parameters<GraphBuilder['op']>[2] = {}): string {
    return this.g.op(opType, inputs, attrs, { name: `${scope}/${opType}` });
  }

  /** nn.Linear as exported: MatMul with the transposed weight [in, out], then Add of the bias. */
  linear(scope: string, param: string, x: string, inDim: number, outDim: number): string {
    const w = this.weight(`${param}.weight`, [inDim, outDim]);
    const b = this.weight(`${param}.bias`, [outDim]);
    return this.op(scope, 'Add', [this.op(scope, 'MatMul', [x, w]), b]);
  }

  layerNorm(scope: string, param: string, x: string, hidden: number, epsilon: number): string {
    const gamma = this.weight(`${param}.weight`, [hidden], 1, this.lnStd);
    const beta = this.weight(`${param}.bias`, [hidden], 0, this.lnStd);
    return this.op(scope, 'LayerNormalization', [x, gamma, beta], { axis: -1, epsilon });
  }

  /** GELU (erf form) as torch.onnx writes it below opset 20: x * 0.5 * (1 + erf(x / √2)) → Div, Erf, Add, Mul, Mul. */
  gelu(scope: string, x: string): string {
    const erf = this.op(scope, 'Erf', [this.op(scope, 'Div', [x, this.scalar(`${scope}/Constant_sqrt2`, Math.SQRT2)])]);
    const onePlus = this.op(scope, 'Add', [erf, this.scalar(`${scope}/Constant_one`, 1)]);
    return this.op(scope, 'Mul', [this.op(scope, 'Mul', [x, onePlus]), this.scalar(`${scope}/Constant_half`, 0.5)]);
  }

  /**
   * Multi-head self-attention as HF BertSelfAttention / GPT2Attention export it, Q/K/V as separate linears.
   * `mask` (optional) is added to the scaled scores (0 keeps, -1e9 drops).
   */
  attention(scope: string, param: string, x: string, cfg: TransformerShape, mask?: string): string {
    const { hidden: H, heads } = cfg;
    const d = H / heads;
    const heads4 = (s: string, name: string, perm: number[]): string => {
      const shape = this.ints(`${s}/Constant_shape`, [0, 0, heads, d]);
      return this.op(s, 'Transpose', [this.op(s, 'Reshape', [this.linear(s, name, x, H, H), shape])], { perm });
    };
    const q = heads4(`${scope}/query`, `${param}.query`, [0, 2, 1, 3]); // [B, h, S, d]
    const kT = heads4(`${scope}/key`, `${param}.key`, [0, 2, 3, 1]); //    [B, h, d, S]
    const v = heads4(`${scope}/value`, `${param}.value`, [0, 2, 1, 3]); // [B, h, S, d]
    let scores = this.op(scope, 'Div', [this.op(scope, 'MatMul', [q, kT]), this.scalar(`${scope}/Constant_scale`, Math.sqrt(d))]);
    if (mask) scores = this.op(scope, 'Add', [scores, mask]);
    const probs = this.op(scope, 'Softmax', [scores], { axis: -1 });
    const ctx = this.op(scope, 'Transpose', [this.op(scope, 'MatMul', [probs, v])], { perm: [0, 2, 1, 3] });
    return this.op(scope, 'Reshape', [ctx, this.ints(`${scope}/Constant_merge`, [0, 0, H])]);
  }

  /** Token + position embeddings; position ids sliced from a [1, maxSeq] buffer by the input's length. */
  embeddings(scope: string, param: string, ids: string, cfg: TransformerShape, names: { word: string; pos: string }): string {
    const word = this.op(`${scope}/${names.word}`, 'Gather', [this.weight(`${param}.${names.word}.weight`, [cfg.vocab, cfg.hidden]), ids], { axis: 0 });
    const positionIds = this.g.initializer(`${param}.position_ids`,
      Tensor.fromArray(DataType.INT64, [1, cfg.maxSeq], BigInt64Array.from({ length: cfg.maxSeq }, (_, i) => BigInt(i))));
    const seqLen = this.seqLength(scope, ids);
    const sliced = this.op(scope, 'Slice', [positionIds, this.ints(`${scope}/Constant_start`, [0]), seqLen, this.ints(`${scope}/Constant_axis`, [1])]);
    const pos = this.op(`${scope}/${names.pos}`, 'Gather', [this.weight(`${param}.${names.pos}.weight`, [cfg.maxSeq, cfg.hidden]), sliced], { axis: 0 });
    return this.op(scope, 'Add', [word, pos]);
  }

  /** input_ids.size(1) as a 1-D int64 [S]: Shape → Gather(1) → Unsqueeze, as exporters trace `x.shape[1]`. */
  seqLength(scope: string, ids: string): string {
    const dim = this.op(scope, 'Gather', [this.op(scope, 'Shape', [ids]), this.g.initializer(`${scope}/Constant_dim1`, Tensor.scalar(DataType.INT64, 1))], { axis: 0 });
    return this.op(scope, 'Unsqueeze', [dim, this.ints(`${scope}/Constant_axes0`, [0])]);
  }
}

function checkShape(cfg: TransformerShape): void {
  for (const k of ['layers', 'hidden', 'heads', 'ffn', 'vocab', 'maxSeq'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) throw new Error(`transformer config: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.hidden % cfg.heads !== 0) throw new Error(`transformer config: hidden ${cfg.hidden} is not a multiple of heads ${cfg.heads}`);
}

/** Renames the value a node produces to `to` (graph outputs get exporter names like `last_hidden_state`). */
function renameValue(graph: Graph, from: string, to: string): Graph {
  const r = (n: string): string => (n === from ? to : n);
  return { ...graph, nodes: graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map(r), outputs: n.outputs.map(r) })) };
}

/**
 * BERT encoder (post-LayerNorm, HF BertModel without token types and attention mask): input `input_ids`
 * int64 [batch, seq], output `last_hidden_state` float [batch, seq, hidden] (and `pooler_output` [batch, hidden]).
 */
export function buildBert(cfg: TransformerConfig): Model {
  checkShape(cfg);
  const { hidden: H, ffn: F } = cfg;
  const w = new Writer('bert', cfg);
  const g = w.g;
  const batch = cfg.batch ?? 'batch';
  const seq = cfg.seq ?? 'seq';
  const ids = g.input('input_ids', DataType.INT64, [batch, seq]);
  const eps = 1e-12;
  const emb = w.embeddings('/embeddings', 'embeddings', ids, cfg, { word: 'word_embeddings', pos: 'position_embeddings' });
  let x = w.layerNorm('/embeddings/LayerNorm', 'embeddings.LayerNorm', emb, H, eps);
  for (let l = 0; l < cfg.layers; l++) {
    const s = `/encoder/layer.${l}`;
    const p = `encoder.layer.${l}`;
    const ctx = w.attention(`${s}/attention/self`, `${p}.attention.self`, x, cfg);
    const attnOut = w.linear(`${s}/attention/output/dense`, `${p}.attention.output.dense`, ctx, H, H);
    x = w.layerNorm(`${s}/attention/output/LayerNorm`, `${p}.attention.output.LayerNorm`,
      w.op(`${s}/attention/output`, 'Add', [attnOut, x]), H, eps);
    const inter = w.gelu(`${s}/intermediate/intermediate_act_fn`, w.linear(`${s}/intermediate/dense`, `${p}.intermediate.dense`, x, H, F));
    const out = w.linear(`${s}/output/dense`, `${p}.output.dense`, inter, F, H);
    x = w.layerNorm(`${s}/output/LayerNorm`, `${p}.output.LayerNorm`, w.op(`${s}/output`, 'Add', [out, x]), H, eps);
  }
  const outputs: Array<[string, string, Array<number | string>]> = [[x, 'last_hidden_state', [batch, seq, H]]];
  if (cfg.pooler) {
    const first = w.op('/pooler', 'Gather', [x, g.initializer('/pooler/Constant_index0', Tensor.scalar(DataType.INT64, 0))], { axis: 1 });
    const pooled = w.op('/pooler/activation', 'Tanh', [w.linear('/pooler/dense', 'pooler.dense', first, H, H)]);
    outputs.push([pooled, 'pooler_output', [batch, H]]);
  }
  for (const [, name, shape] of outputs) g.output(name, DataType.FLOAT, shape);
  let graph = g.build();
  for (const [value, name] of outputs) graph = renameValue(graph, value, name);
  return makeModel(graph, { opset: 17, producerName: 'onnx-slim test/helpers/transformer' });
}

/**
 * GPT-2 style decoder (pre-LayerNorm, final ln_f, causal mask added to the scores, untied LM head as a
 * [hidden, vocab] MatMul): input `input_ids` int64 [batch, seq], output `logits` float [batch, seq, vocab].
 * Q/K/V are separate linears and the MLP uses erf-GELU, like the BERT builder, so the same passes apply.
 */
export function buildGpt(cfg: TransformerConfig): Model {
  checkShape(cfg);
  const { hidden: H, ffn: F, maxSeq: M } = cfg;
  const w = new Writer('gpt', cfg);
  const g = w.g;
  const batch = cfg.batch ?? 'batch';
  const seq = cfg.seq ?? 'seq';
  const ids = g.input('input_ids', DataType.INT64, [batch, seq]);
  const eps = 1e-5;
  let x = w.embeddings('/transformer', 'transformer', ids, cfg, { word: 'wte', pos: 'wpe' });
  // Causal mask [1, 1, maxSeq, maxSeq] (0 on and below the diagonal), sliced to [1, 1, S, S] once.
  const maskValues = new Float32Array(M * M);
  for (let i = 0; i < M; i++) maskValues.fill(-1e9, i * M + i + 1, (i + 1) * M);
  const maskBuf = g.initializer('transformer.causal_mask', Tensor.fromArray(DataType.FLOAT, [1, 1, M, M], maskValues));
  const seqLen = w.seqLength('/transformer/mask', ids);
  const mask = w.op('/transformer/mask', 'Slice', [maskBuf, w.ints('/transformer/mask/Constant_start', [0, 0]),
    w.op('/transformer/mask', 'Concat', [seqLen, seqLen], { axis: 0 }), w.ints('/transformer/mask/Constant_axes', [2, 3])]);
  for (let l = 0; l < cfg.layers; l++) {
    const s = `/transformer/h.${l}`;
    const p = `transformer.h.${l}`;
    const a = w.layerNorm(`${s}/ln_1`, `${p}.ln_1`, x, H, eps);
    const ctx = w.attention(`${s}/attn`, `${p}.attn`, a, cfg, mask);
    x = w.op(s, 'Add', [x, w.linear(`${s}/attn/c_proj`, `${p}.attn.c_proj`, ctx, H, H)]);
    const m = w.layerNorm(`${s}/ln_2`, `${p}.ln_2`, x, H, eps);
    const inter = w.gelu(`${s}/mlp/act`, w.linear(`${s}/mlp/c_fc`, `${p}.mlp.c_fc`, m, H, F));
    x = w.op(s, 'Add', [x, w.linear(`${s}/mlp/c_proj`, `${p}.mlp.c_proj`, inter, F, H)]);
  }
  const final = w.layerNorm('/transformer/ln_f', 'transformer.ln_f', x, H, eps);
  const logits = w.op('/lm_head', 'MatMul', [final, w.weight('lm_head.weight', [H, cfg.vocab])]);
  g.output('logits', DataType.FLOAT, [batch, seq, cfg.vocab]);
  return makeModel(renameValue(g.build(), logits, 'logits'), { opset: 17, producerName: 'onnx-slim test/helpers/transformer' });
}

/** Seeded token ids in [0, vocab) as an int64 [batch, seq] tensor. */
export function randomInputIds(vocab: number, batch: number, seq: number, seed = 0): Tensor {
  const ids = new BigInt64Array(batch * seq);
  let s = streamSeed(seed, 'input_ids');
  for (let i = 0; i < ids.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    ids[i] = BigInt(Math.floor((s / 4294967296) * vocab));
  }
  return Tensor.fromArray(DataType.INT64, [batch, seq], ids);
}
