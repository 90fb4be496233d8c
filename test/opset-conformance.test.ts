// The ONNX backend suite through the opset pass: every case whose default-domain opset is below the target is
// upgraded (to 13, and to the highest target) with verification, or refused with an OpsetUpgradeError naming why;
// where onnxruntime-node runs the ORIGINAL, the upgraded model must match the expected outputs too, and the
// original bitwise (the pass's contract is `exact`). Counts are printed at the end.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadModel } from '../src/io/load.js';
import { compile } from '../src/passes/compile.js';
import { checkContract, exact } from '../src/passes/contract.js';
import { runModel } from '../src/runtime/ort.js';
import { opsetVersion, type Model } from '../src/ir/model.js';
import type { Tensor } from '../src/ir/tensor.js';
import { opset } from '../passes/index.js';
import { MAX_OPSET_TARGET, OpsetUpgradeError } from '../passes/opset.pass.js';
import { equivalenceSession } from './helpers/feeds.js';
import { backendCases, compareOutputs, firstLine, readCaseData, runOriginal, type BackendCase } from './helpers/backend-suite.js';
import { hasShared } from './helpers/paths.js';


interface Counts {
  below: number; upgraded: number; refused: number; noTensorData: number; ortUnsupported: number; ortRunError: number;
  ortChecked: number; originalMismatch: number; passed: number; nondeterministic: number;
}
const fresh = (): Counts => ({
  below: 0, upgraded: 0, refused: 0, noTensorData: 0, ortUnsupported: 0, ortRunError: 0, ortChecked: 0, originalMismatch: 0, passed: 0, nondeterministic: 0,
});

type Outputs = Record<string, Tensor>;

const cases: Array<{ c: BackendCase; model: Model; from: number }> = [];
for (const c of hasShared() ? backendCases() : []) {
  const model = loadModel(c.modelPath);
  const from = opsetVersion(model, '');
  if (from !== undefined && from < MAX_OPSET_TARGET) cases.push({ c, model, from });
}

const start = performance.now();
const results = new Map<number, { counts: Counts; refusals: string[]; bugs: string[]; fired: Map<string, number> }>();

function suite(target: number): void {
  const r = { counts: fresh(), refusals: [] as string[], bugs: [] as string[], fired: new Map<string, number>() };
  results.set(target, r);
  const { counts } = r;
  describe(`backend models below opset ${target}, upgraded to ${target}`, { skip: !hasShared() && 'no shared backend suite' }, () => {
    for (const { c, model, from } of cases.filter((x) => x.from < target)) {
      test(`${c.name} (opset ${from})`, async (t) => {
        counts.below++;
        let upgraded: Model;
        try {
          const { model: m, reports } = await compile(model, [opset({ target })], { verify: true });
          upgraded = m;
          for (const [k, n] of Object.entries(reports[0].notes)) if (k.startsWith('opset/')) r.fired.set(k, (r.fired.get(k) ?? 0) + Number(n));
        } catch (e) {
          if (e instanceof OpsetUpgradeError) {
            counts.refused++;
            r.refusals.push(`${c.name}: ${e.message}`);
            t.skip(`refused: ${firstLine(e)}`);
            return;
          }
          r.bugs.push(`${c.name}: upgrade failed: ${firstLine(e)}`);
          throw e;
        }
        counts.upgraded++;
        assert.equal(opsetVersion(upgraded, ''), target);

        const data = readCaseData(c, model);
        if (!data.ok) { counts.noTensorData++; t.skip(data.reason); return; }
        const { inputs, outputs: expected } = data.data;
        const run = await runOriginal(readFileSync(c.modelPath), data.data);
        if (!run.ok) {
          if (run.cause === 'unsupported') counts.ortUnsupported++; else counts.ortRunError++;
          t.skip(run.reason);
          return;
        }
        const { session, outputs: original } = run;
        counts.ortChecked++;
        let out: Outputs;
        try {
          const s = await equivalenceSession(upgraded, true);
          out = await runModel(s, inputs);
          await s.release();
        } catch (e) {
          await session.release();
          r.bugs.push(`${c.name}: the upgraded model does not run: ${firstLine(e)}`);
          throw e;
        }
        const originalDiff = compareOutputs(expected, original);
        if (originalDiff) counts.originalMismatch++;
        const upgradedDiff = originalDiff ? undefined : compareOutputs(expected, out);
        let bitwise = checkContract(exact, original, out);
        // Random ops: when the original disagrees with itself, bitwise equality is not owed.
        if (bitwise && checkContract(exact, original, await runModel(session, inputs))) { counts.nondeterministic++; bitwise = undefined; }
        await session.release();
        if (upgradedDiff) r.bugs.push(`${c.name}: ${upgradedDiff}`);
        else if (bitwise) r.bugs.push(`${c.name}: not bitwise equal to the original: ${bitwise}`);
        assert.equal(upgradedDiff, undefined, 'the original matches the expected outputs, so the upgraded model must too');
        assert.equal(bitwise, undefined, 'the opset pass promises bitwise-equal outputs');
        counts.passed++;
      });
    }
  });
}

suite(13);
suite(MAX_OPSET_TARGET);

after(() => {
  const s = ((performance.now() - start) / 1000).toFixed(1);
  for (const [target, r] of results) {
    console.log(`# opset conformance, target ${target}: ${JSON.stringify(r.counts)}`);
    console.log(`#   rules fired: ${JSON.stringify(Object.fromEntries([...r.fired].sort()))}`);
    if (r.refusals.length) console.log(`# refused (${r.refusals.length}):\n${r.refusals.map((m) => `#   ${m}`).join('\n')}`);
    if (r.bugs.length) console.log(`# failures caused by onnx-slim (${r.bugs.length}):\n${r.bugs.map((m) => `#   ${m}`).join('\n')}`);
  }
  console.log(`# opset conformance: ${s} s`);
});
