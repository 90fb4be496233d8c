// Property tests of the fp16 pass on random op-tape graphs, with random keep_io_types and random nodes blocked:
// the allclose contract holds when both models run in onnxruntime-node (optimizations off) wherever every value
// stays within ±16 (the unit-scale activations the contract's atol assumes; fp16 saturates at 65504), the verifier
// passes, a second run returns the same object, float constants convert once and only where a float16 node reads
// them, and no Cast reads another Cast (no float16 → float32 → float16 round trips).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkContract, compile, DataType, floatToHalf, fp16, runModel, Tensor, type Model } from '../src/index.js';
import { contractOf } from '../src/passes/pass.js';
import { inferModelTypes } from '../src/shape/index.js';
import { buildTape, tape, tapeFeed } from './helpers/tape.js';
import { PROP_RUNS, PROP_SEED } from './helpers/paths.js';

const params = { seed: PROP_SEED, numRuns: PROP_RUNS };
console.log(`fp16.prop: seed=${PROP_SEED} runs=${PROP_RUNS} (set FC_SEED / FC_RUNS to replay)`);

/** Every node output exposed as a graph output (to see the magnitudes inside). */
const exposeAll = (m: Model): Model => ({
  ...m,
  graph: { ...m.graph, outputs: [...m.graph.outputs, ...m.graph.nodes.flatMap((n) => n.outputs).filter((o) => !m.graph.outputs.some((x) => x.name === o)).map((name) => ({ name }))] },
});

const asFloat32 = (t: Tensor): Tensor => (t.dataType === DataType.FLOAT16 ? Tensor.fromArray(DataType.FLOAT, t.dims, t.toFloat32()) : t);
const asFloat16 = (t: Tensor): Tensor => Tensor.fromArray(DataType.FLOAT16, t.dims, Uint16Array.from(t.toFloat32(), floatToHalf));

const scenario = fc.record({ steps: tape, keepIo: fc.boolean(), blocked: fc.array(fc.nat(), { maxLength: 3 }) });

test('fp16: allclose contract in onnxruntime, verifier, idempotence, constants converted once and where needed', async () => {
  await fc.assert(fc.asyncProperty(scenario, async ({ steps, keepIo, blocked }) => {
    const model = buildTape(steps);
    const feed = tapeFeed(7);
    const inside = await runModel(exposeAll(model), feed);
    fc.pre(Object.values(inside).every((t) => t.dataType !== DataType.FLOAT || t.toFloat32().every((x) => Math.abs(x) <= 16)));
    const names = model.graph.nodes.map((n) => n.name);
    const blockedNames = names.length ? blocked.map((i) => names[i % names.length]) : [];
    const pass = fp16({ keep_io_types: keepIo, node_block_list: blockedNames });
    const { model: out } = await compile(model, [pass], { verify: true });

    const before = await runModel(model, feed);
    const raw = await runModel(out, keepIo ? feed : { x: asFloat16(feed.x) });
    const after = Object.fromEntries(Object.entries(raw).map(([k, t]) => [k, asFloat32(t)]));
    const failure = checkContract(contractOf(pass), before, after);
    assert.equal(failure, undefined, failure);

    assert.equal((await compile(out, [pass])).model, out, 'a second run returns the same object');

    // Float constants: float16 unless a blocked node reads them; one conversion per tensor object.
    const types = inferModelTypes(out).types;
    const readers = (name: string) => out.graph.nodes.filter((n) => n.inputs.includes(name));
    const converted = new Map<Tensor, Tensor>();
    for (const [name, t] of model.graph.initializers) {
      const now = out.graph.initializers.get(name)!;
      if (t.dataType !== DataType.FLOAT) { assert.equal(now, t, `${name} is untouched`); continue; }
      if (now.dataType === DataType.FLOAT) assert.ok(readers(name).every((n) => n.outputs.every((o) => types.get(o)?.elemType !== DataType.FLOAT16)), `${name} stays float32 only for float32 readers`);
      const half = now.dataType === DataType.FLOAT16 ? now : out.graph.initializers.get(`${name}_fp16`);
      if (!half) continue;
      const seen = converted.get(t);
      if (seen) assert.equal(half, seen, `${name} shares the conversion of its tied twin`);
      converted.set(t, half);
    }
    const producer = new Map(out.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    for (const n of out.graph.nodes) {
      if (n.opType === 'Cast') assert.notEqual(producer.get(n.inputs[0])?.opType, 'Cast', `${n.name} casts a Cast`);
    }
  }), params);
});
