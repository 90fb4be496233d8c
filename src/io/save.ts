// Writing .onnx files: streamed (large tensors go straight from their views to the file), to a temporary
// file renamed into place, so a failure never leaves a partial output. Weights above a size threshold can go
// to one external data file with aligned offsets; above 2 GiB that is required and happens by itself.
import { closeSync, existsSync, openSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { encodeMessageTo, messageSize, type ProtoMessage } from '../proto/codec.js';
import { messageSpec } from '../proto/schema.js';
import { type ByteSink, MemorySink } from '../proto/wire.js';
import { modelToProto, type WriteContext } from '../ir/convert.js';
import type { Graph, Model } from '../ir/model.js';
import { subgraphsOf } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';

const MAX_PROTO_BYTES = 2 ** 31 - 1;

export interface ExternalDataOptions {
  /** Data file name, relative to the model's folder (default: `<model file name>.data`). */
  readonly location?: string;
  /** Tensors with at least this many bytes go external (default 1024, as onnx does). */
  readonly threshold?: number;
  /** Offsets of tensors of at least 1 MiB are aligned to this many bytes (default 65536, mmap-friendly everywhere). */
  readonly alignment?: number;
}

export interface SaveOptions {
  /** true or options: write weights to an external data file. Forced when the model would pass 2 GiB. */
  readonly externalData?: boolean | ExternalDataOptions;
}

class FileSink implements ByteSink {
  written = 0;
  constructor(private readonly fd: number) {}
  write(chunk: Uint8Array): void {
    let done = 0;
    while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done);
    this.written += chunk.length;
  }
}

/** Encodes to bytes in memory (tests, small models). External tensors are inlined. */
export function encodeModel(model: Model): Uint8Array {
  const sink = new MemorySink();
  encodeMessageTo(modelToProto(model), messageSpec('ModelProto'), sink);
  return sink.concat();
}

function* allTensors(graph: Graph): Generator<Tensor> {
  yield* graph.initializers.values();
  for (const node of graph.nodes) {
    for (const a of node.attributes) if (a.type === 'tensor') yield a.value;
    for (const g of subgraphsOf(node)) yield* allTensors(g);
  }
}

function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
}

/** Writes `model` to `file` atomically (temp file + rename). */
export function saveModel(model: Model, file: string, options: SaveOptions = {}): void {
  const spec = messageSpec('ModelProto');
  const target = path.resolve(file);
  let external = options.externalData ? (options.externalData === true ? {} : options.externalData) : undefined;
  if (!external) {
    const inline = modelToProto(model);
    if (messageSize(inline, spec) <= MAX_PROTO_BYTES) {
      writeAtomically(target, (sink) => encodeMessageTo(inline, spec, sink));
      return;
    }
    external = {};
  }
  saveWithExternalData(model, target, external);
}

function writeAtomically(target: string, write: (sink: FileSink) => void): void {
  const tmp = tempPathFor(target);
  const fd = openSync(tmp, 'wx');
  try {
    write(new FileSink(fd));
    closeSync(fd);
    renameSync(tmp, target);
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(tmp, { force: true });
    throw e;
  }
}

function saveWithExternalData(model: Model, target: string, opts: ExternalDataOptions): void {
  const location = opts.location ?? `${path.basename(target)}.data`;
  if (path.isAbsolute(location) || location.split(/[\\/]/).includes('..')) {
    throw new Error(`external data location '${location}' must be a plain relative path`);
  }
  const threshold = opts.threshold ?? 1024;
  const alignment = opts.alignment ?? 65536;
  const dataPath = path.join(path.dirname(target), location);
  // Tensors still read lazily from the file about to be replaced must be read now.
  const pinned = new Map<Tensor, Uint8Array>();
  const placed = new Map<Tensor, { offset: number; length: number }>();
  const order: Tensor[] = [];
  let offset = 0;
  const replaced = existsSync(dataPath) ? realpathSync(dataPath) : undefined;
  for (const t of new Set(allTensors(model.graph))) {
    // Read now whatever still lives in the data file about to be replaced, inline-bound tensors too
    // (rawBytes caches, so the inline writer later sees these bytes).
    if (t.storage.kind === 'external' && t.storage.source.file === replaced) pinned.set(t, t.rawBytes());
    if (t.dataType === 8 || t.byteLength < threshold) continue;
    if (t.byteLength >= 1 << 20) offset = Math.ceil(offset / alignment) * alignment;
    placed.set(t, { offset, length: t.byteLength });
    order.push(t);
    offset += t.byteLength;
  }
  writeAtomically(dataPath, (sink) => {
    const zeros = new Uint8Array(alignment);
    for (const t of order) {
      const at = placed.get(t)!.offset;
      if (at > sink.written) sink.write(zeros.subarray(0, at - sink.written));
      sink.write(pinned.get(t) ?? t.rawBytes());
    }
  });
  const ctx: WriteContext = {
    placeExternal: (t) => {
      const p = placed.get(t);
      return p && new Map([['location', location], ['offset', String(p.offset)], ['length', String(p.length)]]);
    },
  };
  const proto: ProtoMessage = modelToProto(model, ctx);
  const spec = messageSpec('ModelProto');
  if (messageSize(proto, spec) > MAX_PROTO_BYTES) throw new Error('the model is over 2 GiB even with its weights stored externally');
  writeAtomically(target, (sink) => encodeMessageTo(proto, spec, sink));
}
