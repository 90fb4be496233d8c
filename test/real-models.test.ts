// Real models through `cleanup` with verification: outputs bitwise equal to the original's in onnxruntime-node
// (optimizations off) on deterministic random inputs; the pass visibly works on Paddle exports (Constant nodes
// become initializers) and keeps Silero VAD's If subgraphs; the CLI compiles one model end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { loadModel } from '../src/io/load.js';
import { compile } from '../src/passes/compile.js';
import { checkContract, exact } from '../src/passes/contract.js';
import { runModel } from '../src/runtime/ort.js';
import { DataType } from '../src/ir/dtype.js';
import { Tensor } from '../src/ir/tensor.js';
import { subgraphsOf, type Graph, type Model } from '../src/ir/model.js';
import { cleanup } from '../passes/index.js';
import { plainBytes } from './helpers/backend-suite.js';
import { equivalenceSession, randomFeeds, type FeedOptions } from './helpers/feeds.js';
import { REAL_MODELS, REPO_ROOT, SCRATCH_DIR, SHARED_MODELS_DIR } from './helpers/paths.js';

const sr16k = { value: Tensor.scalar(DataType.INT64, 16000n) };

interface Case {
  readonly name: string;
  readonly file: string;
  readonly feeds: FeedOptions;
  readonly paddle?: boolean;
  readonly ifSubgraphs?: boolean;
}

const CASES: readonly Case[] = [
  { name: 'PP-OCRv4 det', file: REAL_MODELS.ppocrDet, feeds: { inputs: { x: { shape: [1, 3, 64, 64] } } }, paddle: true },
  { name: 'PP-OCRv4 rec', file: REAL_MODELS.ppocrRec, feeds: { inputs: { x: { shape: [1, 3, 48, 96] } } }, paddle: true },
  { name: 'PP-OCR cls', file: REAL_MODELS.ppocrCls, feeds: { inputs: { x: { shape: [1, 3, 48, 192] } } }, paddle: true },
  {
    name: 'Silero VAD v5', file: REAL_MODELS.sileroVad, ifSubgraphs: true,
    feeds: { inputs: { input: { shape: [1, 512], range: [-0.5, 0.5] }, state: { shape: [2, 1, 128], range: [-0.1, 0.1] }, sr: sr16k } },
  },
  {
    name: 'Silero VAD legacy', file: REAL_MODELS.sileroVadLegacy, ifSubgraphs: true,
    feeds: { inputs: { input: { shape: [1, 512], range: [-0.5, 0.5] }, h: { shape: [2, 1, 64] }, c: { shape: [2, 1, 64] }, sr: sr16k } },
  },
  { name: 'openWakeWord hello_deepa', file: REAL_MODELS.wakeword, feeds: {} },
  { name: 'SqueezeNet 1.0', file: path.join(SHARED_MODELS_DIR, 'squeezenet1.0/squeezenet1.0.onnx'), feeds: { inputs: { data_0: { range: [-120, 130] } } } },
  { name: 'MNIST', file: path.join(SHARED_MODELS_DIR, 'mnist/mnist.onnx'), feeds: { inputs: { Input3: { range: [0, 255] } } } },
  {
    name: 'stories260K', file: path.join(SHARED_MODELS_DIR, 'stories260K/stories260K.onnx'),
    feeds: { inputs: { input_ids: { shape: [1, 8], range: [0, 511] } } },
  },
];

function countOps(g: Graph, counts: Map<string, number> = new Map()): Map<string, number> {
  for (const n of g.nodes) {
    counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
    for (const s of subgraphsOf(n)) countOps(s, counts);
  }
  return counts;
}

function countInitializers(g: Graph): number {
  let n = g.initializers.size;
  for (const node of g.nodes) for (const s of subgraphsOf(node)) n += countInitializers(s);
  return n;
}

async function assertSameOutputs(originalBytes: Uint8Array, compiled: Model, feeds: Record<string, Tensor>): Promise<void> {
  const before = await runModel(await equivalenceSession(originalBytes), feeds);
  const after = await runModel(await equivalenceSession(compiled), feeds);
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
  assert.equal(checkContract(exact, before, after), undefined);
  // The inputs exercised the model: some output is not constant.
  const varied = Object.values(before).some((t) => t.dataType === DataType.FLOAT && new Set(t.toFloat32()).size > 1);
  assert.ok(varied || Object.values(before).every((t) => t.size <= 1), 'outputs vary');
}

const sizes = new Map<string, { before: number; after: number }>();

for (const c of CASES) {
  test(`cleanup keeps ${c.name} bitwise equal`, { skip: !existsSync(c.file) && `${c.file} is not there` }, async () => {
    const bytes = plainBytes(readFileSync(c.file));
    const model = loadModel(c.file);
    const { model: out, reports } = await compile(model, [cleanup()], { verify: true });
    assert.equal(reports.length, 1);
    sizes.set(c.name, { before: reports[0].before.bytes, after: reports[0].after.bytes });
    const feeds = randomFeeds(model, { seed: 7, ...c.feeds });
    await assertSameOutputs(bytes, out, feeds);

    const opsBefore = countOps(model.graph), opsAfter = countOps(out.graph);
    if (c.paddle) {
      const constants = opsBefore.get('Constant') ?? 0;
      assert.ok(constants > 100, `${constants} Constant nodes in the export`);
      assert.equal(opsAfter.get('Constant') ?? 0, 0, 'every Constant node became an initializer');
      assert.ok(countInitializers(out.graph) > countInitializers(model.graph) + 100, 'initializers appeared');
      assert.ok(reports[0].after.nodes < reports[0].before.nodes - 100, `nodes ${reports[0].before.nodes} -> ${reports[0].after.nodes}`);
    }
    if (c.ifSubgraphs) {
      const ifs = out.graph.nodes.filter((n) => n.opType === 'If');
      assert.equal(ifs.length, model.graph.nodes.filter((n) => n.opType === 'If').length, 'If nodes kept');
      assert.ok(ifs.length > 0);
      for (const n of ifs) {
        const bodies = subgraphsOf(n);
        assert.equal(bodies.length, 2, 'then and else branches');
        for (const b of bodies) assert.ok(b.nodes.length > 0, `body '${b.name}' is not empty`);
      }
    }
  });
}

test('cleanup never makes a real model bigger', () => {
  const grown = [...sizes].filter(([, s]) => s.after > s.before).map(([name, s]) => `${name}: ${s.before} -> ${s.after} bytes`);
  assert.deepEqual(grown, []);
});

test('CLI: compile PP-OCR cls with --passes cleanup --verify', async () => {
  mkdirSync(SCRATCH_DIR, { recursive: true });
  const out = path.join(SCRATCH_DIR, 'real-models-cli', 'cls.onnx');
  rmSync(path.dirname(out), { recursive: true, force: true });
  const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'compile', REAL_MODELS.ppocrCls, '--passes', 'cleanup', '-o', out, '--verify'], {
    cwd: REPO_ROOT, encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /cleanup/);
  const compiled = loadModel(out);
  assert.equal(countOps(compiled.graph).get('Constant') ?? 0, 0);
  const feeds = randomFeeds(compiled, { seed: 3, inputs: { x: { shape: [1, 3, 48, 192] } } });
  await assertSameOutputs(plainBytes(readFileSync(REAL_MODELS.ppocrCls)), compiled, feeds);
});
