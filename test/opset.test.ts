// The opset pass: the adapter table is complete and agrees with the spec; each adapter has a before/after fixture
// (op lists after the upgrade, outputs bitwise equal in onnxruntime with optimizations off, the verifier passing);
// refusals are one-line errors naming the op and versions; real models (PP-OCRv4, SqueezeNet, MNIST, Silero VAD with
// If subgraphs) upgrade to 13 and to the highest target with bitwise-equal outputs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  attr, attrInt, attrString, checkContract, compile, DataType, exact, getAttribute, GraphBuilder, loadModel, makeGraph,
  makeModel, makeNode, makeValueInfo, opset, runModel, saveModel, subgraphsOf, Tensor, type Graph, type Model,
  type Node,
} from '../src/index.js';
import { allclose } from '../src/passes/contract.js';
import { contractOf } from '../src/passes/pass.js';
import { matchPattern } from '../src/rewrite/pattern.js';
import { ADAPTERS, MAX_TARGET } from '../passes/opset/adapters.js';
import { DEPRECATED_AT, OP_VERSIONS } from '../passes/opset/versions.js';
import { OpsetUpgradeError } from '../passes/opset.pass.js';
import { plainBytes } from './helpers/backend-suite.js';
import { equivalenceSession, randomFeeds, type FeedOptions } from './helpers/feeds.js';
import { REAL_MODELS, REPO_ROOT, SCRATCH_DIR, SHARED_DIR, SHARED_MODELS_DIR } from './helpers/paths.js';

const { FLOAT, DOUBLE, INT64, BOOL } = DataType;
const f32 = (dims: number[], values: ArrayLike<number>): Tensor => Tensor.fromArray(FLOAT, dims, Float32Array.from(values));
const i64 = (values: number[]): Tensor => Tensor.fromArray(INT64, [values.length], BigInt64Array.from(values, BigInt));
const ramp = (dims: number[], scale = 0.37, offset = -2): Tensor =>
  f32(dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => offset + ((i * scale) % 5)));
const ops = (g: Graph): string[] => g.nodes.map((n) => n.opType);
const only = (g: Graph, op: string): Node => {
  const found = g.nodes.filter((n) => n.opType === op);
  assert.equal(found.length, 1, `one ${op}`);
  return found[0];
};
const upgrade = async (m: Model, target = 13, extra: { allow_kernel_rounding?: boolean } = {}): Promise<Model> =>
  (await compile(m, [opset({ target, ...extra })], { verify: true })).model;
const defaultOpset = (m: Model): number | undefined => m.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;

/** A one-graph model at `opset` (IR chosen to match, as exporters of the time wrote it). */
function model(opsetVersion: number, build: (b: GraphBuilder) => void): Model {
  const b = new GraphBuilder();
  build(b);
  const ir = opsetVersion <= 8 ? 3 : opsetVersion === 9 ? 4 : opsetVersion === 10 ? 5 : opsetVersion === 11 ? 6 : 7;
  return makeModel(b.build(), { opset: opsetVersion, irVersion: ir });
}

async function refusal(m: Model, target = 13, extra: { allow_kernel_rounding?: boolean } = {}): Promise<string> {
  const e = await upgrade(m, target, extra).then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof OpsetUpgradeError, `expected a refusal, got ${String(e)}`);
  assert.doesNotMatch(e.message, /\n/, 'one line');
  return e.message;
}

describe('the adapter table', () => {
  test('every version boundary up to the highest target has a step; no step sits on a non-boundary', () => {
    const missing: string[] = [];
    for (const [op, versions] of Object.entries(OP_VERSIONS)) {
      for (const v of versions.slice(1)) if (v <= MAX_TARGET && !ADAPTERS[op]?.[v]) missing.push(`${op}-${v}`);
    }
    assert.deepEqual(missing, []);
    const stray: string[] = [];
    for (const [op, steps] of Object.entries(ADAPTERS)) {
      for (const v of Object.keys(steps).map(Number)) if (!OP_VERSIONS[op]?.slice(1).includes(v)) stray.push(`${op}-${v}`);
    }
    assert.deepEqual(stray, []);
    for (const [op, at] of Object.entries(DEPRECATED_AT)) assert.equal(ADAPTERS[op][at].kind, 'rewrite', `${op} is replaced at ${at}`);
  });

  test('every rewrite rule covers the ops it is listed under', () => {
    const g = makeGraph({ nodes: [], inputs: [], outputs: [] });
    for (const [op, steps] of Object.entries(ADAPTERS)) {
      for (const step of Object.values(steps)) {
        if (step.kind !== 'rewrite') continue;
        assert.ok(matchPattern(step.rule.pattern, makeNode(op, ['x'], ['y']), { graph: g, irVersion: 8 }), `${step.rule.name} on ${op}`);
        assert.match(step.rule.name, /^opset\/[a-z0-9-]+$/);
      }
    }
  });

  const spec = path.join(SHARED_DIR, 'onnx-spec', 'Operators.md');
  test('the version lists are Operators.md\'s', { skip: !existsSync(spec) && 'no shared ONNX spec' }, () => {
    const text = readFileSync(spec, 'utf8');
    const fromSpec: Record<string, number[]> = {};
    for (const section of text.split('\n### <a name="').slice(1)) {
      const name = section.slice(0, section.indexOf('"'));
      const since = /available since version (\d+) of the default ONNX operator set/.exec(section);
      if (!since) continue;
      const head = section.split('#### Attributes')[0].split('#### Inputs')[0];
      const others = [...head.matchAll(/Changelog\.md#[^"]*-(\d+)"/g)].map((m) => Number(m[1]));
      fromSpec[name] = [...new Set([...others, Number(since[1])])].sort((a, b) => a - b);
    }
    const ours = Object.fromEntries(Object.entries(OP_VERSIONS).filter(([op]) => !(op in DEPRECATED_AT)));
    assert.deepEqual(ours, fromSpec);
  });
});

interface Fixture {
  readonly name: string;
  readonly build: () => Model;
  readonly target?: number;
  /** Op types of the main graph after the upgrade, in order. */
  readonly after: readonly string[];
  /** Inputs to run both models on (the original must run in onnxruntime: opset ≥ 7). */
  readonly feed?: Record<string, Tensor>;
  /** Expected outputs of the upgraded model, where onnxruntime cannot run the original (opset < 7). */
  readonly expect?: Record<string, Tensor>;
  readonly check?: (after: Model) => void;
}

const x23 = { x: f32([2, 3], [1, -2, 3, -4, 5, -6]) };

/** A running sum: state + x_t, also emitted per step. */
const scanBody = (): Graph => makeGraph({
  name: 'body',
  inputs: [makeValueInfo('sum_in', FLOAT, [2]), makeValueInfo('next', FLOAT, [2])],
  outputs: [makeValueInfo('sum_out', FLOAT, [2]), makeValueInfo('scan_out', FLOAT, [2])],
  nodes: [makeNode('Add', ['sum_in', 'next'], ['sum_out']), makeNode('Identity', ['sum_out'], ['scan_out'])],
});

const fixtures: Fixture[] = [
  {
    name: 'opset/clip-attrs-to-inputs: Clip-6 min/max attributes become scalar inputs (an absent one stays absent)',
    build: () => model(9, (b) => {
      const x = b.input('x', FLOAT, [2, 3]);
      const y = b.op('Clip', [x], { min: attr.float(-1.5), max: attr.float(2) });
      b.output(b.op('Clip', [y], { max: attr.float(1.25) }), FLOAT, [2, 3]);
    }),
    after: ['Clip', 'Clip'],
    feed: x23,
    check: (m) => {
      assert.deepEqual(m.graph.nodes.map((n) => n.inputs.length), [3, 3]);
      assert.equal(m.graph.nodes[1].inputs[1], '', 'no min: the default lowest()');
      assert.deepEqual([...m.graph.initializers.values()].map((t) => t.toNumbers()[0]), [-1.5, 2, 1.25]);
    },
  },
  {
    name: 'opset/clip-attrs-to-inputs: a double Clip-6 gets both bounds explicitly (Clip-6 defaulted to float32\'s range)',
    build: () => model(9, (b) => {
      const x = b.input('x', DOUBLE, [2]);
      b.output(b.op('Clip', [x], { min: attr.float(-1) }), DOUBLE, [2]);
    }),
    after: ['Clip'],
    check: (m) => {
      const [lo, hi] = only(m.graph, 'Clip').inputs.slice(1).map((n) => m.graph.initializers.get(n)!);
      assert.deepEqual([lo.dataType, hi.dataType], [DOUBLE, DOUBLE]);
      assert.deepEqual([lo.toNumbers()[0], hi.toNumbers()[0]], [-1, 3.4028234663852886e38]);
    },
  },
  {
    name: 'opset/slice-attrs-to-inputs: Slice-1 starts/ends/axes become int64 inputs',
    build: () => model(9, (b) => {
      const x = b.input('x', FLOAT, [3, 4]);
      const y = b.op('Slice', [x], { starts: [0, 1], ends: [2, -1], axes: [0, 1] });
      b.output(b.op('Slice', [y], { starts: [1], ends: [1000] }), FLOAT);
    }),
    after: ['Slice', 'Slice'],
    feed: { x: ramp([3, 4]) },
    check: (m) => assert.deepEqual(m.graph.nodes.map((n) => n.inputs.length), [4, 3]),
  },
  {
    name: 'opset/axes-attr-to-input: Squeeze/Unsqueeze-11 axes become an input (Squeeze without axes keeps none)',
    build: () => model(11, (b) => {
      const x = b.input('x', FLOAT, [1, 3, 1, 2]);
      const y = b.op('Unsqueeze', [b.op('Squeeze', [x], { axes: [0, -2] })], { axes: [-1, 0] });
      b.output(b.op('Squeeze', [y]), FLOAT);
    }),
    after: ['Squeeze', 'Unsqueeze', 'Squeeze'],
    feed: { x: ramp([1, 3, 1, 2]) },
    check: (m) => assert.deepEqual(m.graph.nodes.map((n) => n.inputs.length), [2, 2, 1]),
  },
  {
    name: 'opset/axes-attr-to-input: ReduceSum at 13, the other reductions at 18; no axes means all',
    build: () => model(11, (b) => {
      const x = b.input('x', FLOAT, [2, 3, 4]);
      const s = b.op('ReduceSum', [x], { axes: [1], keepdims: 0 });
      const mean = b.op('ReduceMean', [s], { axes: [-1] });
      b.output(mean, FLOAT);
      b.output(b.op('ReduceMax', [x], { keepdims: 0 }), FLOAT);
    }),
    target: 18,
    after: ['ReduceSum', 'ReduceMean', 'ReduceMax'],
    feed: { x: ramp([2, 3, 4]) },
    check: (m) => assert.deepEqual(m.graph.nodes.map((n) => n.inputs.length), [2, 2, 1]),
  },
  {
    name: 'opset/split-attr-to-input + opset/set-split-num-outputs: split sizes become an input; equal splits get num_outputs',
    build: () => model(11, (b) => {
      const x = b.input('x', FLOAT, [2, 6]);
      const [p, q] = b.node('Split', [x], { axis: 1, split: [2, 4] }, { outputs: 2 });
      const [r, s] = b.node('Split', [q], { axis: 1 }, { outputs: 2 });
      for (const o of [p, r, s]) b.output(o, FLOAT);
    }),
    target: 18,
    after: ['Split', 'Split'],
    feed: { x: ramp([2, 6]) },
    check: (m) => {
      assert.equal(m.graph.nodes[0].inputs.length, 2);
      assert.equal(attrInt(m.graph.nodes[1], 'num_outputs'), 2);
    },
  },
  {
    name: 'opset/pad-attrs-to-inputs: Pad-2 pads and value become inputs; reflect mode keeps no value',
    build: () => model(9, (b) => {
      const x = b.input('x', FLOAT, [2, 3]);
      const y = b.op('Pad', [x], { pads: [0, 1, 1, 2], value: attr.float(1.5) });
      b.output(b.op('Pad', [y], { pads: [0, 1, 0, 1], mode: 'reflect' }), FLOAT);
    }),
    after: ['Pad', 'Pad'],
    feed: x23,
    check: (m) => assert.deepEqual(m.graph.nodes.map((n) => n.inputs.length), [3, 2]),
  },
  {
    name: 'opset/topk-k-to-input: TopK-1 k becomes an input',
    build: () => model(9, (b) => {
      const x = b.input('x', FLOAT, [2, 5]);
      const [v, i] = b.node('TopK', [x], { k: 2 }, { outputs: 2 });
      b.output(v, FLOAT);
      b.output(i, INT64);
    }),
    after: ['TopK'],
    feed: { x: ramp([2, 5]) },
  },
  {
    name: 'opset/adapt-softmax-axis: a non-last axis is flattened and reshaped back; a last one is written explicitly',
    build: () => model(11, (b) => {
      const x = b.input('x', FLOAT, [2, 3, 4]);
      b.output(b.op('Softmax', [x], { axis: 1 }), FLOAT);
      b.output(b.op('LogSoftmax', [x], { axis: -1 }), FLOAT);
      b.output(b.op('Hardmax', [x]), FLOAT);
      b.output(b.op('Softmax', [b.op('Reshape', [x, b.initializer('s', i64([2, 12, 1, 1]))])]), FLOAT);
    }),
    after: ['Flatten', 'Shape', 'Softmax', 'Reshape', 'LogSoftmax', 'Flatten', 'Shape', 'Hardmax', 'Reshape', 'Reshape', 'Softmax'],
    feed: { x: ramp([2, 3, 4], 0.71) },
    check: (m) => {
      const last = m.graph.nodes[m.graph.nodes.length - 1];
      assert.equal(attrInt(last, 'axis'), 1, 'the old default axis 1 is written: only 1-dims follow it');
      assert.equal(attrInt(m.graph.nodes[4], 'axis'), -1);
    },
  },
  {
    name: 'opset/upsample-scales-to-input + opset/upsample-to-resize + opset/pin-resize-coordinates: Upsample-7 becomes an asymmetric, floor-rounding Resize',
    build: () => model(7, (b) => {
      const x = b.input('x', FLOAT, [1, 1, 2, 3]);
      b.output(b.op('Upsample', [x], { scales: attr.floats([1, 1, 2, 3]) }), FLOAT);
      b.output(b.op('Upsample', [x], { scales: attr.floats([1, 1, 2, 2.5]), mode: 'linear' }), FLOAT);
    }),
    after: ['Resize', 'Resize'],
    feed: { x: ramp([1, 1, 2, 3]) },
    check: (m) => {
      const [nearest, linear] = m.graph.nodes;
      assert.equal(attrString(nearest, 'coordinate_transformation_mode'), 'asymmetric');
      assert.equal(attrString(nearest, 'nearest_mode'), 'floor');
      assert.equal(attrString(linear, 'nearest_mode'), undefined);
      assert.equal(nearest.inputs.length, 3, 'X, roi, scales');
    },
  },
  {
    name: 'opset/pin-resize-coordinates: Upsample-9 with computed scales rounds down (Upsample never shrinks)',
    build: () => model(9, (b) => {
      const x = b.input('x', FLOAT, [1, 1, 2, 3]);
      const scales = b.input('scales', FLOAT, [4]);
      b.output(b.op('Upsample', [x, scales]), FLOAT);
    }),
    after: ['Resize'],
    feed: { x: ramp([1, 1, 2, 3]), scales: f32([4], [1, 1, 3, 1.5]) },
  },
  {
    name: 'opset/pin-resize-coordinates: Resize-10 nearest rounds up when shrinking, as onnxruntime\'s opset-10 kernel does',
    build: () => model(10, (b) => {
      const x = b.input('x', FLOAT, [1, 1, 6, 7]);
      b.output(b.op('Resize', [x, b.initializer('down', f32([4], [1, 1, 0.5, 0.6]))]), FLOAT);
      b.output(b.op('Resize', [x, b.initializer('up', f32([4], [1, 1, 1.5, 2]))], { mode: 'linear' }), FLOAT);
    }),
    after: ['Resize', 'Resize'],
    feed: { x: ramp([1, 1, 6, 7], 0.53) },
    check: (m) => assert.equal(attrString(m.graph.nodes[0], 'nearest_mode'), 'ceil'),
  },
  {
    name: 'opset/dropout-ratio-to-input + opset/drop-dropout-mask: Dropout-7 keeps its ratio as an input, loses its unused mask',
    build: () => model(7, (b) => {
      const x = b.input('x', FLOAT, [2, 3]);
      const [y] = b.node('Dropout', [x], { ratio: attr.float(0.3) }, { outputs: 2 });
      b.output(b.op('Relu', [y]), FLOAT);
    }),
    after: ['Dropout', 'Relu'],
    feed: x23,
    check: (m) => {
      const d = only(m.graph, 'Dropout');
      assert.equal(d.outputs.length, 1);
      assert.ok(Math.abs(m.graph.initializers.get(d.inputs[1])!.toNumbers()[0] - 0.3) < 1e-7);
    },
  },
  {
    name: 'opset/drop-batchnorm-spatial: BatchNormalization-7 loses spatial=1, keeps epsilon and momentum',
    build: () => model(7, (b) => {
      const x = b.input('x', FLOAT, [1, 2, 2, 2]);
      const p = (name: string, v: number[]) => b.initializer(name, f32([2], v));
      b.output(b.op('BatchNormalization', [x, p('s', [1, 2]), p('b', [0.5, -1]), p('m', [0.1, 0.2]), p('v', [1, 4])],
        { spatial: 1, epsilon: attr.float(1e-3), momentum: attr.float(0.8) }), FLOAT);
    }),
    target: 15,
    after: ['BatchNormalization'],
    feed: { x: ramp([1, 2, 2, 2]) },
    check: (m) => assert.deepEqual(only(m.graph, 'BatchNormalization').attributes.map((a) => a.name), ['epsilon', 'momentum']),
  },
  {
    name: 'opset/trim-batchnorm-outputs: unused training outputs of BatchNormalization-9 go at 14',
    build: () => model(9, (b) => {
      const x = b.input('x', FLOAT, [1, 2, 2]);
      const p = (name: string) => b.initializer(name, f32([2], [1, 2]));
      const [y] = b.node('BatchNormalization', [x, p('s'), p('b'), p('m'), p('v')], {}, { outputs: 5 });
      b.output(y, FLOAT);
    }),
    target: 14,
    after: ['BatchNormalization'],
    check: (m) => assert.equal(only(m.graph, 'BatchNormalization').outputs.length, 1),
  },
  {
    name: 'pools, Gemm, Concat, Gather, Cast, Reshape: compatible boundaries are bumped unchanged (opset 7 → 21)',
    build: () => model(7, (b) => {
      const x = b.input('x', FLOAT, [1, 2, 4, 4]);
      const mp = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
      b.output(b.op('AveragePool', [b.input('v', FLOAT, [1, 2, 9])], { kernel_shape: [3], strides: [1], pads: [1, 1] }), FLOAT);
      const flat = b.op('Reshape', [b.op('Concat', [mp, mp], { axis: 1 }), b.initializer('shape', i64([1, 16]))]);
      const g = b.op('Gemm', [flat, b.initializer('w', ramp([3, 16], 0.11)), b.initializer('c', f32([3], [1, 2, 3]))], { transB: 1 });
      b.output(b.op('Cast', [b.op('Gather', [g, b.initializer('i', i64([2, 0]))], { axis: 1 })], { to: DataType.DOUBLE }), DOUBLE);
      b.output(b.op('Reshape', [x, b.initializer('s2', i64([1, 2, 2, 8]))]), FLOAT);
    }),
    target: 21,
    after: ['MaxPool', 'AveragePool', 'Concat', 'Reshape', 'Gemm', 'Gather', 'Cast', 'Reshape'],
    feed: { x: ramp([1, 2, 4, 4]), v: ramp([1, 2, 9], 0.77) },
  },
  {
    name: 'opset/scatter-to-scatter-elements: Scatter-9 becomes ScatterElements at 11',
    build: () => model(9, (b) => {
      const x = b.input('x', FLOAT, [3, 3]);
      b.output(b.op('Scatter', [x, b.initializer('i', Tensor.fromArray(INT64, [1, 2], BigInt64Array.of(2n, 0n))), b.initializer('u', f32([1, 2], [7, 8]))], { axis: 1 }), FLOAT);
    }),
    after: ['ScatterElements'],
    feed: { x: ramp([3, 3]) },
  },
  {
    name: 'opset/set-roi-align-half-pixel: RoiAlign-10 keeps its output_half_pixel coordinates at 16',
    build: () => model(10, (b) => {
      const x = b.input('x', FLOAT, [1, 1, 6, 6]);
      const rois = b.initializer('rois', f32([2, 4], [0, 0, 4, 4, 1.5, 0.5, 5, 3]));
      b.output(b.op('RoiAlign', [x, rois, b.initializer('idx', i64([0, 0]))], { output_height: 2, output_width: 3, sampling_ratio: 2 }), FLOAT);
    }),
    target: 16,
    after: ['RoiAlign'],
    feed: { x: ramp([1, 1, 6, 6], 0.29) },
    check: (m) => assert.equal(attrString(only(m.graph, 'RoiAlign'), 'coordinate_transformation_mode'), 'output_half_pixel'),
  },
  {
    name: 'opset/rename-grid-sample-modes: GridSample-16 bilinear is GridSample-20 linear',
    build: () => model(16, (b) => {
      const x = b.input('x', FLOAT, [1, 1, 3, 4]);
      const grid = b.initializer('grid', f32([1, 2, 2, 2], [-1, -1, 0.3, -0.2, 0.9, 0.5, -0.4, 1]));
      b.output(b.op('GridSample', [x, grid], { align_corners: 1 }), FLOAT);
    }),
    target: 20,
    after: ['GridSample'],
    feed: { x: ramp([1, 1, 3, 4]) },
    check: (m) => assert.equal(attrString(only(m.graph, 'GridSample'), 'mode'), 'linear'),
  },
  {
    name: 'opset/dft-axis-to-input: DFT-17\'s default axis 1 is written as DFT-20\'s axis input',
    build: () => model(17, (b) => {
      const x = b.input('x', FLOAT, [2, 8, 1]);
      b.output(b.op('DFT', [x]), FLOAT);
    }),
    target: 20,
    after: ['DFT'],
    feed: { x: ramp([2, 8, 1]) },
    check: (m) => {
      const d = only(m.graph, 'DFT');
      assert.deepEqual([d.inputs[1], m.graph.initializers.get(d.inputs[2])!.toNumbers()], ['', [1]]);
    },
  },
  {
    name: 'opset/unbatch-scan: Scan-8 with a batch of 1 runs its body as Scan-9 between Squeeze and Unsqueeze',
    build: () => model(8, (b) => {
      const init = b.input('init', FLOAT, [1, 2]);
      const x = b.input('x', FLOAT, [1, 3, 2]);
      const [y, z] = b.node('Scan', ['', init, x], { body: attr.graph(scanBody()), num_scan_inputs: 1 }, { outputs: 2 });
      b.output(y, FLOAT, [1, 2]);
      b.output(z, FLOAT, [1, 3, 2]);
    }),
    after: ['Squeeze', 'Squeeze', 'Scan', 'Unsqueeze', 'Unsqueeze'],
    feed: { init: f32([1, 2], [0.5, -1]), x: ramp([1, 3, 2]) },
  },
  {
    name: 'opset/expand-group-norm-scale: GroupNormalization-18 per-group scale/bias become per channel at 21',
    build: () => model(18, (b) => {
      const x = b.input('x', FLOAT, [2, 6, 5]);
      const bias = b.input('bias', FLOAT, [3]);
      b.output(b.op('GroupNormalization', [x, b.initializer('scale', f32([3], [1, 1.5, -2])), bias], { num_groups: 3 }), FLOAT);
    }),
    target: 21,
    after: ['Unsqueeze', 'Expand', 'Reshape', 'GroupNormalization'],
    feed: { x: ramp([2, 6, 5], 0.61), bias: f32([3], [0.25, -1, 3]) },
    check: (m) => assert.deepEqual([...m.graph.initializers.get(only(m.graph, 'GroupNormalization').inputs[1])!.toNumbers()], [1, 1, 1.5, 1.5, -2, -2]),
  },
  // Opsets below 7: onnxruntime cannot run the originals; the upgraded models are checked against computed outputs.
  {
    name: 'opset/expand-legacy-broadcast: B aligned at axis gets trailing 1-dims (a reshaped constant, or an Unsqueeze)',
    build: () => model(6, (b) => {
      const x = b.input('x', FLOAT, [2, 3, 2]);
      const bias = b.input('bias', FLOAT, [3]);
      const y = b.op('Add', [x, b.initializer('c', f32([3], [10, 20, 30]))], { broadcast: 1, axis: 1 });
      const z = b.op('Mul', [y, bias], { broadcast: 1, axis: 1 });
      b.output(b.op('Sub', [z, b.initializer('d', f32([2], [1, 2]))], { broadcast: 1 }), FLOAT);
    }),
    after: ['Add', 'Unsqueeze', 'Mul', 'Sub'],
    feed: undefined,
    expect: { out: f32([2, 3, 2], [8, 6, 41, 40, 92, 88, 10, 10, 37, 36, 86, 82]) },
  },
  {
    name: 'opset/remove-consumed-inputs + opset/set-concat-axis + opset/shape-attr-to-input + opset/cast-to-enum (opsets 1-5)',
    build: () => model(3, (b) => {
      const x = b.input('x', FLOAT, [2, 3]);
      const r = b.op('Relu', [x], { consumed_inputs: [0] });
      const c = b.op('Concat', [r, x]);
      const s = b.op('Reshape', [c], { shape: [3, 4] });
      b.output(b.op('Cast', [s], { to: 'DOUBLE' }), DOUBLE);
    }),
    after: ['Relu', 'Concat', 'Reshape', 'Cast'],
    expect: { out: Tensor.fromArray(DOUBLE, [3, 4], Float64Array.of(1, 0, 3, 1, -2, 3, 0, 5, 0, -4, 5, -6)) },
    check: (m) => {
      assert.deepEqual(m.graph.nodes[0].attributes, []);
      assert.equal(attrInt(m.graph.nodes[1], 'axis'), 1);
      assert.equal(getAttribute(m.graph.nodes[3], 'to')?.value, DOUBLE);
    },
  },
  {
    name: 'opset/rename-pad-paddings + opset/split-input-to-attr + opset/lp-pool-p-to-int (opset 1)',
    build: () => model(1, (b) => {
      const x = b.input('x', FLOAT, [1, 2, 2]);
      const padded = b.op('Pad', [x], { paddings: [0, 0, 1, 0, 0, 0] });
      const [p, q] = b.node('Split', [padded, b.initializer('sizes', i64([1, 2]))], { axis: 2 }, { outputs: 2 });
      b.output(b.op('GlobalLpPool', [q], { p: attr.float(2) }), FLOAT);
      b.output(p, FLOAT);
    }),
    after: ['Pad', 'Split', 'GlobalLpPool'],
    check: (m) => {
      assert.equal(m.graph.nodes[1].inputs.length, 2, 'Split-13 takes the sizes as an input again');
      assert.equal(getAttribute(m.graph.nodes[2], 'p')?.type, 'int');
    },
    expect: {
      out: f32([1, 2, 1], [Math.hypot(1.7, -2), Math.hypot(2.4, -1.6)]),
      p: f32([1, 2, 1], [0, 0]),
    },
  },
  {
    name: 'opset/drop-is-test + opset/drop-gemm-broadcast (+ consumed_inputs): BatchNormalization-1, Dropout-1 and Gemm-1 at opset 5',
    build: () => model(5, (b) => {
      const x = b.input('x', FLOAT, [1, 2]);
      const y = b.op('Gemm', [x, b.initializer('w', f32([3, 2], [1, 2, 3, 4, 5, 6])), b.initializer('c', f32([3], [0.5, 1, 2]))], { transB: 1, broadcast: 1 });
      b.output(y, FLOAT);
      const z = b.input('z', FLOAT, [1, 2, 1, 2]);
      const p = (name: string, v: number[]) => b.initializer(name, f32([2], v));
      const bn = b.op('BatchNormalization', [z, p('s', [1, 2]), p('b', [0.5, -1]), p('m', [0.1, 0.2]), p('v', [1, 4])],
        { is_test: 1, spatial: 1, consumed_inputs: [0, 0], epsilon: attr.float(1e-5) });
      b.output(b.op('Dropout', [bn], { is_test: 1, ratio: attr.float(0.5) }), FLOAT);
    }),
    after: ['Gemm', 'BatchNormalization', 'Dropout'],
    check: (m) => {
      assert.deepEqual(m.graph.nodes.map((n) => n.attributes.map((a) => a.name)), [['transB'], ['epsilon'], []]);
      assert.equal(m.graph.nodes[2].inputs.length, 2, 'the ratio became an input');
    },
    expect: {
      y: f32([1, 3], [1 * 1 + 2 * -2 + 0.5, 3 * 1 + 4 * -2 + 1, 5 * 1 + 6 * -2 + 2]),
      out: f32([1, 2, 1, 2], [(1 - 0.1) / Math.sqrt(1 + 1e-5) + 0.5, (-2 - 0.1) / Math.sqrt(1 + 1e-5) + 0.5, 2 * (3 - 0.2) / Math.sqrt(4 + 1e-5) - 1, 2 * (-4 - 0.2) / Math.sqrt(4 + 1e-5) - 1]),
    },
  },
];

// Inputs of the fixtures checked against computed outputs (`expect`), by fixture name prefix.
const legacyFeeds: Record<string, Record<string, Tensor>> = {
  'opset/expand-legacy-broadcast': { x: f32([2, 3, 2], [-1, -2, 1, 1, 1, 0, 1, 2, -1, -1, -1, -2]), bias: f32([3], [1, 2, 3]) },
  'opset/remove-consumed-inputs': x23,
  'opset/rename-pad-paddings': { x: f32([1, 2, 2], [1.7, -2, 2.4, -1.6]) },
  'opset/drop-is-test': { x: f32([1, 2], [1, -2]), z: f32([1, 2, 1, 2], [1, -2, 3, -4]) },
};

for (const f of fixtures) {
  test(f.name, async () => {
    const before = f.build();
    const after = await upgrade(before, f.target ?? 13);
    assert.deepEqual(ops(after.graph), f.after);
    assert.equal(defaultOpset(after), f.target ?? 13);
    f.check?.(after);
    if (f.feed) {
      const failure = checkContract(exact, await runModel(before, f.feed), await runModel(after, f.feed));
      assert.equal(failure, undefined, failure);
    }
    if (f.expect) {
      const key = Object.keys(legacyFeeds).find((k) => f.name.startsWith(k))!;
      const got = await runModel(after, legacyFeeds[key]);
      const outputs = after.graph.outputs.map((o) => o.name);
      Object.values(f.expect).forEach((want, i) => {
        const have = got[outputs[i]];
        assert.deepEqual([...have.dims], [...want.dims]);
        const [a, b] = [have.toFloat32(), want.toFloat32()];
        a.forEach((v, k) => assert.ok(Math.abs(v - b[k]) <= 1e-6 * Math.max(1, Math.abs(b[k])), `${outputs[i]}[${k}]: ${v} vs ${b[k]}`));
      });
    }
    assert.equal((await compile(after, [opset({ target: f.target ?? 13 })])).model, after, 'a second run changes nothing');
  });
}

describe('what the upgrade leaves alone', () => {
  test('a model at or above the target is returned as the same object', async () => {
    const m = model(13, (b) => b.output(b.op('Relu', [b.input('x', FLOAT, [2])]), FLOAT));
    assert.equal(await upgrade(m, 13), m);
    assert.equal((await compile(model(15, (b) => b.output(b.op('Relu', [b.input('x', FLOAT, [2])]), FLOAT)), [opset()])).reports[0].changed, false);
  });

  test('other domains keep their nodes and imports; untouched nodes and tensors stay the same objects', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', FLOAT, [2, 3]);
    const w = b.initializer('w', ramp([3, 3]));
    const y = b.op('MatMul', [x, w]);
    b.output(b.op('Gelu', [y], {}, { domain: 'com.microsoft' }), FLOAT, [2, 3]);
    const m = makeModel(b.build(), { opset: [{ domain: '', version: 11 }, { domain: 'com.microsoft', version: 1 }], irVersion: 6 });
    const out = await upgrade(m, 17);
    assert.deepEqual(out.opsetImport.map((o) => [o.domain, o.version]), [['', 17], ['com.microsoft', 1]]);
    assert.equal(out.graph, m.graph, 'only compatible bumps: the graph is the same object');
    assert.equal(out.graph.initializers.get(w), m.graph.initializers.get(w));
    assert.equal(out.irVersion, 8);
    const failure = checkContract(exact, await runModel(m, x23), await runModel(out, x23));
    assert.equal(failure, undefined, failure);
  });

  test('If branches are upgraded, with the types of the values they capture', async () => {
    const branch = (name: string, op: string, attrs: Record<string, number[] | number>): Graph => makeGraph({
      name, inputs: [], outputs: [makeValueInfo(`${name}_y`, FLOAT)],
      nodes: [makeNode(op, ['x'], [`${name}_y`], attrs)],
    });
    const b = new GraphBuilder();
    b.input('x', FLOAT, [1, 3]); // read by both branches from the enclosing scope
    const cond = b.input('cond', BOOL, []);
    b.output(b.op('If', [cond], { then_branch: attr.graph(branch('then', 'Squeeze', { axes: [0] })), else_branch: attr.graph(branch('else', 'ReduceSum', { axes: [0], keepdims: 0 })) }), FLOAT);
    const m = makeModel(b.build(), { opset: 11, irVersion: 6 });
    const out = await upgrade(m, 13);
    for (const body of subgraphsOf(out.graph.nodes[0])) {
      assert.equal(body.nodes[0].inputs.length, 2, `${body.name}: axes is an input`);
      assert.equal(body.initializers.size, 1, `${body.name}: the axes constant lives in the branch`);
    }
    for (const c of [true, false]) {
      const feed = { x: f32([1, 3], [1, 2, 3]), cond: Tensor.fromArray(BOOL, [], Uint8Array.of(c ? 1 : 0)) };
      const failure = checkContract(exact, await runModel(m, feed), await runModel(out, feed));
      assert.equal(failure, undefined, failure);
    }
  });

  test('IR 3: initializers stop being graph inputs when the IR version rises past 3', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', FLOAT, [1, 1, 3, 3]);
    const w = b.initializer('w', ramp([1, 1, 2, 2]));
    b.output(b.op('Conv', [x, w]), FLOAT);
    const g = b.build();
    const m = makeModel({ ...g, inputs: [...g.inputs, makeValueInfo('w', FLOAT, [1, 1, 2, 2])] }, { opset: 7, irVersion: 3 });
    const out = await upgrade(m, 13);
    assert.equal(out.irVersion, 7);
    assert.deepEqual(out.graph.inputs.map((v) => v.name), ['x']);
    const feed = { x: ramp([1, 1, 3, 3], 0.4) };
    const failure = checkContract(exact, await runModel(m, feed), await runModel(out, feed));
    assert.equal(failure, undefined, failure);
  });
});

describe('refusals: one line naming the op, the versions and why', () => {
  test('a used Dropout mask, training-mode Dropout-6, Tile-1, batched Scan-8 and experimental Upsample-1', async () => {
    const mask = model(7, (b) => {
      const [y, m] = b.node('Dropout', [b.input('x', FLOAT, [2])], {}, { outputs: 2 });
      b.output(y, FLOAT);
      b.output(m, FLOAT);
    });
    assert.match(await refusal(mask), /Dropout-7 → Dropout-10 \(Dropout 'Dropout'\): its mask 'Dropout_out1' is used/);
    const training = model(6, (b) => b.output(b.op('Dropout', [b.input('x', FLOAT, [2])]), FLOAT));
    assert.match(await refusal(training), /Dropout-6 → Dropout-7 .*is_test is 0/);
    const tile = model(5, (b) => b.output(b.op('Tile', [b.input('x', FLOAT, [2]), b.input('t', FLOAT, []), b.input('a', FLOAT, [])]), FLOAT));
    assert.match(await refusal(tile), /^opset: cannot upgrade opset 5 to 13: Tile-1 → Tile-6 \(Tile 'Tile'\): Tile-1 repeated/);
    const batched = model(8, (b) => {
      const [y] = b.node('Scan', ['', b.input('init', FLOAT, [2, 2]), b.input('x', FLOAT, [2, 3, 2])], { body: attr.graph(scanBody()), num_scan_inputs: 1 }, { outputs: 2 });
      b.output(y, FLOAT);
    });
    assert.match(await refusal(batched), /Scan-8 → Scan-9 .*batch axis of 'init' is not statically 1/);
    const up = model(6, (b) => b.output(b.op('Upsample', [b.input('x', FLOAT, [1, 1, 2, 2])], { height_scale: attr.float(2), width_scale: attr.float(2) }), FLOAT));
    assert.match(await refusal(up), /Upsample-1 → Upsample-7/);
  });

  test('Resize-10 nearest that both grows and shrinks, tf_half_pixel_for_nn, unknown ops, model-local functions', async () => {
    const mixed = model(10, (b) => b.output(b.op('Resize', [b.input('x', FLOAT, [1, 1, 4, 4]), b.initializer('s', f32([4], [1, 1, 2, 0.5]))]), FLOAT));
    assert.match(await refusal(mixed), /Resize-10 → Resize-11 .*both grow and shrink/);
    const tf = model(11, (b) => b.output(b.op('Resize', [b.input('x', FLOAT, [1, 1, 4, 4]), b.initializer('roi', f32([0], [])), b.initializer('s', f32([4], [1, 1, 2, 2]))], { coordinate_transformation_mode: 'tf_half_pixel_for_nn' }), FLOAT));
    assert.match(await refusal(tf), /Resize-11 → Resize-13 .*tf_half_pixel_for_nn/);
    const unknown = model(11, (b) => b.output(b.op('Frobnicate', [b.input('x', FLOAT, [2])]), FLOAT));
    assert.match(await refusal(unknown), /Frobnicate is not an operator of the default ONNX domain/);
    const fn = model(11, (b) => b.output(b.op('Twice', [b.input('x', FLOAT, [2])], {}, { domain: 'local' }), FLOAT));
    const withFn: Model = {
      ...fn, opsetImport: [...fn.opsetImport, { domain: 'local', version: 1 }],
      functions: [{ name: 'Twice', domain: 'local', inputs: ['a'], outputs: ['b'], nodes: [makeNode('Add', ['a', 'a'], ['b'])], opsetImport: [{ domain: '', version: 11 }], rest: {} }],
    };
    assert.match(await refusal(withFn), /model-local function local\.Twice imports opset 11/);
  });

  test('targets above the highest covered opset are an option error', () => {
    assert.throws(() => opset({ target: MAX_TARGET + 1 }), /option target of pass opset expects a number in \[1, 21\]/);
  });

  test('AveragePool-19 (2-D) rounds differently in onnxruntime: refused, or crossed under an allclose contract', async () => {
    const m = model(11, (b) => b.output(b.op('AveragePool', [b.input('x', FLOAT, [1, 2, 6, 10])], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), FLOAT));
    assert.match(await refusal(m, 19), /AveragePool-11 → AveragePool-19 .*allow_kernel_rounding/);
    const out = await upgrade(m, 19, { allow_kernel_rounding: true });
    assert.equal(defaultOpset(out), 19);
    const feed = randomFeeds(m, { seed: 5 });
    const [a, b] = [await runModel(m, feed), await runModel(out, feed)];
    assert.equal(checkContract(allclose(1e-4, 1e-5), a, b), undefined);
    assert.deepEqual(contractOf(opset({ allow_kernel_rounding: true })), allclose(1e-4, 1e-5));
    assert.deepEqual(contractOf(opset()), exact);
  });

  test('the CLI prints a refusal as one line and exits 1; --opset-target and the Opset config section upgrade', () => {
    const dir = path.join(SCRATCH_DIR, 'opset-cli');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const refused = path.join(dir, 'refused.onnx');
    saveModel(model(7, (b) => {
      const [y, m] = b.node('Dropout', [b.input('x', FLOAT, [2])], {}, { outputs: 2 });
      b.output(y, FLOAT);
      b.output(m, FLOAT);
    }), refused);
    const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/src/cli/main.js', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
    const r = cli('compile', refused, '--passes', 'opset', '-o', path.join(dir, 'x.onnx'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^onnx-slim: opset: cannot upgrade opset 7 to 13: Dropout-7 → Dropout-10 [^\n]*\n$/);
    assert.equal(existsSync(path.join(dir, 'x.onnx')), false);

    const ok = path.join(dir, 'ok.onnx');
    saveModel(model(9, (b) => b.output(b.op('Squeeze', [b.input('x', FLOAT, [1, 2])], { axes: [0] }), FLOAT)), ok);
    const a = cli('compile', ok, '--passes', 'opset', '--opset-target', '15', '-o', path.join(dir, 'a.onnx'), '--verify');
    assert.equal(a.status, 0, a.stderr);
    assert.equal(defaultOpset(loadModel(path.join(dir, 'a.onnx'))), 15);
    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, 'Global:\n  passes: [opset]\nCompress:\n  Opset:\n    target: 17\n');
    const c = cli('compile', ok, '--config', config, '-o', path.join(dir, 'c.onnx'));
    assert.equal(c.status, 0, c.stderr);
    assert.equal(defaultOpset(loadModel(path.join(dir, 'c.onnx'))), 17);
  });
});

/** One op at an old opset, with random float inputs named x (and others the builder adds). */
interface SingleOp { readonly name: string; readonly from: number; readonly shape: number[]; readonly build: (b: GraphBuilder, x: string) => string }

const sines = (dims: number[], k = 1): Tensor => f32(dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * k) / 2));

// Kernels onnxruntime may swap between versions of the same op (the AveragePool-19 kind of difference).
const SINGLE_OPS: readonly SingleOp[] = [
  { name: 'LpPool', from: 11, shape: [1, 3, 9, 11], build: (b, x) => b.op('LpPool', [x], { kernel_shape: [3, 3], strides: [2, 2], p: 2 }) },
  { name: 'MaxPool', from: 7, shape: [1, 3, 9, 11], build: (b, x) => b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: 'AveragePool 1-D', from: 7, shape: [1, 3, 17], build: (b, x) => b.op('AveragePool', [x], { kernel_shape: [4], strides: [3], pads: [1, 2], count_include_pad: 1 }) },
  { name: 'GlobalAveragePool', from: 7, shape: [1, 3, 9, 11], build: (b, x) => b.op('GlobalAveragePool', [x]) },
  { name: 'Conv', from: 7, shape: [1, 3, 9, 11], build: (b, x) => b.op('Conv', [x, b.initializer('w', sines([4, 3, 3, 3]))], { pads: [1, 1, 1, 1] }) },
  { name: 'ConvTranspose', from: 7, shape: [1, 3, 5, 6], build: (b, x) => b.op('ConvTranspose', [x, b.initializer('w', sines([3, 2, 3, 3], 0.7))], { strides: [2, 2] }) },
  { name: 'InstanceNormalization', from: 7, shape: [2, 3, 9, 11], build: (b, x) => b.op('InstanceNormalization', [x, b.initializer('s', f32([3], [1, 2, 3])), b.initializer('c', f32([3], [0, 1, 2]))]) },
  { name: 'LRN', from: 7, shape: [1, 5, 4, 4], build: (b, x) => b.op('LRN', [x], { size: 3 }) },
  { name: 'ReduceMean', from: 7, shape: [3, 7, 9], build: (b, x) => b.op('ReduceMean', [x], { axes: [1, 2] }) },
  { name: 'ReduceLogSumExp', from: 7, shape: [3, 7, 9], build: (b, x) => b.op('ReduceLogSumExp', [x], { axes: [0] }) },
  { name: 'ReduceL2', from: 7, shape: [3, 7, 9], build: (b, x) => b.op('ReduceL2', [x], { axes: [2], keepdims: 0 }) },
  { name: 'ReduceSumSquare', from: 7, shape: [3, 7, 9], build: (b, x) => b.op('ReduceSumSquare', [x]) },
  { name: 'Softmax', from: 7, shape: [4, 1000], build: (b, x) => b.op('Softmax', [x]) },
  { name: 'LogSoftmax', from: 7, shape: [4, 5, 6], build: (b, x) => b.op('LogSoftmax', [x], { axis: 1 }) },
  { name: 'Gemm', from: 7, shape: [3, 8], build: (b, x) => b.op('Gemm', [x, b.initializer('w', sines([8, 5])), b.initializer('c', f32([5], [1, 2, 3, 4, 5]))], { alpha: 0.5, beta: attr.float(2) }) },
  { name: 'MatMul', from: 7, shape: [3, 4, 8], build: (b, x) => b.op('MatMul', [x, b.initializer('w', sines([8, 5]))]) },
  { name: 'Resize cubic', from: 11, shape: [1, 2, 5, 7], build: (b, x) => b.op('Resize', [x, b.initializer('roi', f32([0], [])), b.initializer('sc', f32([4], [1, 1, 1.7, 2.3]))], { mode: 'cubic' }) },
  { name: 'Upsample linear', from: 7, shape: [1, 2, 5, 7], build: (b, x) => b.op('Upsample', [x], { scales: attr.floats([1, 1, 2, 3]), mode: 'linear' }) },
  { name: 'BatchNormalization', from: 7, shape: [2, 3, 4, 5], build: (b, x) => b.op('BatchNormalization', [x, ...['s', 'c', 'm', 'v'].map((n, i) => b.initializer(n, f32([3], [1 + i, 0.5 * i, 2 + i])))]) },
  { name: 'Mean', from: 7, shape: [3, 5], build: (b, x) => b.op('Mean', [x, b.op('Neg', [x]), b.op('Abs', [x])]) },
  { name: 'unary chain', from: 7, shape: [3, 5], build: (b, x) => b.op('Tanh', [b.op('Log', [b.op('Exp', [b.op('Atan', [b.op('Cos', [b.op('Sin', [x])])])])])]) },
  { name: 'activations', from: 7, shape: [3, 5], build: (b, x) => b.op('Softsign', [b.op('Softplus', [b.op('Selu', [b.op('Elu', [b.op('HardSigmoid', [x])])])])]) },
  { name: 'LpNormalization + MeanVarianceNormalization', from: 9, shape: [2, 3, 4, 5], build: (b, x) => b.op('MeanVarianceNormalization', [b.op('LpNormalization', [x], { p: 2 })]) },
  { name: 'GRU', from: 7, shape: [4, 2, 3], build: (b, x) => b.node('GRU', [x, b.initializer('W', sines([1, 15, 3])), b.initializer('R', sines([1, 15, 5], 0.3))], { hidden_size: 5 }, { outputs: 2 })[0] },
  { name: 'LSTM', from: 7, shape: [4, 2, 3], build: (b, x) => b.node('LSTM', [x, b.initializer('W', sines([1, 20, 3])), b.initializer('R', sines([1, 20, 5], 0.3))], { hidden_size: 5 }, { outputs: 3 })[0] },
  { name: 'RoiAlign', from: 10, shape: [1, 2, 8, 8], build: (b, x) => b.op('RoiAlign', [x, b.initializer('r', f32([1, 4], [0.5, 1, 6, 7])), b.initializer('i', i64([0]))], { output_height: 3, output_width: 3 }) },
  { name: 'Quantize/DequantizeLinear', from: 10, shape: [3, 5], build: (b, x) => b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, b.initializer('s', f32([], [0.013]))]), b.initializer('s2', f32([], [0.013]))]) },
  { name: 'LayerNormalization', from: 17, shape: [2, 3, 8], build: (b, x) => b.op('LayerNormalization', [x, b.initializer('g', sines([8])), b.initializer('c', sines([8], 2))]) },
];

describe('single ops keep bitwise outputs in onnxruntime from their old opset to 13 and the highest target', () => {
  for (const c of SINGLE_OPS) {
    test(c.name, async () => {
      const m = model(c.from, (b) => b.output(c.build(b, b.input('x', FLOAT, c.shape)), FLOAT));
      const feeds = randomFeeds(m, { seed: 11 });
      const before = await runModel(m, feeds);
      for (const target of [13, MAX_TARGET].filter((t) => t > c.from)) {
        const failure = checkContract(exact, before, await runModel(await upgrade(m, target), feeds));
        assert.equal(failure, undefined, `target ${target}: ${failure}`);
      }
    });
  }
});

const sr16k = { value: Tensor.scalar(INT64, 16000n) };

interface RealCase {
  readonly name: string;
  readonly file: string;
  readonly feeds: FeedOptions;
  /** Highest target with bitwise-equal outputs, when below MAX_TARGET (and why). */
  readonly exactUpTo?: number;
}

const REAL: readonly RealCase[] = [
  { name: 'PP-OCRv4 det', file: REAL_MODELS.ppocrDet, feeds: { inputs: { x: { shape: [1, 3, 64, 64] } } } },
  // Its AveragePool (2-D) runs on another onnxruntime kernel from opset 19.
  { name: 'PP-OCRv4 rec', file: REAL_MODELS.ppocrRec, feeds: { inputs: { x: { shape: [1, 3, 48, 96] } } }, exactUpTo: 18 },
  { name: 'PP-OCR cls', file: REAL_MODELS.ppocrCls, feeds: { inputs: { x: { shape: [1, 3, 48, 192] } } } },
  { name: 'SqueezeNet 1.0', file: path.join(SHARED_MODELS_DIR, 'squeezenet1.0/squeezenet1.0.onnx'), feeds: { inputs: { data_0: { range: [-120, 130] } } } },
  { name: 'MNIST', file: path.join(SHARED_MODELS_DIR, 'mnist/mnist.onnx'), feeds: { inputs: { Input3: { range: [0, 255] } } } },
  {
    name: 'Silero VAD v5', file: REAL_MODELS.sileroVad,
    feeds: { inputs: { input: { shape: [1, 512], range: [-0.5, 0.5] }, state: { shape: [2, 1, 128], range: [-0.1, 0.1] }, sr: sr16k } },
  },
  {
    name: 'Silero VAD legacy', file: REAL_MODELS.sileroVadLegacy,
    feeds: { inputs: { input: { shape: [1, 512], range: [-0.5, 0.5] }, h: { shape: [2, 1, 64] }, c: { shape: [2, 1, 64] }, sr: sr16k } },
  },
];

describe('real models keep bitwise-equal outputs', () => {
  for (const c of REAL) {
    test(c.name, { skip: !existsSync(c.file) && `${c.file} is not there` }, async () => {
      const bytes = plainBytes(readFileSync(c.file));
      const original = loadModel(c.file);
      const feeds = randomFeeds(original, { seed: 7, ...c.feeds });
      const before = await runModel(await equivalenceSession(bytes), feeds);
      const from = defaultOpset(original)!;
      for (const target of [13, c.exactUpTo ?? MAX_TARGET]) {
        const out = await upgrade(original, target);
        if (from >= target) { assert.equal(out, original, `already at opset ${from}`); continue; }
        assert.equal(defaultOpset(out), target);
        for (const [name, t] of original.graph.initializers) assert.equal(out.graph.initializers.get(name), t, `weight '${name}' is the same object`);
        const after = await runModel(await equivalenceSession(out), feeds);
        assert.equal(checkContract(exact, before, after), undefined, `target ${target}`);
        if (c.name.startsWith('Silero')) {
          const ifs = out.graph.nodes.filter((n) => n.opType === 'If');
          assert.ok(ifs.length > 0 && ifs.every((n) => subgraphsOf(n).every((g) => g.nodes.length > 0)), 'If branches kept');
        }
      }
      if (c.exactUpTo !== undefined) {
        await refusal(original, MAX_TARGET);
        const out = await upgrade(original, MAX_TARGET, { allow_kernel_rounding: true });
        const after = await runModel(await equivalenceSession(out), feeds);
        assert.equal(checkContract(allclose(1e-4, 1e-5), before, after), undefined);
      }
    });
  }
});
