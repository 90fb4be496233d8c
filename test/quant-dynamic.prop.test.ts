// Property tests of the dynamic quantization rules on random planted graphs: each quantized node's error stays
// within its analytic rounding bound (k × scale), the verifier passes, and onnxruntime runs the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compile, DataType, GraphBuilder, makeModel, quant, runModel, Tensor } from '../src/index.js';
import { PROP_RUNS, PROP_SEED } from './helpers/paths.js';

const params = { seed: PROP_SEED, numRuns: Math.max(10, Math.floor(PROP_RUNS / 4)) };
console.log(`quant-dynamic.prop: seed=${PROP_SEED} runs=${params.numRuns} (set FC_SEED / FC_RUNS to replay)`);

const matrix = (rows: number, cols: number) => fc.float32Array({ minLength: rows * cols, maxLength: rows * cols, min: -8, max: 8, noNaN: true, noDefaultInfinity: true });

const planted = fc.record({ m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 9 }), n: fc.integer({ min: 1, max: 7 }), perChannel: fc.boolean() })
  .chain((s) => fc.record({ s: fc.constant(s), x: matrix(s.m, s.k), w: matrix(s.k, s.n), shift: fc.float({ min: -3, max: 3, noNaN: true }) }));

test('quant/dynamic-matmul: |y - ŷ| ≤ Σ_k |x|·s_w/2 + |ŵ|·s_x/2 per element', async () => {
  await fc.assert(fc.asyncProperty(planted, async ({ s, x, w, shift }) => {
    // Random context around the planted MatMul: an Add before it, a Relu after it.
    const b = new GraphBuilder();
    const input = b.input('x', DataType.FLOAT, [s.m, s.k]);
    const shifted = b.op('Add', [input, b.initializer('shift', Tensor.fromArray(DataType.FLOAT, [], Float32Array.of(shift)))]);
    const y = b.op('MatMul', [shifted, b.initializer('w', Tensor.fromArray(DataType.FLOAT, [s.k, s.n], w))]);
    b.output(y, DataType.FLOAT, [s.m, s.n]);
    const model = makeModel(b.build());
    const { model: q } = await compile(model, [quant({ weight_quantize_type: s.perChannel ? 'channel_wise_abs_max' : 'abs_max' })], { verify: true });
    const feed = { x: Tensor.fromArray(DataType.FLOAT, [s.m, s.k], x) };
    const exact = Object.values(await runModel(model, feed))[0].toFloat32();
    const approx = Object.values(await runModel(q, feed))[0].toFloat32();
    // Scales as the pass chose them: x over its observed range (including 0), w symmetric.
    const xs = Float32Array.from(x, (v) => Math.fround(v + shift));
    const sx = (Math.max(0, ...xs) - Math.min(0, ...xs)) / 255;
    const colMax = (c: number) => Math.max(...Array.from({ length: s.k }, (_, r) => Math.abs(w[r * s.n + c])));
    const all = Math.max(...Array.from({ length: s.n }, (_, c) => colMax(c)));
    for (let i = 0; i < s.m; i++) {
      for (let c = 0; c < s.n; c++) {
        const sw = (s.perChannel ? colMax(c) : all) / 127; // symmetric int8 uses [-127, 127]
        let bound = 0, magnitude = 0;
        for (let r = 0; r < s.k; r++) {
          const xv = Math.abs(xs[i * s.k + r]), wv = Math.abs(w[r * s.n + c]);
          bound += xv * sw / 2 + (wv + sw / 2) * sx / 2;
          magnitude += xv * wv;
        }
        const err = Math.abs(exact[i * s.n + c] - approx[i * s.n + c]);
        assert.ok(err <= bound * 1.0001 + 1e-5 * magnitude + 1e-6, `y[${i},${c}]: error ${err} > bound ${bound}`);
      }
    }
  }), params);
});

test('quant/gather-weight: every looked-up value is within half a step of its column scale', async () => {
  const table = fc.record({ v: fc.integer({ min: 1, max: 6 }), h: fc.integer({ min: 1, max: 6 }) })
    .chain((s) => fc.record({ s: fc.constant(s), t: matrix(s.v, s.h), ids: fc.array(fc.nat({ max: s.v - 1 }), { minLength: 1, maxLength: 5 }) }));
  await fc.assert(fc.asyncProperty(table, async ({ s, t, ids }) => {
    const b = new GraphBuilder();
    const input = b.input('ids', DataType.INT64, [ids.length]);
    b.output(b.op('Gather', [b.initializer('table', Tensor.fromArray(DataType.FLOAT, [s.v, s.h], t)), input], { axis: 0 }), DataType.FLOAT, [ids.length, s.h]);
    const model = makeModel(b.build());
    const { model: q } = await compile(model, [quant()], { verify: true });
    const feed = { ids: Tensor.fromArray(DataType.INT64, [ids.length], BigInt64Array.from(ids, BigInt)) };
    const exact = Object.values(await runModel(model, feed))[0].toFloat32();
    const approx = Object.values(await runModel(q, feed))[0].toFloat32();
    for (let i = 0; i < exact.length; i++) {
      const col = i % s.h;
      const scale = Math.max(...Array.from({ length: s.v }, (_, r) => Math.abs(t[r * s.h + col]))) / 127;
      assert.ok(Math.abs(exact[i] - approx[i]) <= scale / 2 * 1.0001 + 1e-7, `value ${i}: ${exact[i]} vs ${approx[i]} (scale ${scale})`);
    }
  }), params);
});
