// The ONNX backend suite through `compile(model, [cleanup()], {verify: true})`: every case compiles and
// verifies; where onnxruntime-node runs the ORIGINAL model and matches the expected outputs, the COMPILED
// model must match them too (and, cleanup's contract being `exact`, match the original bitwise).
// onnxruntime-node lacks many ops and types: those cases are counted, not failed.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadModel } from '../src/io/load.js';
import { compile } from '../src/passes/compile.js';
import { checkContract, exact } from '../src/passes/contract.js';
import { runModel } from '../src/runtime/ort.js';
import { equivalenceSession } from './helpers/feeds.js';
import { cleanup } from '../passes/index.js';
import { Tensor } from '../src/ir/tensor.js';
import { DataType } from '../src/ir/dtype.js';
import { backendCases, compareOutputs, compareTensor, firstLine, readCaseData, runOriginal } from './helpers/backend-suite.js';
import { hasShared } from './helpers/paths.js';


const counts = {
  total: 0, compiled: 0, changedByCleanup: 0, noTensorData: 0, ortUnsupported: 0, ortRunError: 0, ortRun: 0,
  originalMismatch: 0, passed: 0, compiledDiffersBitwise: 0, nondeterministic: 0,
};
const bugs: string[] = [];
const originalMismatches: string[] = [];
const start = performance.now();


type Outputs = Record<string, Tensor>;

test('the comparison is onnx\'s: rtol 1e-3 / atol 1e-7 for floats, NaN equals NaN, integers exact', () => {
  const f = (xs: number[]): Tensor => Tensor.fromArray(DataType.FLOAT, [xs.length], Float32Array.from(xs));
  assert.equal(compareTensor(f([1, NaN, 0]), f([1.0009, NaN, 0])), undefined);
  assert.match(compareTensor(f([1, 2]), f([1, 2.01])) ?? '', /\[1\]/);
  assert.match(compareTensor(f([0]), f([1e-6])) ?? '', /\[0\]/);
  assert.match(compareTensor(f([1, 2]), f([1, 2, 3])) ?? '', /shape/);
  const i = (xs: bigint[]): Tensor => Tensor.fromArray(DataType.INT64, [xs.length], BigInt64Array.from(xs));
  assert.equal(compareTensor(i([1n, 2n]), i([1n, 2n])), undefined);
  assert.match(compareTensor(i([1n, 2n]), i([1n, 3n])) ?? '', /\[1\]/);
  assert.match(compareTensor(i([1n]), f([1])) ?? '', /type/);
});

describe('backend conformance through cleanup', { skip: !hasShared() && 'no shared backend suite' }, () => {
  for (const c of backendCases()) {
    test(c.name, async (t) => {
      counts.total++;
      const bytes = readFileSync(c.modelPath);
      const model = loadModel(c.modelPath);
      let compiled;
      try {
        ({ model: compiled } = await compile(model, [cleanup()], { verify: true }));
      } catch (e) {
        // A pass error or the verifier rejecting the input or output is a failure of this case.
        bugs.push(`${c.name}: compile failed: ${firstLine(e)}`);
        throw e;
      }
      counts.compiled++;
      if (compiled !== model) counts.changedByCleanup++;

      const data = readCaseData(c, model);
      if (!data.ok) { counts.noTensorData++; t.skip(data.reason); return; }
      const { inputs, outputs: expected } = data.data;

      const run = await runOriginal(bytes, data.data);
      if (!run.ok) {
        if (run.cause === 'unsupported') counts.ortUnsupported++; else counts.ortRunError++;
        t.skip(run.reason);
        return;
      }
      const { session, outputs: original } = run;
      counts.ortRun++;
      const originalDiff = compareOutputs(expected, original);
      if (originalDiff) { counts.originalMismatch++; originalMismatches.push(`${c.name}: ${originalDiff}`); }

      let out: Outputs;
      try {
        const after = await equivalenceSession(compiled, true);
        out = await runModel(after, inputs);
        await after.release();
      } catch (e) {
        await session.release();
        bugs.push(`${c.name}: the compiled model does not run: ${firstLine(e)}`);
        throw e;
      }
      const compiledDiff = originalDiff ? undefined : compareOutputs(expected, out);
      let bitwise = checkContract(exact, original, out);
      // Random ops: when the original disagrees with itself, bitwise equality is not owed.
      if (bitwise && checkContract(exact, original, await runModel(session, inputs))) { counts.nondeterministic++; bitwise = undefined; }
      await session.release();
      if (compiledDiff) bugs.push(`${c.name}: ${compiledDiff}`);
      else if (bitwise) { counts.compiledDiffersBitwise++; bugs.push(`${c.name}: not bitwise equal to the original: ${bitwise}`); }
      assert.equal(compiledDiff, undefined, 'the original matches the expected outputs, so the compiled model must too');
      assert.equal(bitwise, undefined, 'cleanup promises bitwise-equal outputs');
      if (!originalDiff) counts.passed++;
    });
  }
});

after(() => {
  const s = ((performance.now() - start) / 1000).toFixed(1);
  console.log(`# conformance: ${JSON.stringify(counts)} in ${s} s`);
  if (originalMismatches.length) console.log(`# onnxruntime itself differs from the expected outputs (${originalMismatches.length}):\n${originalMismatches.map((m) => `#   ${m}`).join('\n')}`);
  if (bugs.length) console.log(`# failures caused by onnx-slim (${bugs.length}):\n${bugs.map((m) => `#   ${m}`).join('\n')}`);
});
