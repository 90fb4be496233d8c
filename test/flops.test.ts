// estimateFlops: hand-computed counts for single ops, a closed form for a tiny BERT, and the inspect field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { DataType } from '../src/ir/dtype.js';
import { Tensor } from '../src/ir/tensor.js';
import { GraphBuilder, makeModel } from '../src/ir/builder.js';
import type { Dim } from '../src/ir/types.js';
import { estimateFlops, formatFlops, NORM_PER_ELEMENT, SOFTMAX_PER_ELEMENT } from '../src/analysis/flops.js';
import { BERT_TINY, buildBert } from './helpers/transformer.js';
import { REAL_MODELS, REPO_ROOT } from './helpers/paths.js';

const FLOAT = DataType.FLOAT;
const weight = (b: GraphBuilder, name: string, dims: number[]): string =>
  b.initializer(name, Tensor.fromArray(FLOAT, dims, new Float32Array(dims.reduce((a, c) => a * c, 1))));

function single(build: (b: GraphBuilder) => string, outShape?: Dim[]): ReturnType<typeof estimateFlops> {
  const b = new GraphBuilder();
  const y = build(b);
  b.output(y, FLOAT, outShape);
  return estimateFlops(makeModel(b.build(), { opset: 17 }));
}

test('MatMul: batched and broadcasting, 2 FLOPs per MAC', () => {
  // [2,1,3,4] × [5,4,6] → [2,5,3,6]: 180 outputs × K=4 MACs × 2
  const f = single((b) => b.op('MatMul', [b.input('a', FLOAT, [2, 1, 3, 4]), b.input('w', FLOAT, [5, 4, 6])]));
  assert.equal(f.total, 2 * 180 * 4);
  assert.deepEqual(f.byOp, { MatMul: 1440 });
  assert.deepEqual(f.unknown, []);
});

test('Gemm with transB and a bias', () => {
  // A [3,4], B [5,4]ᵀ → Y [3,5]: 15 × 4 MACs × 2 + 15 bias adds
  const f = single((b) => b.op('Gemm', [b.input('a', FLOAT, [3, 4]), weight(b, 'w', [5, 4]), weight(b, 'c', [5])], { transB: 1 }));
  assert.equal(f.total, 135);
});

test('Conv: strided, dilated, grouped, with bias', () => {
  // X [1,4,9,9], W [6,2,3,3], group 2, stride 2, dilation 2, pads 1 → Y [1,6,4,4] (96 outputs), (11-5)/2+1 = 4
  const f = single((b) => b.op('Conv', [b.input('x', FLOAT, [1, 4, 9, 9]), weight(b, 'w', [6, 2, 3, 3]), weight(b, 'bias', [6])],
    { group: 2, strides: [2, 2], dilations: [2, 2], pads: [1, 1, 1, 1], kernel_shape: [3, 3] }));
  // each output: C_in/group × 3×3 = 18 MACs
  assert.equal(f.total, 2 * 96 * 18 + 96);
  assert.deepEqual(f.byOp, { Conv: 3552 });
});

test('ConvTranspose: every input element scattered into C_out/group × kernel outputs', () => {
  // X [1,2,3,3], W [2,3,2,2], stride 2 → Y [1,3,6,6]; 18 inputs × 3 × 4 = 216 MACs (= 108 outputs × 2 inputs channels)
  const f = single((b) => b.op('ConvTranspose', [b.input('x', FLOAT, [1, 2, 3, 3]), weight(b, 'w', [2, 3, 2, 2])], { strides: [2, 2] }));
  assert.equal(f.total, 432);
});

test('symbolic dims: given sizes, else 1 and reported; unknown shapes are listed', () => {
  const build = (b: GraphBuilder): string => b.op('MatMul', [b.input('a', FLOAT, ['batch', 'seq', 8]), weight(b, 'w', [8, 4])]);
  const b = new GraphBuilder();
  b.output(build(b), FLOAT);
  const model = makeModel(b.build(), { opset: 17 });
  const asOne = estimateFlops(model);
  assert.equal(asOne.total, 2 * 4 * 8);
  assert.deepEqual(asOne.defaultedDims, ['batch', 'seq']);
  const sized = estimateFlops(model, { dims: { batch: 2, seq: 16 } });
  assert.equal(sized.total, 2 * 2 * 16 * 4 * 8);
  assert.deepEqual(sized.defaultedDims, []);
  assert.match(formatFlops(asOne), /^64 FLOPs \(symbolic dims as 1: batch, seq\)$/);

  const unranked = single((g) => g.op('Relu', [g.op('MatMul', [g.input('a', FLOAT), weight(g, 'w', [8, 4])])]));
  assert.equal(unranked.total, 0);
  assert.deepEqual(unranked.unknown.map((u) => u.op), ['MatMul', 'Relu']);
  assert.match(formatFlops(unranked), /2 ops of unknown shape/);
});

test('tiny BERT matches the closed form per layer', () => {
  const B = 2;
  const S = 8;
  const { layers: L, hidden: H, heads: h, ffn: F } = BERT_TINY;
  const f = estimateFlops(buildBert({ ...BERT_TINY, batch: B, seq: S }));
  assert.deepEqual(f.unknown, []);
  assert.deepEqual(f.defaultedDims, []);
  const T = B * S;
  const matmul = 2 * T * H * H * 4 + 2 * T * H * F * 2 + 2 * B * h * S * S * (H / h) * 2; // Q,K,V,O; FFN in/out; QKᵀ, P·V
  const add = 4 * T * H + T * F + 2 * T * H + T * F; //  linear biases (4 of H, 1 of F, 1 of H), residuals, GELU's 1 + erf
  const layer = matmul + add + (T * H) // the FFN-out bias
    + B * h * S * S // score scaling (Div)
    + SOFTMAX_PER_ELEMENT * B * h * S * S
    + 2 * NORM_PER_ELEMENT * T * H
    + 4 * T * F; // GELU: Div, Erf, Mul, Mul
  const embeddings = T * H + NORM_PER_ELEMENT * T * H; // word + position, LayerNorm
  assert.equal(f.total, embeddings + L * layer);
  assert.equal(f.byOp.MatMul, L * matmul);
  assert.equal(f.byOp.Softmax, L * SOFTMAX_PER_ELEMENT * B * h * S * S);
});

test('inspect --json carries the estimate and the text output one line', () => {
  const CLI = path.join(REPO_ROOT, 'dist/src/cli/main.js');
  const r = spawnSync(process.execPath, [CLI, 'inspect', REAL_MODELS.ppocrDet, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.ok(s.flops.total > 1e6);
  assert.ok(s.flops.byOp.Conv > 0);
  assert.deepEqual(s.flops.unknown, []);
  assert.equal(s.flops.defaultedDims.length, 3); // batch, height, width of the image taken as 1
  const text = spawnSync(process.execPath, [CLI, 'inspect', REAL_MODELS.ppocrDet], { encoding: 'utf8' }).stdout;
  assert.match(text, /\nflops       \d+\.\d\d [KMGT]?FLOPs/);
});

test('com.microsoft MatMulNBits and QAttention (projections + attention)', () => {
  const ms = [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }];
  const run = (build: (b: GraphBuilder) => string): number => {
    const b = new GraphBuilder();
    b.output(build(b), FLOAT);
    return estimateFlops(makeModel(b.build(), { opset: ms })).total;
  };
  // A [2,3,16], N=8, K=16: 48 outputs × 16 MACs × 2
  assert.equal(run((b) => b.op('MatMulNBits', [b.input('a', FLOAT, [2, 3, 16]), b.input('w', DataType.UINT8, [8, 1, 8]),
    b.input('s', FLOAT, [8])], { K: 16, N: 8, bits: 4, block_size: 16 }, { domain: 'com.microsoft' })), 2 * 48 * 16);
  // input [B=2, S=4, D=8], weight [8, 24] (H=8, 2 heads), bias [24]
  const [B, S, D, H, heads] = [2, 4, 8, 8, 2];
  const qa = run((b) => b.op('QAttention', [b.input('x', DataType.UINT8, [B, S, D]), b.input('w', DataType.UINT8, [D, 3 * H]),
    b.input('bias', FLOAT, [3 * H]), b.input('xs', FLOAT, []), b.input('ws', FLOAT, [])], { num_heads: heads }, { domain: 'com.microsoft' }));
  const projections = 2 * B * S * D * 3 * H + B * S * 3 * H;
  assert.equal(qa, projections + 2 * B * S * S * H * 2 + SOFTMAX_PER_ELEMENT * B * heads * S * S);
});
