// Property tests of the gradient rules: per op, fast-check draws shapes, attributes and a seed for the values; the
// one-op graph gets loss = Σ op(x) ⊙ W (fixed random W), is differentiated, and every analytic gradient must match
// central finite differences of the loss run in onnxruntime (optimizations off). Graphs are float64 wherever
// onnxruntime's CPU kernels take double, so a wrong factor or a missing broadcast reduction fails by orders of
// magnitude; float32-only ops (Conv, pools, Erf, ...) use larger steps and percent-level tolerances. Inputs of
// piecewise ops are drawn away from their kinks (and MaxPool windows without near-ties), where FD would be wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DataType, type GraphBuilder, Tensor } from '../src/index.js';
import { rng } from '../src/runtime/feeds.js';
import { PROP_RUNS, PROP_SEED } from './helpers/paths.js';
import { FLOAT_TOLERANCE, scenarioMismatch, type Scenario } from './helpers/finite-diff.js';

// Each op is its own property: fewer runs than the suite default keeps the file near 30 s.
const RUNS = process.env.FC_RUNS ? PROP_RUNS : 10;
const params = { seed: PROP_SEED, numRuns: RUNS, includeErrorInReport: true };
console.log(`grad.prop: seed=${PROP_SEED} runs=${RUNS} per op (set FC_SEED / FC_RUNS to replay)`);

const D = DataType.DOUBLE, F = DataType.FLOAT;
type X = Readonly<Record<string, string>>;

/** `n` values in [lo, hi), at least `margin` away from every kink. */
function values(seed: number, n: number, lo = -1, hi = 1, kinks: readonly number[] = [], margin = 0.05): number[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => {
    for (;;) {
      const v = lo + (hi - lo) * next();
      if (kinks.every((k) => Math.abs(v - k) >= margin)) return v;
    }
  });
}

/** Distinct values 0.1 apart in random order: pooling windows never hold near-ties. */
function distinct(seed: number, n: number): number[] {
  const next = rng(seed);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(next() * (i + 1)); [v[i], v[j]] = [v[j], v[i]]; }
  return v;
}

const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
const int64 = (b: GraphBuilder, name: string, v: readonly number[]): string =>
  b.initializer(name, Tensor.fromArray(DataType.INT64, [v.length], BigInt64Array.from(v, (x) => BigInt(x))));

async function check(s: Scenario): Promise<void> {
  const bad = await scenarioMismatch(s);
  assert.equal(bad, undefined, bad);
}

const seed = fc.integer({ min: 1, max: 2 ** 30 });
const dims = (maxRank = 3, maxDim = 3) => fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: 1, maxLength: maxRank });

/** A shape and another that broadcasts against it (a suffix with some dims set to 1), in random order. */
const broadcastPair = fc.record({ full: dims(), drop: fc.nat(3), ones: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), swap: fc.boolean() })
  .map(({ full, drop, ones, swap }) => {
    const small = full.slice(Math.min(drop, full.length - 1)).map((d, i) => (ones[i] ? 1 : d));
    return swap ? [small, full] : [full, small];
  });

function binary(op: string, lo = -1, hi = 1): void {
  test(`grad ${op}: broadcasting binary op matches finite differences`, async () => {
    await fc.assert(fc.asyncProperty(broadcastPair, seed, async ([a, b], s) => {
      await check({
        dtype: D, seed: s,
        inputs: [{ name: 'a', dims: a, values: values(s, size(a), lo, hi), grad: true }, { name: 'b', dims: b, values: values(s + 1, size(b), lo, hi), grad: true }],
        build: (g, x) => g.op(op, [x.a, x.b]),
      });
    }), params);
  });
}

binary('Add');
binary('Sub');
binary('Mul');
test('grad Div: broadcasting, denominators away from 0', async () => {
  await fc.assert(fc.asyncProperty(broadcastPair, seed, async ([a, b], s) => {
    await check({
      dtype: D, seed: s,
      inputs: [{ name: 'a', dims: a, values: values(s, size(a)), grad: true }, { name: 'b', dims: b, values: values(s + 1, size(b), -2, 2, [0], 0.5), grad: true }],
      build: (g, x) => g.op('Div', [x.a, x.b]),
    });
  }), params);
});
binary('Pow', 0.5, 1.5);

function unary(op: string, dtype: DataType.FLOAT | DataType.DOUBLE, lo = -1, hi = 1, kinks: readonly number[] = [], attrs: (s: number) => Record<string, number | string> = () => ({}), opset = 17): void {
  test(`grad ${op}: matches finite differences`, async () => {
    await fc.assert(fc.asyncProperty(dims(), seed, async (d, s) => {
      await check({
        dtype, seed: s, opset,
        inputs: [{ name: 'x', dims: d, values: values(s, size(d), lo, hi, kinks, dtype === F ? 0.1 : 0.05), grad: true }],
        build: (g, x) => g.op(op, [x.x], attrs(s)),
      });
    }), params);
  });
}

unary('Sqrt', D, 0.3, 2);
unary('Neg', D);
unary('Exp', D);
unary('Log', D, 0.3, 2);
unary('Reciprocal', D, 0.5, 2);
unary('Identity', D);
unary('Dropout', D);
unary('Relu', D, -1, 1, [0]);
unary('Sigmoid', D, -3, 3);
unary('Tanh', D, -2, 2);
unary('LeakyRelu', F, -1, 1, [0], (s) => ({ alpha: { type: 'float', value: 0.05 + (s % 7) / 10 } as never }));
unary('HardSigmoid', F, -4, 4, [-2.5, 2.5]);
unary('HardSwish', F, -5, 5, [-3, 3]);
unary('Erf', F, -2, 2);
unary('Gelu', F, -3, 3, [], () => ({}), 20);
unary('Gelu', F, -3, 3, [], () => ({ approximate: 'tanh' }), 20);

test('grad Sum: three broadcasting inputs', async () => {
  await fc.assert(fc.asyncProperty(broadcastPair, seed, async ([a, b], s) => {
    await check({
      dtype: D, seed: s,
      inputs: [{ name: 'a', dims: a, values: values(s, size(a)), grad: true }, { name: 'b', dims: b, values: values(s + 1, size(b)), grad: true },
        { name: 'c', dims: [1], values: [0.3], grad: true }],
      build: (g, x) => g.op('Sum', [x.a, x.b, x.c]),
    });
  }), params);
});

test('grad Clip: x, and tensor min/max (PACT clipping level) away from the bounds', async () => {
  await fc.assert(fc.asyncProperty(dims(), seed, fc.constantFrom('both', 'max', 'min'), async (d, s, which) => {
    const lo = -0.5 - (s % 5) / 10, hi = 0.4 + (s % 3) / 10;
    const inputs = [{ name: 'x', dims: d, values: values(s, size(d), -1.5, 1.5, [lo, hi], 0.05), grad: true },
      { name: 'lo', dims: [], values: [lo], grad: true }, { name: 'hi', dims: [], values: [hi], grad: true }];
    await check({
      dtype: D, seed: s, inputs: inputs.filter((i) => i.name === 'x' || which === 'both' || i.name === (which === 'max' ? 'hi' : 'lo')),
      build: (g, x) => g.op('Clip', [x.x, which === 'max' ? '' : x.lo, ...(which === 'min' ? [] : [x.hi])]),
    });
  }), params);
});

for (const op of ['Softmax', 'LogSoftmax']) {
  test(`grad ${op}: any axis`, async () => {
    await fc.assert(fc.asyncProperty(dims(3, 4), seed, fc.integer({ min: -3, max: 2 }), async (d, s, axis) => {
      const a = ((axis % d.length) + d.length) % d.length;
      await check({ dtype: D, seed: s, inputs: [{ name: 'x', dims: d, values: values(s, size(d), -2, 2), grad: true }], build: (g, x) => g.op(op, [x.x], { axis: a - (axis < 0 ? d.length : 0) }) });
    }), params);
  });
}

test('grad MatMul: batched, broadcast, 1-D operands', async () => {
  const shapes = fc.record({ m: fc.integer({ min: 1, max: 3 }), k: fc.integer({ min: 1, max: 3 }), n: fc.integer({ min: 1, max: 3 }),
    batchA: fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 2 }), batchB: fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 2 }),
    vecA: fc.boolean(), vecB: fc.boolean() });
  await fc.assert(fc.asyncProperty(shapes, seed, async ({ m, k, n, batchA, batchB, vecA, vecB }, s) => {
    // Batch dims broadcast: where both have one, make them equal or 1.
    const bb = batchB.map((d, i) => { const j = batchA.length - batchB.length + i; return j >= 0 && batchA[j] !== 1 && d !== 1 ? batchA[j] : d; });
    const a = vecA ? [k] : [...batchA, m, k], b = vecB ? [k] : [...bb, k, n];
    await check({
      dtype: D, seed: s,
      inputs: [{ name: 'a', dims: a, values: values(s, size(a)), grad: true }, { name: 'b', dims: b, values: values(s + 1, size(b)), grad: true }],
      build: (g, x) => g.op('MatMul', [x.a, x.b]),
    });
  }), params);
});

test('grad Gemm: alpha, beta, transA, transB, broadcast C', async () => {
  const cfg = fc.record({ m: fc.integer({ min: 1, max: 3 }), k: fc.integer({ min: 1, max: 3 }), n: fc.integer({ min: 1, max: 3 }),
    transA: fc.nat(1), transB: fc.nat(1), alpha: fc.constantFrom(1, 0.5, -2), beta: fc.constantFrom(1, 0.25), c: fc.constantFrom('none', 'full', 'row', 'col', 'scalar') });
  await fc.assert(fc.asyncProperty(cfg, seed, async ({ m, k, n, transA, transB, alpha, beta, c }, s) => {
    const cDims = { none: [], full: [m, n], row: [n], col: [m, 1], scalar: [1] }[c];
    const inputs = [{ name: 'a', dims: transA ? [k, m] : [m, k], values: values(s, m * k), grad: true }, { name: 'b', dims: transB ? [n, k] : [k, n], values: values(s + 1, n * k), grad: true },
      ...(c === 'none' ? [] : [{ name: 'c', dims: cDims, values: values(s + 2, size(cDims)), grad: true }])];
    await check({
      dtype: D, seed: s, inputs,
      build: (g, x) => g.op('Gemm', c === 'none' ? [x.a, x.b] : [x.a, x.b, x.c], { alpha: { type: 'float', value: alpha } as never, beta: { type: 'float', value: beta } as never, transA, transB }),
    });
  }), params);
});

test('grad Conv: 1-D and 2-D, groups, strides, pads (explicit or auto_pad), dilations, bias', async () => {
  const cfg = fc.record({ spatial: fc.integer({ min: 1, max: 2 }), n: fc.integer({ min: 1, max: 2 }), group: fc.integer({ min: 1, max: 2 }),
    cin: fc.integer({ min: 1, max: 2 }), cout: fc.integer({ min: 1, max: 2 }), size: fc.integer({ min: 4, max: 7 }), kernel: fc.integer({ min: 1, max: 3 }),
    stride: fc.integer({ min: 1, max: 2 }), pad: fc.nat(1), dilation: fc.integer({ min: 1, max: 2 }), bias: fc.boolean(),
    autoPad: fc.constantFrom('NOTSET', 'NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID') })
    // The dilated kernel fits; onnxruntime runs SAME padding only undilated.
    .filter((c) => c.size + 2 * (c.autoPad === 'NOTSET' ? c.pad : 0) >= (c.kernel - 1) * c.dilation + 1 && (c.dilation === 1 || !c.autoPad.startsWith('SAME')));
  await fc.assert(fc.asyncProperty(cfg, seed, async (c, s) => {
    const sp = Array(c.spatial).fill(c.size), k = Array(c.spatial).fill(c.kernel);
    const xDims = [c.n, c.group * c.cin, ...sp], wDims = [c.group * c.cout, c.cin, ...k];
    await check({
      dtype: F, seed: s, tolerance: { eps: 0.05, rtol: 2e-3, atol: 2e-3 },
      inputs: [{ name: 'x', dims: xDims, values: values(s, size(xDims)), grad: true }, { name: 'w', dims: wDims, values: values(s + 1, size(wDims)), grad: true },
        ...(c.bias ? [{ name: 'b', dims: [c.group * c.cout], values: values(s + 2, c.group * c.cout), grad: true }] : [])],
      build: (g, x) => g.op('Conv', c.bias ? [x.x, x.w, x.b] : [x.x, x.w], {
        group: c.group, strides: Array(c.spatial).fill(c.stride), dilations: Array(c.spatial).fill(c.dilation),
        ...(c.autoPad === 'NOTSET' ? { pads: Array(2 * c.spatial).fill(c.pad) } : { auto_pad: c.autoPad }),
      }),
    });
  }), params);
});

const poolCfg = fc.record({ spatial: fc.integer({ min: 1, max: 2 }), size: fc.integer({ min: 3, max: 6 }), kernel: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 2 }), pad: fc.nat(1) })
  .filter((c) => c.pad < c.kernel);

test('grad MaxPool: kernel, stride, pads', async () => {
  await fc.assert(fc.asyncProperty(poolCfg, seed, async (c, s) => {
    const xDims = [2, 2, ...Array(c.spatial).fill(c.size)];
    // Disjoint windows take the plain-scatter path, checked at opset 13 where scatter-add does not exist.
    await check({
      dtype: D, seed: s, opset: c.stride >= c.kernel ? 13 : 17, tolerance: { eps: 1e-3, rtol: 1e-6, atol: 1e-8 },
      inputs: [{ name: 'x', dims: xDims, values: distinct(s, size(xDims)), grad: true }],
      build: (g, x) => g.op('MaxPool', [x.x], { kernel_shape: Array(c.spatial).fill(c.kernel), strides: Array(c.spatial).fill(c.stride), pads: Array(2 * c.spatial).fill(c.pad) }),
    });
  }), params);
});

test('grad AveragePool: count_include_pad both ways', async () => {
  await fc.assert(fc.asyncProperty(poolCfg, fc.nat(1), seed, async (c, include, s) => {
    const xDims = [2, 3, ...Array(c.spatial).fill(c.size)];
    await check({
      dtype: F, seed: s, tolerance: { eps: 0.05, rtol: 2e-3, atol: 2e-3 },
      inputs: [{ name: 'x', dims: xDims, values: values(s, size(xDims)), grad: true }],
      build: (g, x) => g.op('AveragePool', [x.x], { kernel_shape: Array(c.spatial).fill(c.kernel), strides: Array(c.spatial).fill(c.stride), pads: Array(2 * c.spatial).fill(c.pad), count_include_pad: include }),
    });
  }), params);
});

test('grad GlobalAveragePool', async () => {
  await fc.assert(fc.asyncProperty(dims(2, 4), seed, async (sp, s) => {
    const xDims = [2, 2, ...sp];
    await check({ dtype: F, seed: s, tolerance: { eps: 0.05, rtol: 2e-3, atol: 2e-3 }, inputs: [{ name: 'x', dims: xDims, values: values(s, size(xDims)), grad: true }], build: (g, x) => g.op('GlobalAveragePool', [x.x]) });
  }), params);
});

test('grad LayerNormalization: input, scale and bias, any axis', async () => {
  await fc.assert(fc.asyncProperty(dims(3, 4).filter((d) => d.length >= 1), seed, fc.nat(2), async (d, s, axisPick) => {
    const axis = axisPick % d.length;
    const norm = d.slice(axis);
    await check({
      dtype: D, seed: s,
      inputs: [{ name: 'x', dims: d, values: values(s, size(d), -2, 2), grad: true }, { name: 'scale', dims: norm, values: values(s + 1, size(norm), 0.5, 1.5), grad: true },
        { name: 'bias', dims: norm, values: values(s + 2, size(norm)), grad: true }],
      build: (g, x) => g.op('LayerNormalization', [x.x, x.scale, x.bias], { axis, epsilon: { type: 'float', value: 0.01 } as never }),
    });
  }), params);
});

test('grad BatchNormalization (inference): input, scale, bias and frozen statistics', async () => {
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 3 }), dims(2, 3), seed, async (c, sp, s) => {
    const xDims = [2, c, ...sp];
    await check({
      dtype: D, seed: s,
      inputs: [{ name: 'x', dims: xDims, values: values(s, size(xDims), -2, 2), grad: true }, { name: 'scale', dims: [c], values: values(s + 1, c, 0.5, 1.5), grad: true },
        { name: 'bias', dims: [c], values: values(s + 2, c), grad: true }, { name: 'mean', dims: [c], values: values(s + 3, c), grad: true },
        { name: 'var', dims: [c], values: values(s + 4, c, 0.5, 1.5), grad: true }],
      build: (g, x) => g.op('BatchNormalization', [x.x, x.scale, x.bias, x.mean, x.var], { epsilon: { type: 'float', value: 0.01 } as never }),
    });
  }), params);
});

for (const op of ['ReduceSum', 'ReduceMean']) {
  test(`grad ${op}: axes as attribute or input, keepdims`, async () => {
    const cfg = fc.record({ d: dims(3, 3), axes: fc.subarray([0, 1, 2]), negative: fc.boolean(), keepdims: fc.nat(1), newer: fc.boolean() });
    await fc.assert(fc.asyncProperty(cfg, seed, async ({ d, axes, negative, keepdims, newer }, s) => {
      const ax = axes.filter((a) => a < d.length).map((a) => (negative ? a - d.length : a));
      // Axes are an input from opset 13 for ReduceSum, from 18 for ReduceMean (an attribute before).
      const opset = newer ? 18 : op === 'ReduceSum' ? 13 : 17;
      const attrAxes = op === 'ReduceMean' && !newer;
      await check({
        dtype: D, seed: s, opset,
        inputs: [{ name: 'x', dims: d, values: values(s, size(d)), grad: true }],
        build: (g, x) => g.op(op, attrAxes || ax.length === 0 ? [x.x] : [x.x, int64(g, 'axes', ax)], { keepdims, ...(attrAxes && ax.length ? { axes: ax } : {}) }),
      });
    }), params);
  });
}

test('grad Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand, Identity chain', async () => {
  await fc.assert(fc.asyncProperty(fc.constantFrom('Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Expand'), dims(3, 3), seed, async (op, d, s) => {
    const withOne = [...d, 1];
    const build = (g: GraphBuilder, x: X): string => {
      switch (op) {
        case 'Reshape': return g.op('Reshape', [x.x, int64(g, 'shape', [-1])]);
        case 'Flatten': return g.op('Flatten', [x.x], { axis: s % withOne.length });
        case 'Squeeze': return g.op('Squeeze', [x.x, int64(g, 'axes', [withOne.length - 1])]);
        case 'Unsqueeze': return g.op('Unsqueeze', [x.x, int64(g, 'axes', [0, -1])]);
        case 'Transpose': return g.op('Transpose', [x.x], { perm: [...withOne.keys()].sort((a, b) => ((a * 7 + s) % 5) - ((b * 7 + s) % 5)) });
        default: return g.op('Expand', [x.x, int64(g, 'shape', [2, ...withOne.map((v, i) => (i === withOne.length - 1 ? 3 : v))])]);
      }
    };
    await check({ dtype: D, seed: s, inputs: [{ name: 'x', dims: withOne, values: values(s, size(withOne)), grad: true }], build });
  }), params);
});

test('grad Concat and Split (split input or num_outputs)', async () => {
  await fc.assert(fc.asyncProperty(dims(3, 3), fc.nat(2), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.boolean(), seed, async (d, axisPick, parts, numOutputs, s) => {
    const axis = axisPick % d.length;
    const pieces = parts.map((p) => d.map((v, i) => (i === axis ? p : v)));
    const total = parts.reduce((a, b) => a + b, 0);
    const full = d.map((v, i) => (i === axis ? total : v));
    await check({
      dtype: D, seed: s, opset: numOutputs ? 18 : 17,
      inputs: [...pieces.map((p, i) => ({ name: `p${i}`, dims: p, values: values(s + i, size(p)), grad: true })), { name: 'y', dims: full, values: values(s + 9, size(full)), grad: true }],
      build: (g, x) => {
        const cat = g.op('Concat', pieces.map((_, i) => x[`p${i}`]), { axis });
        // Split y and use all but the last part: the unused output must contribute zeros.
        const outs = numOutputs
          ? g.node('Split', [x.y], { axis, num_outputs: Math.min(2, total) }, { outputs: Math.min(2, total) })
          : g.node('Split', [x.y, int64(g, 'split', parts)], { axis }, { outputs: parts.length });
        const used = outs.length > 1 ? outs.slice(0, -1) : outs;
        const first = g.op('Concat', used, { axis });
        return g.op('Concat', [cat, first], { axis });
      },
    });
  }), params);
});

test('grad Slice: constant starts/ends/axes/steps, negative steps', async () => {
  const cfg = fc.record({ d: dims(3, 5), axis: fc.nat(2), start: fc.integer({ min: -6, max: 6 }), end: fc.integer({ min: -6, max: 6 }), step: fc.constantFrom(1, 2, -1, -2) });
  await fc.assert(fc.asyncProperty(cfg, seed, async ({ d, axis, start, end, step }, s) => {
    const a = axis % d.length;
    const n = d[a];
    const lo = (v: number) => Math.max(0, Math.min(n, v < 0 ? v + n : v));
    fc.pre(step > 0 ? lo(end) > lo(start) : Math.min(n - 1, start < 0 ? start + n : start) > (end < 0 ? end + n : end)); // non-empty
    await check({
      dtype: D, seed: s, inputs: [{ name: 'x', dims: d, values: values(s, size(d)), grad: true }],
      build: (g, x) => g.op('Slice', [x.x, int64(g, 'starts', [start]), int64(g, 'ends', [end]), int64(g, 'axes', [a]), int64(g, 'steps', [step])]),
    });
  }), params);
});

test('grad Gather: any axis, repeated and negative indices accumulate', async () => {
  await fc.assert(fc.asyncProperty(dims(3, 3), fc.nat(2), fc.array(fc.integer({ min: -3, max: 2 }), { minLength: 1, maxLength: 4 }), fc.boolean(), seed, async (d, axisPick, idx, scalar, s) => {
    const axis = axisPick % d.length;
    const indices = (scalar ? idx.slice(0, 1) : idx).map((i) => ((i % d[axis]) + d[axis]) % d[axis] - (i < 0 ? d[axis] : 0));
    // Distinct indices need no accumulation: opset 14 then checks the ScatterND path without reduction.
    const distinctRows = new Set(indices.map((i) => (i < 0 ? i + d[axis] : i))).size === indices.length;
    await check({
      dtype: D, seed: s, opset: distinctRows ? 14 : 17,
      inputs: [{ name: 'x', dims: d, values: values(s, size(d)), grad: true }],
      build: (g, x) => g.op('Gather', [x.x, scalar
        ? g.initializer('idx', Tensor.fromArray(DataType.INT64, [], BigInt64Array.of(BigInt(indices[0]))))
        : int64(g, 'idx', indices)], { axis }),
    });
  }), params);
});

test('grad GatherElements: any axis; one index per row (a label lookup) or repeated indices that accumulate', async () => {
  await fc.assert(fc.asyncProperty(dims(2, 3), fc.nat(2), fc.boolean(), seed, async (d, axisPick, perRow, s) => {
    const axis = axisPick % d.length;
    const idxDims = d.map((n, i) => (i === axis ? (perRow ? 1 : n + 1) : n));
    const r = values(s + 3, size(idxDims));
    const indices = r.map((v) => Math.floor(Math.abs(v) * 997) % d[axis] - (v < 0 ? d[axis] : 0));
    await check({
      dtype: D, seed: s, opset: perRow ? 14 : 17,
      inputs: [{ name: 'x', dims: d, values: values(s, size(d)), grad: true }],
      build: (g, x) => g.op('GatherElements', [x.x, g.initializer('idx', Tensor.fromArray(DataType.INT64, idxDims, BigInt64Array.from(indices, BigInt)))], { axis }),
    });
  }), params);
});

test('grad Where: both branches, broadcast condition', async () => {
  await fc.assert(fc.asyncProperty(broadcastPair, seed, async ([a, b], s) => {
    const cond = values(s + 5, size(a)).map((v) => (v > 0 ? 1 : 0));
    await check({
      dtype: D, seed: s,
      inputs: [{ name: 'c', dims: a, values: cond, dataType: DataType.BOOL }, { name: 'x', dims: a, values: values(s, size(a)), grad: true }, { name: 'y', dims: b, values: values(s + 1, size(b)), grad: true }],
      build: (g, x) => g.op('Where', [x.c, x.x, x.y]),
    });
  }), params);
});

test('grad Cast: float casts pass the gradient back in the input type', async () => {
  await fc.assert(fc.asyncProperty(dims(), seed, async (d, s) => {
    await check({
      dtype: D, seed: s, tolerance: FLOAT_TOLERANCE,
      inputs: [{ name: 'x', dims: d, values: values(s, size(d)), grad: true }],
      build: (g, x) => g.op('Cast', [g.op('Mul', [g.op('Cast', [x.x], { to: DataType.FLOAT }), g.op('Cast', [x.x], { to: DataType.FLOAT })])], { to: DataType.DOUBLE }),
    });
  }), params);
});

test('grad QuantizeLinear→DequantizeLinear: clipped straight-through estimator, per tensor and per axis', async () => {
  const cfg = fc.record({ d: dims(3, 3), perAxis: fc.boolean(), signed: fc.boolean(), axisPick: fc.nat(2) });
  await fc.assert(fc.asyncProperty(cfg, seed, async ({ d, perAxis, signed, axisPick }, s) => {
    const axis = axisPick % d.length;
    const channels = perAxis ? d[axis] : 1;
    const scales = values(s + 1, channels, 0.004, 0.008);
    const zps = values(s + 2, channels, signed ? -20 : 100, signed ? 20 : 140).map(Math.round);
    const qmin = signed ? -128 : 0, qmax = signed ? 127 : 255;
    const lo = (c: number) => (qmin - zps[c]) * scales[c], hi = (c: number) => (qmax - zps[c]) * scales[c];
    // x spans past both ends of the representable range, away from its bounds.
    const x = values(s, size(d), -1.6, 1.6, [...zps.map((_, c) => lo(c)), ...zps.map((_, c) => hi(c))], 0.02);
    const zpType = signed ? DataType.INT8 : DataType.UINT8;
    const params1 = (g: GraphBuilder) => {
      const sc = g.initializer('scale', Tensor.fromArray(F, perAxis ? [channels] : [], Float32Array.from(scales)));
      const zp = g.initializer('zp', Tensor.fromArray(zpType, perAxis ? [channels] : [], signed ? Int8Array.from(zps) : Uint8Array.from(zps)));
      return [sc, zp];
    };
    const shapeFor = d.map((v, i) => (perAxis && i === axis ? v : 1));
    await check({
      dtype: F, seed: s, tolerance: { eps: 1e-3, rtol: 1e-3, atol: 1e-4 },
      inputs: [{ name: 'x', dims: d, values: x, grad: true }],
      build: (g, xs) => {
        const [sc, zp] = params1(g);
        return g.op('DequantizeLinear', [g.op('QuantizeLinear', [xs.x, sc, zp], { axis }), sc, zp], { axis });
      },
      // The surrogate whose true gradient the STE is: clip to the representable range.
      reference: (g, xs) => {
        const bound = (f: (c: number) => number) => g.initializer('bound', Tensor.fromArray(F, perAxis ? shapeFor : [], Float32Array.from(zps.map((_, c) => f(c)))));
        return g.op('Min', [g.op('Max', [xs.x, bound(lo)]), bound(hi)]);
      },
    });
  }), params);
});

test('grad RMSNorm pattern (stories260K): Pow → ReduceMean → Add → Sqrt → Div → Mul → MatMul', async () => {
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 }), seed, async (batch, seq, dim, s) => {
    await check({
      dtype: D, seed: s, opset: 14,
      inputs: [{ name: 'x', dims: [batch, seq, dim], values: values(s, batch * seq * dim, -2, 2), grad: true }, { name: 'weight', dims: [dim], values: values(s + 1, dim, 0.5, 1.5), grad: true },
        { name: 'w', dims: [dim, 3], values: values(s + 2, dim * 3), grad: true }],
      build: (g, x) => {
        const two = g.initializer('two', Tensor.fromArray(D, [], Float64Array.of(2)));
        const eps = g.initializer('eps', Tensor.fromArray(D, [], Float64Array.of(1e-5)));
        const ms = g.op('ReduceMean', [g.op('Pow', [x.x, two])], { axes: [-1], keepdims: 1 });
        const normed = g.op('Div', [x.x, g.op('Sqrt', [g.op('Add', [ms, eps])])]);
        return g.op('MatMul', [g.op('Mul', [normed, x.weight]), x.w]);
      },
    });
  }), params);
});

test('grad Gelu exported as the Erf pattern: x·0.5·(1 + erf(x/√2))', async () => {
  await fc.assert(fc.asyncProperty(dims(), seed, async (d, s) => {
    await check({
      dtype: F, seed: s, inputs: [{ name: 'x', dims: d, values: values(s, size(d), -3, 3), grad: true }],
      build: (g, x) => {
        const c = (v: number) => g.initializer('c', Tensor.fromArray(F, [], Float32Array.of(v)));
        const cdf = g.op('Add', [g.op('Erf', [g.op('Div', [x.x, c(Math.SQRT2)])]), c(1)]);
        return g.op('Mul', [g.op('Mul', [x.x, cdf]), c(0.5)]);
      },
    });
  }), params);
});
