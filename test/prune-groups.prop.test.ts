// Property tests of the prune pass on planted groups of every target kind the dependency analysis follows:
// multi-head attention, grouped-query attention, SwiGLU, residual sums, concatenated conv branches and depthwise
// convs. Units whose weights are all zero are the least important under l1; removing them keeps the outputs
// allclose in onnxruntime (optimizations off), the verifier passes and output shapes never change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkContract, compile, DataType, GraphBuilder, makeModel, prune, runModel, Tensor, type Model } from '../src/index.js';
import { contractOf } from '../src/passes/pass.js';
import { rng } from './helpers/feeds.js';
import { PROP_RUNS, PROP_SEED } from './helpers/paths.js';

const params = { seed: PROP_SEED, numRuns: Math.max(1, Math.ceil(PROP_RUNS / 2)) };
console.log(`prune-groups.prop: seed=${PROP_SEED} runs=${params.numRuns} (set FC_SEED / FC_RUNS to replay)`);

const KINDS = ['heads', 'gqa', 'swiglu', 'residual', 'concat', 'depthwise'] as const;
type Kind = (typeof KINDS)[number];
const scenario = fc.record({
  kind: fc.constantFrom(...KINDS),
  units: fc.integer({ min: 2, max: 5 }),
  zeros: fc.nat(),
  seed: fc.nat(),
});

const D = 8; // model width of the transformer kinds
const HEAD = 2; // head size
const REP = 2; // query heads per key/value head (gqa)
const isConv = (k: Kind): boolean => k === 'concat' || k === 'depthwise';

/** Random weights with |w| in [0.1, 1], zero where `zeroAt(index along axis)` holds. */
function weights(next: () => number) {
  return (dims: number[], axis: number, zeroAt: (i: number) => boolean): Tensor => {
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const n = dims.reduce((a, b) => a * b, 1);
    return Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from({ length: n }, (_, i) =>
      (zeroAt(Math.floor(i / inner) % dims[axis]) ? 0 : (0.1 + 0.9 * next()) * (next() < 0.5 ? -1 : 1))));
  };
}

function plant(kind: Kind, units: number, zero: ReadonlySet<number>, seed: number): Model {
  const w = weights(rng(seed));
  const b = new GraphBuilder(kind);
  const ints = (name: string, v: number[]) => b.initializer(name, Tensor.fromArray(DataType.INT64, [v.length], BigInt64Array.from(v, BigInt)));
  const x = b.input('x', DataType.FLOAT, isConv(kind) ? [1, 3, 5, 5] : [1, 3, D]);
  const pre = b.op('Tanh', [x]);
  let y: string;
  if (kind === 'heads' || kind === 'gqa') {
    const kv = units, q = kind === 'gqa' ? units * REP : units;
    const qUnit = (c: number) => zero.has(Math.floor(c / HEAD / (q / kv)));
    const kvUnit = (c: number) => zero.has(Math.floor(c / HEAD));
    const proj = (name: string, heads: number, zeroAt: (c: number) => boolean) =>
      b.op('Add', [b.op('MatMul', [pre, b.initializer(`${name}.w`, w([D, heads * HEAD], 1, zeroAt))]), b.initializer(`${name}.b`, w([heads * HEAD], 0, zeroAt))]);
    const split = (v: string, heads: number) => b.op('Reshape', [v, ints(`split${heads}`, [0, 0, heads, HEAD])]);
    const repeat = (v: string) => (kind === 'gqa'
      ? b.op('Reshape', [b.op('Expand', [b.op('Unsqueeze', [v, ints('ax3', [3])]), ints('rep', [1, 1, 1, REP, 1])]), ints('merge_rep', [0, 0, -1, HEAD])])
      : v);
    const qh = b.op('Transpose', [split(proj('q', q, qUnit), q)], { perm: [0, 2, 1, 3] });
    const kh = b.op('Transpose', [repeat(split(proj('k', kv, kvUnit), kv))], { perm: [0, 2, 3, 1] });
    const vh = b.op('Transpose', [repeat(split(proj('v', kv, kvUnit), kv))], { perm: [0, 2, 1, 3] });
    const probs = b.op('Softmax', [b.op('Mul', [b.op('MatMul', [qh, kh]), b.initializer('scale', Tensor.scalar(DataType.FLOAT, 0.7))])], { axis: -1 });
    const ctx = b.op('Reshape', [b.op('Transpose', [b.op('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] }), ints('merge', [0, 0, q * HEAD])]);
    y = b.op('MatMul', [ctx, b.initializer('o.w', w([q * HEAD, D], 0, qUnit))]);
  } else if (kind === 'swiglu') {
    const z = (c: number) => zero.has(c);
    const gate = b.op('MatMul', [pre, b.initializer('gate', w([D, units], 1, z))]);
    const up = b.op('MatMul', [pre, b.initializer('up', w([D, units], 1, z))]);
    y = b.op('MatMul', [b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]), b.initializer('down', w([units, D], 0, z))]);
  } else if (kind === 'residual') {
    const z = (c: number) => zero.has(c);
    const a = b.op('MatMul', [pre, b.initializer('w1', w([D, units], 1, z))]);
    const c = b.op('MatMul', [b.op('Sigmoid', [x]), b.initializer('w3', w([D, units], 1, z))]);
    y = b.op('MatMul', [b.op('Relu', [b.op('Add', [a, c])]), b.initializer('w2', w([units, D], 0, z))]);
  } else if (kind === 'concat') {
    const branch = (name: string) => b.op('Relu', [b.op('Conv', [pre, b.initializer(name, w([units, 3, 3, 3], 0, (c) => zero.has(c)))], { pads: [1, 1, 1, 1] })]);
    const cat = b.op('Concat', [branch('c1'), branch('c2')], { axis: 1 });
    y = b.op('Conv', [cat, b.initializer('c3', w([2, 2 * units, 1, 1], 1, (c) => zero.has(c % units)))]);
  } else {
    const z = (c: number) => zero.has(c);
    const c1 = b.op('Relu', [b.op('Conv', [pre, b.initializer('c1', w([units, 3, 3, 3], 0, z))], { pads: [1, 1, 1, 1] })]);
    const dw = b.op('Relu', [b.op('Conv', [c1, b.initializer('dw', w([units, 1, 3, 3], 0, z))], { group: units, pads: [1, 1, 1, 1] })]);
    y = b.op('Conv', [dw, b.initializer('c2', w([2, units, 1, 1], 1, z))]);
  }
  b.output(y, DataType.FLOAT, isConv(kind) ? [1, 2, 5, 5] : [1, 3, D]);
  return makeModel(b.build(), { opset: 17 });
}

test('prune: zero units of planted heads, GQA, SwiGLU, residual, concat and depthwise groups go with outputs allclose', async () => {
  await fc.assert(fc.asyncProperty(scenario, async (s) => {
    const z = s.zeros % s.units;
    const r = rng(s.seed + 1);
    const order = Array.from({ length: s.units }, (_, i) => i).sort(() => r() - 0.5);
    const model = plant(s.kind, s.units, new Set(order.slice(0, z)), s.seed);
    const pass = prune({ ratio: (z + 0.5) / s.units });
    const { model: out, reports } = await compile(model, [pass], { verify: true, print: () => {} });
    const notes = JSON.stringify(reports[0].notes);
    const rejected = Object.entries(reports[0].notes).filter(([k]) => k.startsWith('left alone'));
    assert.ok(rejected.every(([, why]) => String(why).endsWith('is a graph output')), `only the output producer stays whole: ${notes}`);
    if (z === 0) assert.equal(out, model, notes);
    else assert.notEqual(out, model, notes);
    const dims = isConv(s.kind) ? [1, 3, 5, 5] : [1, 3, D];
    const feed = { x: Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * 4 - 2)) };
    const [before, after] = [await runModel(model, feed), await runModel(out, feed)];
    for (const k of Object.keys(before)) assert.deepEqual(after[k].dims, before[k].dims, 'output shapes never change');
    const failure = checkContract(contractOf(pass), before, after);
    assert.equal(failure, undefined, `${s.kind}: ${failure}`);
  }), params);
});
