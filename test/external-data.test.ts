// External data (ExternalData.md): saving puts weights in one data file with aligned offsets for large tensors,
// loading reads them lazily, onnxruntime reads what we wrote, and locations that leave the model's folder
// (absolute, `..`, symlinked folders or files, hard links) or ranges past the end are refused with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeMessage, encodeMessageTo, type ProtoMessage } from '../src/proto/codec.js';
import { messageSpec } from '../src/proto/schema.js';
import { MemorySink } from '../src/proto/wire.js';
import { loadModel } from '../src/io/load.js';
import { encodeModel, saveModel } from '../src/io/save.js';
import { ExternalDataError } from '../src/io/external-data.js';
import { DataType } from '../src/ir/dtype.js';
import { Tensor } from '../src/ir/tensor.js';
import { GraphBuilder, makeModel } from '../src/ir/builder.js';
import type { Model } from '../src/ir/model.js';
import { checkContract, exact } from '../src/passes/contract.js';
import { runModel } from '../src/runtime/ort.js';
import { equivalenceSession, randomFeeds, randomTensor, rng } from './helpers/feeds.js';
import { plainBytes } from './helpers/backend-suite.js';
import { SCRATCH_DIR } from './helpers/paths.js';

const MODEL_SPEC = messageSpec('ModelProto');
const ROOT = path.join(SCRATCH_DIR, 'external-data');

function freshDir(name: string): string {
  const dir = path.join(ROOT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** y = Relu(x·W + b) · V: W is 2 MiB (aligned), V 128 KiB, b 4 KiB, plus a tiny scalar under any threshold but 0. */
function buildModel(): Model {
  const next = rng(11);
  const g = new GraphBuilder('external');
  const x = g.input('x', DataType.FLOAT, [1, 512]);
  // Small tensors first, so the large one's alignment is not the trivial offset 0.
  const b = g.initializer('b', randomTensor(DataType.FLOAT, [1024], next));
  const s = g.initializer('s', Tensor.scalar(DataType.FLOAT, 0.5));
  const W = g.initializer('W', randomTensor(DataType.FLOAT, [512, 1024], next));
  const V = g.initializer('V', randomTensor(DataType.FLOAT, [1024, 32], next));
  const h = g.op('Relu', [g.op('Add', [g.op('MatMul', [x, W]), b])]);
  const y = g.op('Mul', [g.op('MatMul', [h, V]), s]);
  g.output(y, DataType.FLOAT, [1, 32]);
  return makeModel(g.build(), { opset: 17 });
}

const MODEL = buildModel();
const FEEDS = randomFeeds(MODEL, { seed: 5 });

interface Entry { key: string; value: string }
type Placement = { location: string; offset: number; length: number };

function readProto(file: string): ProtoMessage {
  return decodeMessage(plainBytes(readFileSync(file)), MODEL_SPEC);
}

function placements(file: string): Map<string, Placement> {
  const out = new Map<string, Placement>();
  for (const t of (readProto(file).graph as ProtoMessage).initializer as ProtoMessage[]) {
    if (t.data_location !== 1) continue;
    const e = new Map((t.external_data as unknown as Entry[]).map((x) => [x.key, x.value]));
    out.set(t.name as string, { location: e.get('location')!, offset: Number(e.get('offset') ?? 0), length: Number(e.get('length')) });
  }
  return out;
}

function assertNoTempFiles(dir: string): void {
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left');
}

async function assertSameOutputs(a: Model, b: Model | Uint8Array | string): Promise<void> {
  const before = await runModel(await equivalenceSession(a), FEEDS);
  const after = await runModel(await equivalenceSession(b), FEEDS);
  assert.equal(checkContract(exact, before, after), undefined);
}

test('saving with external data: every tensor at or above the threshold goes out, large ones aligned', async () => {
  const dir = freshDir('save');
  const file = path.join(dir, 'model.onnx');
  saveModel(MODEL, file, { externalData: { threshold: 0 } });
  const dataFile = path.join(dir, 'model.onnx.data');
  assert.ok(existsSync(dataFile), 'default location is <model>.data');
  const data = readFileSync(dataFile);
  const placed = placements(file);
  assert.deepEqual([...placed.keys()].sort(), ['V', 'W', 'b', 's']);
  for (const [name, p] of placed) {
    const t = MODEL.graph.initializers.get(name)!;
    assert.equal(p.location, 'model.onnx.data');
    assert.equal(p.length, t.byteLength, `${name} length`);
    assert.ok(p.offset + p.length <= data.length, `${name} lies inside the data file`);
    assert.equal(Buffer.compare(data.subarray(p.offset, p.offset + p.length), Buffer.from(t.rawBytes())), 0, `${name} bytes`);
    if (p.length >= 1 << 20) assert.equal(p.offset % 65536, 0, `${name} (${p.length} bytes) at ${p.offset} is 64 KiB aligned`);
  }
  assert.ok(placed.get('W')!.offset >= 65536, 'W follows smaller tensors, so its alignment was needed');
  // Tensors do not overlap.
  const spans = [...placed.values()].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i].offset >= spans[i - 1].offset + spans[i - 1].length, 'no overlap');
  // The model file itself holds no weights.
  assert.ok(statSync(file).size < 4096, `model file is ${statSync(file).size} bytes`);
  assertNoTempFiles(dir);
  // onnxruntime reads the files we wrote (from the path, resolving the data file itself).
  await assertSameOutputs(MODEL, file);
});

test('the threshold keeps small tensors inline; a custom alignment and location are honoured', () => {
  const dir = freshDir('options');
  const file = path.join(dir, 'model.onnx');
  saveModel(MODEL, file, { externalData: { threshold: 8192, alignment: 4096, location: 'weights.bin' } });
  const placed = placements(file);
  assert.deepEqual([...placed.keys()].sort(), ['V', 'W'], 'b (4 KiB) and s stay inline');
  for (const p of placed.values()) assert.equal(p.location, 'weights.bin');
  assert.equal(placed.get('W')!.offset % 4096, 0);
  assert.ok(existsSync(path.join(dir, 'weights.bin')));
  assert.throws(() => saveModel(MODEL, file, { externalData: { location: '../escape.bin' } }), /plain relative path/);
  assert.throws(() => saveModel(MODEL, file, { externalData: { location: '/tmp/escape.bin' } }), /plain relative path/);
  assert.ok(!existsSync(path.join(ROOT, 'escape.bin')));
});

test('loading external data is lazy and gives back the same values; onnxruntime outputs match', async () => {
  const dir = freshDir('load');
  const file = path.join(dir, 'model.onnx');
  saveModel(MODEL, file, { externalData: { threshold: 1024 } });
  const model = loadModel(file);
  const W = model.graph.initializers.get('W')!;
  assert.equal(W.storage.kind, 'external');
  assert.ok(W.isExternal);
  const src = (W.storage as { source: { file: string; offset: number; length: number } }).source;
  assert.equal(path.basename(src.file), 'model.onnx.data');
  assert.equal(src.length, 512 * 1024 * 4);
  assert.equal(model.graph.initializers.get('s')!.storage.kind, 'raw', 'the scalar stayed inline');
  for (const [name, t] of MODEL.graph.initializers) {
    assert.equal(Buffer.compare(Buffer.from(model.graph.initializers.get(name)!.rawBytes()), Buffer.from(t.rawBytes())), 0, name);
  }
  await assertSameOutputs(MODEL, model);
  // Read at first use, not at load: bytes rewritten in place after loading are what a first read sees.
  const lazy = loadModel(file);
  const data = readFileSync(path.join(dir, 'model.onnx.data'));
  const wAt = placements(file).get('W')!;
  const changed = Buffer.from(data);
  changed.fill(0, wAt.offset, wAt.offset + 16);
  writeFileSync(path.join(dir, 'model.onnx.data'), changed);
  assert.deepEqual([...lazy.graph.initializers.get('W')!.rawBytes().subarray(0, 16)], new Array(16).fill(0));
  writeFileSync(path.join(dir, 'model.onnx.data'), data);
  // Encoding in memory inlines external tensors.
  const inline = decodeMessage(plainBytes(encodeModel(model)), MODEL_SPEC);
  for (const t of (inline.graph as ProtoMessage).initializer as ProtoMessage[]) assert.notEqual(t.data_location, 1, `${t.name} inlined`);
});

for (const via of ['its own path', 'a symlinked folder']) {
  test(`saving a lazily loaded model back over its own files keeps the data (through ${via})`, async () => {
    const real = freshDir(`overwrite-${via.replace(/ /g, '-')}`);
    let dir = real;
    if (via !== 'its own path') {
      dir = `${real}-alias`;
      rmSync(dir, { force: true });
      symlinkSync(real, dir);
    }
    await overwriteRoundTrips(path.join(dir, 'model.onnx'));
    assertNoTempFiles(real);
  });
}

async function overwriteRoundTrips(file: string): Promise<void> {
  saveModel(MODEL, file, { externalData: { threshold: 0 } });
  // Each save reads from the data file it replaces; a different layout moves every offset.
  const layouts = [{ threshold: 0, alignment: 4096 }, { threshold: 100 }, { threshold: 0 }];
  for (const layout of layouts) {
    const loaded = loadModel(file);
    assert.equal(loaded.graph.initializers.get('W')!.storage.kind, 'external');
    saveModel(loaded, file, { externalData: layout });
    const back = loadModel(file);
    for (const [name, t] of MODEL.graph.initializers) {
      assert.equal(Buffer.compare(Buffer.from(back.graph.initializers.get(name)!.rawBytes()), Buffer.from(t.rawBytes())), 0, `${name} after ${JSON.stringify(layout)}`);
    }
  }
  // And inline over the same path, while the loaded model still points at the data file.
  const loaded = loadModel(file);
  saveModel(loaded, file);
  const inline = loadModel(file);
  assert.equal(inline.graph.initializers.get('W')!.storage.kind, 'raw');
  await assertSameOutputs(MODEL, inline);
  await assertSameOutputs(MODEL, file);
}

// ---------------------------------------------------------------- refusing unsafe locations

/** Writes `model.onnx` into `dir` with W's external_data entries changed by `edit`. */
function withEditedEntries(source: string, dir: string, edit: (entries: Map<string, string>) => void): string {
  const proto = readProto(source);
  const W = ((proto.graph as ProtoMessage).initializer as ProtoMessage[]).find((t) => t.name === 'W')!;
  const entries = new Map((W.external_data as unknown as Entry[]).map((e) => [e.key, e.value]));
  edit(entries);
  W.external_data = [...entries].map(([key, value]) => ({ key, value }));
  const sink = new MemorySink();
  encodeMessageTo(proto, MODEL_SPEC, sink);
  const file = path.join(dir, 'model.onnx');
  writeFileSync(file, sink.concat());
  return file;
}

test('unsafe or broken external locations are refused with an ExternalDataError that says why', () => {
  const base = freshDir('security');
  const good = path.join(base, 'good');
  mkdirSync(good);
  saveModel(MODEL, path.join(good, 'model.onnx'), { externalData: { threshold: 0, location: 'w.data' } });
  assert.ok(loadModel(path.join(good, 'model.onnx')), 'the unedited model loads');
  const dataSize = statSync(path.join(good, 'w.data')).size;
  const outside = path.join(base, 'outside');
  mkdirSync(outside);
  copyFileSync(path.join(good, 'w.data'), path.join(outside, 'w.data'));

  /** A folder with the model (edited) and its own copy of the data file. */
  const setup = (name: string, edit: (e: Map<string, string>) => void, extra?: (dir: string) => void): string => {
    const dir = path.join(base, name);
    mkdirSync(dir);
    copyFileSync(path.join(good, 'w.data'), path.join(dir, 'w.data'));
    extra?.(dir);
    return withEditedEntries(path.join(good, 'model.onnx'), dir, edit);
  };

  const cases: Array<[string, string, RegExp]> = [
    ['absolute path', setup('absolute', (e) => e.set('location', '/etc/passwd')), /absolute/],
    ['parent folder', setup('dotdot', (e) => e.set('location', '../outside/w.data')), /'\.\.'/],
    ['parent folder inside', setup('dotdot-inner', (e) => e.set('location', 'sub/../w.data'), (d) => mkdirSync(path.join(d, 'sub'))), /'\.\.'/],
    ['folder symlinked outside', setup('symlink-dir', (e) => e.set('location', 'link/w.data'), (d) => symlinkSync(outside, path.join(d, 'link'))), /symbolic link/],
    ['symlinked file', setup('symlink-file', (e) => e.set('location', 'alias.data'), (d) => symlinkSync(path.join(d, 'w.data'), path.join(d, 'alias.data'))), /symbolic link/],
    ['symlink to a file outside', setup('symlink-out', (e) => e.set('location', 'alias.data'), (d) => symlinkSync(path.join(outside, 'w.data'), path.join(d, 'alias.data'))), /symbolic link/],
    ['hard-linked file', setup('hardlink', (e) => e.set('location', 'hard.data'), (d) => linkSync(path.join(outside, 'w.data'), path.join(d, 'hard.data'))), /hard link/],
    ['offset + length past the end', setup('past-end', (e) => e.set('offset', String(dataSize - 16))), /past the end/],
    ['length past the end', setup('too-long', (e) => { e.set('offset', '0'); e.set('length', String(dataSize + 1)); }), /past the end/],
    ['offset not a number', setup('bad-offset', (e) => e.set('offset', '12abc')), /not a non-negative integer/],
    ['negative length', setup('neg-length', (e) => e.set('length', '-4')), /not a non-negative integer/],
    ['missing file', setup('missing', (e) => e.set('location', 'nope.data')), /does not exist/],
    ['no location', setup('no-location', (e) => e.delete('location')), /without a location/],
    ['empty location', setup('empty-location', (e) => e.set('location', '')), /empty/],
    ['a folder', setup('folder', (e) => e.set('location', 'sub'), (d) => mkdirSync(path.join(d, 'sub'))), /not a regular file/],
  ];
  const problems: string[] = [];
  for (const [what, file, message] of cases) {
    try {
      const m = loadModel(file);
      // Lazy reads must not let a bad location through either.
      m.graph.initializers.get('W')!.rawBytes();
      problems.push(`${what}: loaded`);
    } catch (e) {
      if (!(e instanceof ExternalDataError)) problems.push(`${what}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      else if (!message.test(e.message)) problems.push(`${what}: message '${e.message}' does not match ${message}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('a data file replaced after loading is refused on read, not read blindly', () => {
  const dir = freshDir('swap');
  const file = path.join(dir, 'model.onnx');
  saveModel(MODEL, file, { externalData: { threshold: 0, location: 'w.data' } });
  const model = loadModel(file);
  const outside = path.join(dir, '..', 'swap-outside.data');
  copyFileSync(path.join(dir, 'w.data'), outside);
  rmSync(path.join(dir, 'w.data'));
  symlinkSync(outside, path.join(dir, 'w.data'));
  assert.throws(() => model.graph.initializers.get('W')!.rawBytes(), (e: unknown) => {
    // O_NOFOLLOW refuses the swapped-in link (ELOOP); an ExternalDataError would read better on the CLI.
    assert.ok(e instanceof ExternalDataError || (e as NodeJS.ErrnoException).code === 'ELOOP', `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    return true;
  });
  rmSync(outside);
});
