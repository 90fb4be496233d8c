// The verifier names what is wrong: double definitions, reads before definition (cycles), missing opset
// imports, declared types that contradict inference, tensors whose payload does not fit their shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType, GraphBuilder, makeModel, makeNode, makeTensorType, Tensor, verifyModel, type Model } from '../src/index.js';
import { castDraft, produce } from 'immer';

function base(): Model {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2]);
  b.output(b.op('Relu', [b.op('Neg', [x])]), DataType.FLOAT, [2]);
  return makeModel(b.build());
}

test('a valid model has no problems', () => {
  assert.deepEqual(verifyModel(base()), []);
});

test('a value defined twice', () => {
  const m = produce(base(), (d) => { d.graph.nodes[1].outputs = [d.graph.nodes[0].outputs[0]]; });
  assert.ok(verifyModel(m).some((p) => /defined twice/.test(p)));
});

test('a cycle shows up as a read before definition', () => {
  const m = produce(base(), (d) => { d.graph.nodes[0].inputs = [d.graph.nodes[1].outputs[0]]; });
  assert.ok(verifyModel(m).some((p) => /not defined before it/.test(p)));
});

test('an op from a domain the model does not import', () => {
  const m = produce(base(), (d) => { d.graph.nodes.push(castDraft(makeNode('Foo', ['x'], ['y'], {}, { domain: 'com.example' }))); });
  assert.ok(verifyModel(m).some((p) => /domain 'com.example'/.test(p)));
});

test('a declared type that contradicts inference', () => {
  const m = produce(base(), (d) => { d.graph.outputs[0].type = castDraft(makeTensorType(DataType.INT64, [3])); });
  assert.ok(verifyModel(m).some((p) => /declared int64\[3\] but is float\[2\]/.test(p)), verifyModel(m).join('\n'));
});

test('a tensor whose bytes do not fit its shape', () => {
  const m = produce(base(), (d) => {
    d.graph.initializers.set('w', castDraft(new Tensor(DataType.FLOAT, [4], { kind: 'raw', bytes: new Uint8Array(8) })));
  });
  assert.ok(verifyModel(m).some((p) => /initializer 'w' holds 8 bytes/.test(p)));
});
