// Property tests of the cleanup pass on random op-tape graphs: the contract (exact outputs in onnxruntime with
// its own optimizations off), the verifier, idempotence, and zero-copy of untouched tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertValid, checkContract, cleanup, compile, runModel, type Model, type Tensor } from '../src/index.js';
import { contractOf } from '../src/passes/pass.js';
import { buildTape, tape, tapeFeed } from './helpers/tape.js';
import { PROP_RUNS, PROP_SEED } from './helpers/paths.js';

const params = { seed: PROP_SEED, numRuns: PROP_RUNS };
console.log(`cleanup.prop: seed=${PROP_SEED} runs=${PROP_RUNS} (set FC_SEED / FC_RUNS to replay)`);

const run = async (m: Model): Promise<Record<string, Tensor>> => runModel(m, tapeFeed(7), { optimization: 'disabled' });

test('cleanup keeps outputs bitwise equal (its contract) and verifies', async () => {
  await fc.assert(fc.asyncProperty(tape, async (steps) => {
    const model = buildTape(steps);
    assertValid(model);
    const pass = cleanup();
    const { model: out } = await compile(model, [pass], { verify: true });
    const failure = checkContract(contractOf(pass), await run(model), await run(out));
    assert.equal(failure, undefined, failure);
  }), params);
});

test('cleanup is idempotent: a second run returns the very same model object', async () => {
  await fc.assert(fc.asyncProperty(tape, async (steps) => {
    const once = (await compile(buildTape(steps), [cleanup()])).model;
    const twice = (await compile(once, [cleanup()])).model;
    assert.equal(twice, once);
  }), params);
});

test('tensors cleanup keeps are the same objects (zero-copy)', async () => {
  await fc.assert(fc.asyncProperty(tape, async (steps) => {
    const model = buildTape(steps);
    const { model: out } = await compile(model, [cleanup({ dedupe_initializers: false, fold_constants: false })]);
    for (const [name, t] of out.graph.initializers) {
      const original = model.graph.initializers.get(name);
      if (original) assert.equal(t, original, `initializer ${name} was copied`);
    }
  }), params);
});
