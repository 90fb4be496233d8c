// Shape inference against ONNX's backend test suite: for every model whose ops all have rules, the inferred type of
// each graph output, with the graph inputs seeded from the actual test inputs, must equal the expected output's.
// Outputs that inference leaves partly unknown are reported, not failed. SHAPE_CONFORMANCE_VERBOSE=1 lists them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BACKEND_TESTS_DIR, hasShared } from './helpers/paths.js';
import { loadModel } from '../src/io/load.js';
import { decodeMessage } from '../src/proto/codec.js';
import { messageSpec } from '../src/proto/schema.js';
import { tensorFromProto } from '../src/ir/convert.js';
import type { Graph, ValueInfo } from '../src/ir/model.js';
import { makeValueInfo } from '../src/ir/builder.js';
import { type TensorType, formatDim } from '../src/ir/types.js';
import type { Tensor } from '../src/ir/tensor.js';
import { inferGraphTypes } from '../src/shape/index.js';

const verbose = process.env.SHAPE_CONFORMANCE_VERBOSE === '1';

function readTensor(file: string): Tensor | undefined {
  if (!existsSync(file)) return undefined;
  return tensorFromProto(decodeMessage(readFileSync(file), messageSpec('TensorProto')), {}, true);
}

const isTensorValue = (vi: ValueInfo): boolean => vi.type?.tensor_type !== undefined;
const fmt = (t: { elemType: number; shape?: readonly unknown[] } | undefined): string =>
  t ? `${t.elemType}[${t.shape?.map((d) => formatDim(d as never)).join(',') ?? '*'}]` : 'none';

/** The graph with its inputs declared as the test's actual input tensors. */
function seeded(graph: Graph, dir: string): Graph {
  const inputs = graph.inputs.map((vi, i) => {
    const t = readTensor(path.join(dir, 'test_data_set_0', `input_${i}.pb`));
    return t ? makeValueInfo(vi.name, t.dataType, t.dims) : vi;
  });
  return { ...graph, inputs };
}

const fullyKnown = (t: TensorType | undefined): t is TensorType & { shape: readonly number[] } =>
  !!t && t.elemType !== 0 && !!t.shape && t.shape.every((d) => typeof d === 'number');

test('inferred output types match the backend test suite', (t) => {
  if (!hasShared()) {
    t.skip('shared corpora not available');
    return;
  }
  const dirs = readdirSync(BACKEND_TESTS_DIR).filter((d) => existsSync(path.join(BACKEND_TESTS_DIR, d, 'model.onnx'))).sort();
  let nonTensor = 0, covered = 0, exact = 0;
  const unknown: string[] = [];
  const mismatches: string[] = [];
  const uncoveredOps = new Map<string, number>();
  for (const name of dirs) {
    const dir = path.join(BACKEND_TESTS_DIR, name);
    const model = loadModel(path.join(dir, 'model.onnx'));
    const graph = model.graph;
    const considered = graph.inputs.every(isTensorValue) && graph.outputs.every(isTensorValue);
    // Sequence/optional inputs have no tensor file to seed from: such models only count towards op coverage.
    const result = inferGraphTypes(considered ? seeded(graph, dir) : graph, model.opsetImport, model.irVersion);
    for (const op of result.uncovered) uncoveredOps.set(op, (uncoveredOps.get(op) ?? 0) + 1);
    if (!considered) nonTensor++;
    if (!considered || result.uncovered.size > 0) continue;
    covered++;
    let allKnown = true;
    graph.outputs.forEach((vi, i) => {
      const expected = readTensor(path.join(dir, 'test_data_set_0', `output_${i}.pb`));
      const inferred = result.types.get(vi.name);
      if (!expected) return;
      if (!fullyKnown(inferred)) {
        allKnown = false;
        // A known element type must still be right.
        if (inferred && inferred.elemType !== 0 && inferred.elemType !== expected.dataType) {
          mismatches.push(`${name}/${vi.name}: inferred ${fmt(inferred)}, expected ${fmt({ elemType: expected.dataType, shape: expected.dims })}`);
        }
        return;
      }
      if (inferred.elemType !== expected.dataType || inferred.shape.join(',') !== expected.dims.join(',') || inferred.shape.length !== expected.dims.length) {
        mismatches.push(`${name}/${vi.name}: inferred ${fmt(inferred)}, expected ${fmt({ elemType: expected.dataType, shape: expected.dims })}`);
      }
    });
    if (allKnown) exact++;
    else unknown.push(name);
  }
  const ops = [...uncoveredOps].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([op, n]) => `${op}×${n}`);
  const pct = (n: number): string => `${((100 * n) / dirs.length).toFixed(1)}%`;
  t.diagnostic(`models ${dirs.length}, considered ${dirs.length - nonTensor} (${nonTensor} have sequence/optional I/O), ` +
    `all ops covered ${covered} (${pct(covered)} of all), exact ${exact}, unknown ${unknown.length}, mismatched ${mismatches.length}`);
  t.diagnostic(`uncovered ops (models using them, all models): ${ops.join(' ') || 'none'}`);
  if (verbose) t.diagnostic(`not fully inferred: ${unknown.join(' ')}`);
  assert.deepEqual(mismatches, []);
  assert.ok(covered >= 0.85 * dirs.length, `coverage ${pct(covered)} is below 85%`);
});
