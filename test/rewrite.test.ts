// The rule engine: patterns, checks with reasons, the driver's fixed point, loops as errors, subgraphs,
// and the cost model (one produce per sweep; untouched nodes are the same objects).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyRules, assertValid, constant, DataType, defineRule, GraphBuilder, makeModel, op, RewriteLoopError, RuleSet,
  runModel, Tensor, v, attr, type Model, type Graph,
} from '../src/index.js';

const f32 = (dims: number[], values: number[]): Tensor => Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from(values));

/** The README's example rule: x * 1 → x. */
const removeMulByOne = defineRule({
  name: 'algebra/remove-mul-one',
  pattern: op('Mul', [v('x'), constant('one', (t) => t.dataType === DataType.FLOAT && t.toFloat32().every((x) => x === 1))]),
  check: (m, ctx) => {
    if (ctx.isGraphOutput(m.root.outputs[0])) return 'its output is a graph output';
    const x = ctx.typeOf(m.values.x), y = ctx.typeOf(m.root.outputs[0]);
    return x?.shape && y?.shape && x.shape.join() === y.shape.join() ? true : 'the constant broadcasts x to a larger shape';
  },
  rewrite: (m) => ({ replace: { [m.root.outputs[0]]: m.values.x } }),
});

function mulChain(n: number): Model {
  const b = new GraphBuilder();
  let x = b.input('x', DataType.FLOAT, [2, 2]);
  const one = b.initializer('one', f32([1], [1]));
  for (let i = 0; i < n; i++) x = b.op('Relu', [b.op('Mul', [x, one])]);
  b.output(b.op('Identity', [x]), DataType.FLOAT, [2, 2]);
  return makeModel(b.build());
}

test('a custom rule fires everywhere it matches and keeps outputs', async () => {
  const model = mulChain(5);
  const { model: out, stats } = applyRules(model, new RuleSet('algebra', [removeMulByOne]));
  assertValid(out);
  assert.equal(stats.applied.get('algebra/remove-mul-one'), 5);
  assert.equal(out.graph.nodes.filter((n) => n.opType === 'Mul').length, 0);
  const feed = { x: f32([2, 2], [-1, 2, -3, 4]) };
  assert.deepEqual(Object.values(await runModel(out, feed))[0].toFloat32(), Object.values(await runModel(model, feed))[0].toFloat32());
});

test('check explains near-misses', () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2]);
  const y = b.op('Mul', [x, b.initializer('ones', f32([3, 2], [1, 1, 1, 1, 1, 1]))]);
  b.output(b.op('Relu', [y]), DataType.FLOAT, [3, 2]);
  const misses: string[] = [];
  const { stats } = applyRules(makeModel(b.build()), new RuleSet('algebra', [removeMulByOne]), { onMiss: (r, n, why) => misses.push(`${r.name} ${n.name}: ${why}`) });
  assert.equal(stats.applied.size, 0);
  assert.deepEqual(misses, ['algebra/remove-mul-one Mul: the constant broadcasts x to a larger shape']);
});

test('no match returns the input model object', () => {
  const model = mulChain(0);
  assert.equal(applyRules(model, new RuleSet('algebra', [removeMulByOne])).model, model);
});

test('a rule set that never settles is an error, not a hang', () => {
  const swap = defineRule({
    name: 'test/swap-add',
    pattern: op('Add', [v('a'), v('b')]),
    rewrite: (m, b) => ({ nodes: [b.node('Add', [m.values.b, m.values.a], {}, { outputs: m.root.outputs }).node] }),
  });
  const g = new GraphBuilder();
  const x = g.input('x', DataType.FLOAT, [1]);
  g.output(g.op('Add', [x, g.input('y', DataType.FLOAT, [1])]), DataType.FLOAT, [1]);
  assert.throws(() => applyRules(makeModel(g.build()), new RuleSet('loop', [swap]), { maxSweeps: 20 }), RewriteLoopError);
});

test('rules reach into If branches and follow captured values', async () => {
  const branch = (name: string, opType: string, captured: string): Graph => {
    const b = new GraphBuilder(name);
    const one = b.initializer(`${name}_one`, f32([1], [1]));
    const y = b.op(opType, [b.op('Mul', [captured, one])]);
    b.output(y, DataType.FLOAT, [2]);
    return b.build();
  };
  const b = new GraphBuilder('main');
  const x = b.input('x', DataType.FLOAT, [2]);
  const c = b.input('c', DataType.BOOL, []);
  const ident = b.op('Identity', [x]);
  const out = b.op('If', [c], { then_branch: attr.graph(branch('then', 'Relu', ident)), else_branch: attr.graph(branch('else', 'Neg', ident)) });
  b.output(out, DataType.FLOAT, [2]);
  const model = makeModel(b.build());
  const removeIdentity = defineRule({
    name: 'test/remove-identity', pattern: op('Identity', [v('x')]),
    check: (m, ctx) => (ctx.isGraphOutput(m.root.outputs[0]) ? 'graph output' : true),
    rewrite: (m) => ({ replace: { [m.root.outputs[0]]: m.values.x } }),
  });
  const { model: rewritten, stats } = applyRules(model, new RuleSet('t', [removeMulByOne, removeIdentity]));
  assertValid(rewritten);
  assert.equal(stats.applied.get('algebra/remove-mul-one'), 2);
  assert.equal(stats.applied.get('test/remove-identity'), 1);
  for (const cond of [true, false]) {
    const feed = { x: f32([2], [-2, 3]), c: Tensor.fromArray(DataType.BOOL, [], Uint8Array.of(cond ? 1 : 0)) };
    assert.deepEqual(Object.values(await runModel(rewritten, feed))[0].toFloat32(), Object.values(await runModel(model, feed))[0].toFloat32());
  }
});

test('editing k nodes of a large graph copies O(k) nodes and sweeps once', () => {
  const b = new GraphBuilder();
  let x = b.input('x', DataType.FLOAT, [4]);
  const one = b.initializer('one', f32([1], [1]));
  const two = b.initializer('two', f32([1], [2]));
  const n = 50_000, k = 10;
  for (let i = 0; i < n; i++) x = b.op('Mul', [x, i % (n / k) === 0 ? one : two]);
  b.output(b.op('Identity', [x]), DataType.FLOAT, [4]);
  const model = makeModel(b.build());
  const { model: out, stats } = applyRules(model, new RuleSet('algebra', [removeMulByOne]));
  assert.equal(stats.applied.get('algebra/remove-mul-one'), k);
  assert.equal(stats.sweeps, 1);
  const before = new Set(model.graph.nodes);
  const fresh = out.graph.nodes.filter((node) => !before.has(node));
  // Each removed Mul re-points exactly one reader.
  assert.equal(fresh.length, k);
  assert.equal(out.graph.nodes.length, n + 1 - k);
});
