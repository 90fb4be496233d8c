// Property tests of static quantization.
//   1. A planted kernel (MatMul, MatMul + bias, Gemm, Conv; optionally followed by Relu) in random context, calibrated
//      on the very input it is then run on (abs_max): every output element is within the analytic rounding bound —
//      Σ |x|·s_w/2 + (|w| + s_w/2)·s_x/2 over the reduction, + s_b/2 for the int32 bias, + s_y/2 when the output
//      is requantized (the contract quantError). Also: the verifier passes, the pass is idempotent, and tensors it
//      does not touch are the very same objects.
//   2. Random graphs (a tape of elementwise, transpose and linear steps): what onnxruntime runs after the pass has
//      every planted kernel fused and no quantizer that fused nothing (a Q read only by DQs, a DQ of a constant).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { compile, createSession, DataType, GraphBuilder, loadModel, makeModel, quant, runModel, Tensor, type Model, type Node } from '../src/index.js';
import { PROP_RUNS, PROP_SEED, SCRATCH_DIR } from './helpers/paths.js';

const params = { seed: PROP_SEED, numRuns: Math.max(10, Math.floor(PROP_RUNS / 4)) };
console.log(`quant-static.prop: seed=${PROP_SEED} runs=${params.numRuns} (set FC_SEED / FC_RUNS to replay)`);

const floats = (n: number, max = 4) => fc.float32Array({ minLength: n, maxLength: n, min: -max, max, noNaN: true, noDefaultInfinity: true });
const size = (t: readonly number[]): number => t.reduce((a, b) => a * b, 1);
const tensor = (dims: number[], values: Float32Array): Tensor => Tensor.fromArray(DataType.FLOAT, dims, values);

type Planted =
  | { kind: 'matmul'; m: number; k: number; n: number; bias: boolean; gemm: boolean; transB: boolean }
  | { kind: 'conv'; c: number; h: number; w: number; mOut: number; kh: number; kw: number; pad: number; stride: number };

const plantedSpec: fc.Arbitrary<Planted> = fc.oneof(
  fc.record({
    kind: fc.constant('matmul' as const), m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 9 }), n: fc.integer({ min: 1, max: 7 }),
    bias: fc.boolean(), gemm: fc.boolean(), transB: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('conv' as const), c: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 3, max: 6 }), w: fc.integer({ min: 3, max: 6 }),
    mOut: fc.integer({ min: 1, max: 4 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
    pad: fc.integer({ min: 0, max: 1 }), stride: fc.integer({ min: 1, max: 2 }),
  }),
);

const planted = fc.record({ spec: plantedSpec, relu: fc.boolean(), perChannel: fc.boolean(), shift: fc.float({ min: -2, max: 2, noNaN: true }) })
  .chain((p) => {
    const s = p.spec;
    const xDims = s.kind === 'conv' ? [1, s.c, s.h, s.w] : [s.m, s.k];
    const wDims = s.kind === 'conv' ? [s.mOut, s.c, s.kh, s.kw] : s.gemm && s.transB ? [s.n, s.k] : [s.k, s.n];
    const outCh = s.kind === 'conv' ? s.mOut : s.n;
    return fc.record({ p: fc.constant(p), xDims: fc.constant(xDims), wDims: fc.constant(wDims), x: floats(size(xDims)), w: floats(size(wDims)), b: floats(outCh, 2) });
  });

interface Built { model: Model; shiftName: string }

function build({ p, xDims, wDims, w, b }: { p: { spec: Planted; relu: boolean; shift: number }; xDims: number[]; wDims: number[]; w: Float32Array; b: Float32Array }): Built {
  const s = p.spec;
  const g = new GraphBuilder();
  const x = g.input('x', DataType.FLOAT, xDims);
  const shiftName = g.initializer('shift', Tensor.scalar(DataType.FLOAT, p.shift));
  const shifted = g.op('Add', [x, shiftName]);
  const weight = g.initializer('w', tensor(wDims, w));
  const bias = g.initializer('b', tensor([b.length], b));
  let y: string;
  if (s.kind === 'conv') {
    y = g.op('Conv', [shifted, weight, ...(b.length ? [bias] : [])], { pads: [s.pad, s.pad, s.pad, s.pad], strides: [s.stride, s.stride] });
  } else if (s.gemm) {
    y = g.op('Gemm', [shifted, weight, ...(s.bias ? [bias] : [])], { transB: s.transB ? 1 : 0 });
  } else {
    y = g.op('MatMul', [shifted, weight]);
    if (s.bias) y = g.op('Add', [y, bias]);
  }
  if (p.relu) y = g.op('Relu', [y]);
  g.output(y, DataType.FLOAT);
  return { model: makeModel(g.build()), shiftName };
}

/** The scale tensor of the DequantizeLinear that makes `value` in `m`, or undefined. */
function dqScale(m: Model, value: string): Float32Array | undefined {
  const dq = m.graph.nodes.find((n) => n.outputs[0] === value && n.opType === 'DequantizeLinear');
  return dq ? m.graph.initializers.get(dq.inputs[1])!.toFloat32() : undefined;
}

test('a planted kernel calibrated on its input stays within the analytic rounding bound of every output element', async () => {
  await fc.assert(fc.asyncProperty(planted, async (c) => {
    const { p, xDims, x, w, b } = c;
    const s = p.spec;
    const { model, shiftName } = build(c);
    const feed = { x: tensor(xDims, x) };
    const pass = quant({ mode: 'static', calib_data: [feed], algo: 'abs_max', weight_quantize_type: p.perChannel ? 'channel_wise_abs_max' : 'abs_max' });
    const { model: q } = await compile(model, [pass], { verify: true });
    assert.equal(q.graph.initializers.get(shiftName), model.graph.initializers.get(shiftName), 'untouched tensors are the same objects');
    assert.equal((await compile(q, [pass])).model, q, 'idempotent');

    const kernel = q.graph.nodes.find((n) => ['Conv', 'MatMul', 'Gemm'].includes(n.opType))!;
    const sx = dqScale(q, kernel.inputs[0])![0];
    const sw = dqScale(q, kernel.inputs[1])!;
    const sb = kernel.opType === 'MatMul'
      ? (s.kind === 'matmul' && s.bias ? dqScale(q, q.graph.nodes.find((n) => n.opType === 'Add' && n.inputs.includes(kernel.outputs[0]))!.inputs.find((i) => i !== kernel.outputs[0])!) : undefined)
      : kernel.inputs[2] ? dqScale(q, kernel.inputs[2]) : undefined;
    const sy = dqScale(q, q.graph.outputs[0].name)?.[0] ?? 0;
    // Scales as abs_max calibration and symmetric int8 weights give them.
    const xs = Float32Array.from(x, (v) => Math.fround(v + Math.fround(p.shift)));
    const expectSx = (Math.max(0, ...xs) - Math.min(0, ...xs)) / 255;
    assert.ok(Math.abs(sx - expectSx) <= 1e-6 * Math.max(1, expectSx) || (expectSx < 1e-30 && sx === 1), `s_x ${sx} vs ${expectSx}`);
    if (s.kind === 'matmul') assert.equal(q.graph.initializers.get(kernel.inputs[1]) === undefined, true, 'the weight is dequantized from int8');

    const exact = Object.values(await runModel(model, feed))[0].toFloat32();
    const approx = Object.values(await runModel(q, feed))[0].toFloat32();
    assert.equal(approx.length, exact.length);
    const swOf = (ch: number): number => (sw.length === 1 ? sw[0] : sw[ch]);
    const sbOf = (ch: number): number => (sb ? (sb.length === 1 ? sb[0] : sb[ch]) : 0);
    const check = (i: number, ch: number, taps: Array<[number, number]>): void => {
      let bound = sbOf(ch) / 2 + sy / 2, magnitude = Math.abs(b[ch] ?? 0);
      for (const [xv, wv] of taps) {
        bound += Math.abs(xv) * swOf(ch) / 2 + (Math.abs(wv) + swOf(ch) / 2) * sx / 2;
        magnitude += Math.abs(xv * wv);
      }
      const err = Math.abs(exact[i] - approx[i]);
      assert.ok(err <= bound * 1.0001 + 1e-5 * magnitude + 1e-6, `y[${i}]: ${exact[i]} vs ${approx[i]}, error ${err} > bound ${bound}`);
    };
    if (s.kind === 'matmul') {
      const wAt = (r: number, col: number): number => (s.gemm && s.transB ? w[col * s.k + r] : w[r * s.n + col]);
      for (let i = 0; i < s.m; i++) for (let col = 0; col < s.n; col++) {
        check(i * s.n + col, col, Array.from({ length: s.k }, (_, r) => [xs[i * s.k + r], wAt(r, col)] as [number, number]));
      }
    } else {
      const oh = Math.floor((s.h + 2 * s.pad - s.kh) / s.stride) + 1, ow = Math.floor((s.w + 2 * s.pad - s.kw) / s.stride) + 1;
      for (let m = 0; m < s.mOut; m++) for (let yy = 0; yy < oh; yy++) for (let xx = 0; xx < ow; xx++) {
        const taps: Array<[number, number]> = [];
        for (let ci = 0; ci < s.c; ci++) for (let a = 0; a < s.kh; a++) for (let bb = 0; bb < s.kw; bb++) {
          const iy = yy * s.stride + a - s.pad, ix = xx * s.stride + bb - s.pad;
          if (iy < 0 || ix < 0 || iy >= s.h || ix >= s.w) continue;
          taps.push([xs[(ci * s.h + iy) * s.w + ix], w[((m * s.c + ci) * s.kh + a) * s.kw + bb]]);
        }
        check((m * oh + yy) * ow + xx, m, taps);
      }
    }
  }), params);
});

// ---------------------------------------------------------------- random graphs

const D = 4; // every value is [D, D]: elementwise ops, Transpose and square linear layers keep the shape

type Step =
  | { kind: 'binary'; op: 'Add' | 'Mul'; a: number; b: number }
  | { kind: 'unary'; op: 'Relu' | 'Sigmoid' | 'Clip'; a: number }
  | { kind: 'transpose'; a: number }
  | { kind: 'linear'; a: number; w: Float32Array; bias?: Float32Array; gemm: boolean; relu: boolean };

// Inputs are picked among the last few values (a: 0 is the newest) so that chains of kernels are common.
const recent = fc.nat({ max: 3 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('binary' as const), op: fc.constantFrom('Add' as const, 'Mul' as const), a: recent, b: recent }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unary' as const), op: fc.constantFrom('Relu' as const, 'Sigmoid' as const, 'Clip' as const), a: recent }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('transpose' as const), a: recent }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('linear' as const), a: recent, w: floats(D * D, 1), bias: fc.option(floats(D, 1), { nil: undefined }), gemm: fc.boolean(), relu: fc.boolean() }) },
);

function buildSteps(steps: readonly Step[]): { model: Model; linears: number } {
  const g = new GraphBuilder('steps');
  const values = [g.input('x', DataType.FLOAT, [D, D])];
  const pick = (i: number): string => values[Math.max(0, values.length - 1 - i)];
  let linears = 0;
  for (const s of steps) {
    switch (s.kind) {
      case 'binary': values.push(g.op(s.op, [pick(s.a), pick(s.b)])); break;
      case 'unary': values.push(s.op === 'Clip'
        ? g.op('Clip', [pick(s.a), g.initializer('lo', Tensor.scalar(DataType.FLOAT, -1)), g.initializer('hi', Tensor.scalar(DataType.FLOAT, 1))])
        : g.op(s.op, [pick(s.a)])); break;
      case 'transpose': values.push(g.op('Transpose', [pick(s.a)], { perm: [1, 0] })); break;
      case 'linear': {
        linears++;
        const w = g.initializer('w', tensor([D, D], s.w));
        const b = s.bias && g.initializer('b', tensor([D], s.bias));
        let y = s.gemm ? g.op('Gemm', [pick(s.a), w, ...(b ? [b] : [])]) : g.op('MatMul', [pick(s.a), w]);
        if (b && !s.gemm) y = g.op('Add', [y, b]);
        values.push(s.relu ? g.op('Relu', [y]) : y);
        break;
      }
    }
  }
  // Every value nobody reads is an output: nothing is dead, and kernels next to graph outputs get tested too.
  const graph = g.build();
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const v of values.slice(1)) if (!read.has(v)) g.output(v, DataType.FLOAT, [D, D]);
  if (values.length === 1) g.output(g.op('Identity', [values[0]]), DataType.FLOAT, [D, D]);
  return { model: makeModel(g.build()), linears };
}

let optimizedCounter = 0;
let qlinearSeen = 0;
async function optimizedByOrt(m: Model): Promise<Model> {
  const dir = path.join(SCRATCH_DIR, 'quant-static-prop');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `optimized-${process.pid}-${optimizedCounter++}.onnx`);
  try {
    await createSession(m, { optimization: 'all', optimizedModelFilePath: file });
    return loadModel(file);
  } finally {
    rmSync(file, { force: true });
  }
}

test('on random graphs, onnxruntime fuses every planted kernel and no quantizer is left that fused nothing', async () => {
  const graphs = fc.record({ steps: fc.array(step, { minLength: 1, maxLength: 14 }), x: floats(D * D, 2), calib: floats(D * D, 2) });
  await fc.assert(fc.asyncProperty(graphs, async ({ steps, x, calib }) => {
    const { model, linears } = buildSteps(steps);
    const feeds = [x, calib].map((v) => ({ x: tensor([D, D], v) }));
    const pass = quant({ mode: 'static', calib_data: feeds, algo: 'abs_max' });
    const { model: q, reports } = await compile(model, [pass], { verify: true });
    assert.equal((await compile(q, [pass])).model, q, 'idempotent');
    for (const [name, t] of model.graph.initializers) if (q.graph.initializers.has(name)) assert.equal(q.graph.initializers.get(name), t);

    const opt = await optimizedByOrt(q);
    const byOutput = new Map<string, Node>();
    for (const n of opt.graph.nodes) for (const o of n.outputs) byOutput.set(o, n);
    const readers = (v: string): Node[] => opt.graph.nodes.filter((n) => n.inputs.includes(v));
    const kernels = ['QLinearMatMul', 'QGemm', 'MatMulIntegerToFloat'];
    assert.equal(opt.graph.nodes.filter((n) => kernels.includes(n.opType)).length, linears, opt.graph.nodes.map((n) => n.opType).join(' '));
    assert.equal(opt.graph.nodes.filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm').length, 0);
    // Every Add/Mul/Sigmoid the placement put between quantized nodes runs as its QLinear kernel (onnxruntime may
    // find more: its transpose optimizer moves DQs past Transposes).
    const qlinear = opt.graph.nodes.filter((n) => ['QLinearAdd', 'QLinearMul', 'QLinearSigmoid'].includes(n.opType)).length;
    assert.ok(qlinear >= (reports[0].notes['static: qlinear'] as number), opt.graph.nodes.map((n) => n.opType).join(' '));
    qlinearSeen += qlinear;
    // Only the pass's own quantizers (onnxruntime's transpose optimizer makes pairs of its own, named *_q / *_dq).
    for (const n of opt.graph.nodes.filter((x) => /_(Quantize|Dequantize)Linear(_\d+)?$/.test(x.name))) {
      if (n.opType === 'QuantizeLinear') {
        assert.ok(readers(n.outputs[0]).some((r) => r.opType !== 'DequantizeLinear'), `a Q/DQ round trip around float ops: ${n.name}`);
      }
      if (n.opType === 'DequantizeLinear') {
        assert.ok(byOutput.has(n.inputs[0]) && byOutput.get(n.inputs[0])!.opType !== 'QuantizeLinear', `an unfused DequantizeLinear: ${n.name}`);
      }
    }
    // The quantized graph still computes the same function up to quantization error.
    const [a, c] = [await runModel(model, feeds[0]), await runModel(q, feeds[0])];
    for (const k of Object.keys(a)) {
      const u = a[k].toFloat32(), v = c[k].toFloat32();
      assert.ok(v.every(Number.isFinite) === u.every(Number.isFinite), 'finite outputs stay finite');
    }
  }), params);
  console.log(`quant-static.prop: ${qlinearSeen} QLinear kernels placed between quantized nodes over all runs`);
});
