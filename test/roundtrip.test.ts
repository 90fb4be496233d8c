// Lossless load → save: every backend-suite model and every real model decodes to the IR and encodes back to
// an equal protobuf message; fields this schema does not know survive; weights stay views on the file bytes;
// cleanup hands back untouched tensors as the very same objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { decodeMessage, encodeMessageTo, type ProtoMessage } from '../src/proto/codec.js';
import { messageSpec } from '../src/proto/schema.js';
import { MemorySink } from '../src/proto/wire.js';
import { decodeModel, loadModel } from '../src/io/load.js';
import { encodeModel, saveModel } from '../src/io/save.js';
import { compile } from '../src/passes/compile.js';
import { cleanup } from '../passes/index.js';
import type { Graph } from '../src/ir/model.js';
import type { Tensor } from '../src/ir/tensor.js';
import { backendCases, plainBytes } from './helpers/backend-suite.js';
import { REAL_MODELS, SCRATCH_DIR, SHARED_MODELS_DIR, hasShared } from './helpers/paths.js';

const MODEL_SPEC = messageSpec('ModelProto');

const SHARED_REAL = ['stories260K/stories260K.onnx', 'squeezenet1.0/squeezenet1.0.onnx', 'mnist/mnist.onnx']
  .map((p) => path.join(SHARED_MODELS_DIR, p));
const REAL = [...Object.values(REAL_MODELS), ...SHARED_REAL].filter((f) => existsSync(f));

const decodeProto = (bytes: Uint8Array): ProtoMessage => decodeMessage(plainBytes(bytes), MODEL_SPEC);

function encodeProto(msg: ProtoMessage): Uint8Array {
  const sink = new MemorySink();
  encodeMessageTo(msg, MODEL_SPEC, sink);
  return plainBytes(sink.concat());
}

/** The path to the first place two decoded messages differ (for a readable failure). */
function firstDifference(a: unknown, b: unknown, at = '$'): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    const show = (v: unknown): string => (ArrayBuffer.isView(v) ? `${v.constructor.name}(${(v as Uint8Array).length})` : String(v));
    return `${at}: ${show(a)} vs ${show(b)}`;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
    if (d) return d;
  }
  return `${at}: prototypes differ`;
}

/** decode → IR → encode → decode; returns what differs, or undefined. */
function roundTrip(bytes: Uint8Array, baseDir?: string): string | undefined {
  const before = decodeProto(bytes);
  const model = decodeModel(plainBytes(bytes), baseDir === undefined ? {} : { baseDir });
  const after = decodeProto(encodeModel(model));
  return firstDifference(before, after);
}

test('every backend-suite model round-trips to an equal message', { skip: !hasShared() && 'no shared backend suite' }, () => {
  const cases = backendCases();
  assert.ok(cases.length >= 1800, `found ${cases.length} cases`);
  const failures: string[] = [];
  let identicalBytes = 0;
  for (const c of cases) {
    const bytes = readFileSync(c.modelPath);
    try {
      const diff = roundTrip(bytes, c.dir);
      if (diff) failures.push(`${c.name}: ${diff}`);
      else if (Buffer.compare(bytes, encodeModel(decodeModel(plainBytes(bytes), { baseDir: c.dir }))) === 0) identicalBytes++;
    } catch (e) {
      failures.push(`${c.name}: threw ${(e as Error).message}`);
    }
  }
  console.log(`# round trip: ${cases.length} backend models, ${cases.length - failures.length} equal, ${identicalBytes} byte-identical`);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} models differ`);
});

for (const file of REAL) {
  test(`real model round-trips: ${path.basename(file)}`, () => {
    const diff = roundTrip(readFileSync(file), path.dirname(file));
    assert.equal(diff, undefined);
  });
}

// ---------------------------------------------------------------- unknown fields

const UNKNOWN_VARINT = Uint8Array.from([0x98, 0x06, 0x96, 0x01]); // field 99, varint 150
const UNKNOWN_LEN = Uint8Array.from([0xa2, 0x06, 0x03, 0x61, 0x62, 0x63]); // field 100, bytes 'abc'
const UNKNOWN_FIXED32 = Uint8Array.from([0xad, 0x06, 1, 2, 3, 4]); // field 101, fixed32

function withUnknown(msg: ProtoMessage, ...raw: Uint8Array[]): void {
  (msg.$unknown ??= []).push(...raw);
}

const unknownOf = (msg: ProtoMessage | undefined): number[][] => (msg?.$unknown ?? []).map((u) => [...u]);

test('unknown fields survive load → save in model, graph, node, attribute, tensor, value info and opset', () => {
  const source = REAL_MODELS.wakeword;
  const proto = decodeProto(readFileSync(source));
  const graph = proto.graph as ProtoMessage;
  const node = (graph.node as ProtoMessage[]).find((n) => ((n.attribute as ProtoMessage[] | undefined) ?? []).length > 0)!;
  const attribute = (node.attribute as ProtoMessage[])[0];
  const init = (graph.initializer as ProtoMessage[])[0];
  const input = (graph.input as ProtoMessage[])[0];
  const opset = (proto.opset_import as ProtoMessage[])[0];
  withUnknown(proto, UNKNOWN_VARINT, UNKNOWN_LEN);
  withUnknown(graph, UNKNOWN_LEN);
  withUnknown(node, UNKNOWN_VARINT, UNKNOWN_FIXED32);
  withUnknown(attribute, UNKNOWN_LEN);
  withUnknown(init, UNKNOWN_VARINT);
  withUnknown(input, UNKNOWN_FIXED32);
  withUnknown(opset, UNKNOWN_VARINT);
  const bytes = encodeProto(proto);

  mkdirSync(SCRATCH_DIR, { recursive: true });
  const file = path.join(SCRATCH_DIR, 'roundtrip-unknown.onnx');
  writeFileSync(file, bytes);
  // Through both entry points: loadModel (file) and decodeModel (bytes).
  saveModel(loadModel(file), file);
  const saved = readFileSync(file);
  const viaBytes = encodeModel(decodeModel(plainBytes(bytes)));
  for (const out of [saved, viaBytes]) {
    const back = decodeProto(out);
    const g = back.graph as ProtoMessage;
    const n = (g.node as ProtoMessage[]).find((x) => x.name === node.name && x.op_type === node.op_type)!;
    const a = (n.attribute as ProtoMessage[]).find((x) => x.name === attribute.name)!;
    const i = (g.initializer as ProtoMessage[]).find((x) => x.name === init.name)!;
    const v = (g.input as ProtoMessage[]).find((x) => x.name === input.name)!;
    const o = (back.opset_import as ProtoMessage[]).find((x) => x.domain === opset.domain)!;
    assert.deepEqual(unknownOf(back), [[...UNKNOWN_VARINT], [...UNKNOWN_LEN]], 'model');
    assert.deepEqual(unknownOf(g), [[...UNKNOWN_LEN]], 'graph');
    assert.deepEqual(unknownOf(n), [[...UNKNOWN_VARINT], [...UNKNOWN_FIXED32]], 'node');
    assert.deepEqual(unknownOf(a), [[...UNKNOWN_LEN]], 'attribute');
    assert.deepEqual(unknownOf(i), [[...UNKNOWN_VARINT]], 'initializer');
    assert.deepEqual(unknownOf(v), [[...UNKNOWN_FIXED32]], 'value info');
    assert.deepEqual(unknownOf(o), [[...UNKNOWN_VARINT]], 'opset');
    // The whole message is otherwise what went in.
    assert.equal(firstDifference(proto, back), undefined);
  }
});

test('unknown fields survive a pass that rewrites around them (cleanup keeps untouched nodes verbatim)', async () => {
  const proto = decodeProto(readFileSync(REAL_MODELS.wakeword));
  const graph = proto.graph as ProtoMessage;
  withUnknown(proto, UNKNOWN_LEN);
  const gemm = (graph.node as ProtoMessage[]).find((n) => n.op_type === 'Gemm')!;
  withUnknown(gemm, UNKNOWN_VARINT);
  const { model } = await compile(decodeModel(encodeProto(proto)), [cleanup()], { verify: true });
  const back = decodeProto(encodeModel(model));
  assert.deepEqual(unknownOf(back), [[...UNKNOWN_LEN]]);
  const n = ((back.graph as ProtoMessage).node as ProtoMessage[]).find((x) => x.name === gemm.name)!;
  assert.ok(n, 'the Gemm node is still there');
  assert.deepEqual(unknownOf(n), [[...UNKNOWN_VARINT]]);
});

// ---------------------------------------------------------------- zero copy

function largestRaw(initializers: ReadonlyMap<string, Tensor>): [string, Tensor] {
  let best: [string, Tensor] | undefined;
  for (const e of initializers) if (e[1].storage.kind === 'raw' && (!best || e[1].byteLength > best[1].byteLength)) best = e;
  assert.ok(best, 'the model has raw_data initializers');
  return best;
}

const zeroCopySource = [path.join(SHARED_MODELS_DIR, 'squeezenet1.0/squeezenet1.0.onnx'), REAL_MODELS.wakeword].find((f) => existsSync(f))!;

test(`weights are views on the file buffer, not copies (${path.basename(zeroCopySource)})`, () => {
  const buf = readFileSync(zeroCopySource);
  const model = decodeModel(buf);
  const [name, t] = largestRaw(model.graph.initializers);
  assert.ok(t.byteLength >= 4096, `${name} is ${t.byteLength} bytes`);
  const bytes = (t.storage as { bytes: Uint8Array }).bytes;
  assert.equal(bytes.buffer, buf.buffer, `${name} shares the file's ArrayBuffer`);
  assert.ok(bytes.byteOffset >= buf.byteOffset && bytes.byteOffset + bytes.length <= buf.byteOffset + buf.length);
  // The view points at the tensor's own bytes: the i-th float read through the view is the i-th in the file.
  const start = bytes.byteOffset - buf.byteOffset;
  assert.equal(Buffer.compare(buf.subarray(start, start + bytes.length), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)), 0);
  // Every raw initializer of the model is a view, whatever its size.
  for (const [n, x] of model.graph.initializers) {
    if (x.storage.kind === 'raw') assert.equal(x.storage.bytes.buffer, buf.buffer, n);
  }
});

test('cleanup hands back untouched tensors as the same objects and reuses Constant bytes', async () => {
  const buf = readFileSync(zeroCopySource);
  const model = decodeModel(buf);
  const { model: out } = await compile(model, [cleanup()], { verify: true });
  let same = 0;
  for (const [name, t] of out.graph.initializers) {
    const before = model.graph.initializers.get(name);
    if (before) { assert.equal(t, before, `${name} is the same object`); same++; }
  }
  assert.ok(same > 0, 'some initializers are kept');

  // Paddle: Constant nodes become initializers whose bytes are the Constant's bytes (no copy).
  const cls = readFileSync(REAL_MODELS.ppocrCls);
  const paddle = decodeModel(cls);
  const constants = new Map<string, Tensor>();
  const collect = (g: Graph): void => {
    for (const n of g.nodes) {
      const value = n.opType === 'Constant' ? n.attributes.find((a) => a.name === 'value') : undefined;
      if (value?.type === 'tensor') constants.set(n.outputs[0], value.value);
    }
  };
  collect(paddle.graph);
  const { model: cleaned } = await compile(paddle, [cleanup()], { verify: true });
  let reused = 0;
  for (const [name, t] of cleaned.graph.initializers) {
    const c = constants.get(name);
    if (!c || c.storage.kind !== 'raw' || c.byteLength < 1024) continue;
    assert.equal(t.storage.kind, 'raw', name);
    const a = (t.storage as { bytes: Uint8Array }).bytes, b = c.storage.bytes;
    assert.ok(a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length, `${name} keeps the Constant's bytes`);
    assert.equal(a.buffer, cls.buffer);
    reused++;
  }
  assert.ok(reused > 10, `${reused} large Constant tensors reused`);
});
