// Schema-driven protobuf codec for ONNX messages.
// - Messages decode to plain objects keyed by the .proto field names (snake_case).
// - Fields this schema does not know are kept verbatim in `$unknown` and written back after the known ones,
//   so files from newer ONNX versions round-trip.
// - `bytes` decode as views on the input (no copy); packed float/int32/double arrays become typed arrays,
//   views when aligned.
import { DecodeError, type Int64, type ByteSink, WireReader, WireWriter, varintSize } from './wire.js';
import type { FieldSpec, MessageSpec } from './schema.js';

export type ProtoValue =
  | number | bigint | boolean | string | Uint8Array | ProtoMessage
  | Float32Array | Float64Array | Int32Array | Uint32Array
  | ReadonlyArray<Int64 | boolean | string | Uint8Array | ProtoMessage | number>;

export interface ProtoMessage {
  [field: string]: ProtoValue | undefined;
  /** Raw bytes (tag included) of fields the schema does not know, in file order. */
  $unknown?: Uint8Array[];
}

const MAX_DEPTH = 128;
const utf8 = new TextDecoder('utf-8');

const WIRE_VARINT = 0, WIRE_64 = 1, WIRE_LEN = 2, WIRE_32 = 5;

function wireTypeOf(field: FieldSpec): number {
  switch (field.kind) {
    case 'double': case 'fixed64': case 'sfixed64': return WIRE_64;
    case 'float': case 'fixed32': case 'sfixed32': return WIRE_32;
    case 'string': case 'bytes': case 'message': return WIRE_LEN;
    default: return WIRE_VARINT;
  }
}

function readScalar(r: WireReader, field: FieldSpec): Int64 | boolean {
  switch (field.kind) {
    case 'int32': case 'enum': return r.int32();
    case 'uint32': return r.uint32();
    case 'sint32': return r.sint32();
    case 'int64': return r.int64();
    case 'uint64': return r.uint64();
    case 'sint64': return r.sint64();
    case 'bool': return r.varint() !== 0;
    case 'fixed32': return r.fixed32();
    case 'sfixed32': return r.fixed32() | 0;
    case 'float': return r.float();
    case 'fixed64': return r.fixed64(false);
    case 'sfixed64': return r.fixed64(true);
    case 'double': return r.double();
    default: throw new DecodeError(`field ${field.name} is not a scalar`);
  }
}

/** Packed float/double/int32 runs become typed arrays: a view when aligned, else one copy. */
function readPackedTyped(r: WireReader, field: FieldSpec): Float32Array | Float64Array | null {
  if (field.kind !== 'float' && field.kind !== 'double') return null;
  const width = field.kind === 'float' ? 4 : 8;
  const n = r.length();
  if (n % width !== 0) throw new DecodeError(`packed ${field.name} has ${n} bytes, not a multiple of ${width}`);
  const start = r.buf.byteOffset + r.pos;
  r.pos += n;
  const Ctor = field.kind === 'float' ? Float32Array : Float64Array;
  const buffer = r.buf.buffer as ArrayBuffer;
  if (start % width === 0) return new Ctor(buffer, start, n / width);
  return new Ctor(buffer.slice(start, start + n));
}

type Accumulator = Array<unknown>;

function finishRepeated(field: FieldSpec, items: Accumulator): ProtoValue {
  switch (field.kind) {
    case 'float': case 'double': {
      const Ctor = field.kind === 'float' ? Float32Array : Float64Array;
      if (items.length === 1 && items[0] instanceof Ctor) return items[0] as Float32Array | Float64Array;
      const total = items.reduce<number>((s, it) => s + (it instanceof Ctor ? it.length : 1), 0);
      const out = new Ctor(total);
      let i = 0;
      for (const it of items) {
        if (it instanceof Ctor) { out.set(it, i); i += it.length; } else out[i++] = it as number;
      }
      return out;
    }
    case 'int32': case 'sint32': case 'sfixed32': return Int32Array.from(items as number[]);
    default: return items as ProtoValue;
  }
}

export function decodeMessage(buf: Uint8Array, spec: MessageSpec): ProtoMessage {
  return decodeRange(new WireReader(buf), spec, buf.length, 0);
}

function decodeRange(r: WireReader, spec: MessageSpec, end: number, depth: number): ProtoMessage {
  if (depth > MAX_DEPTH) throw new DecodeError(`messages nested deeper than ${MAX_DEPTH}`);
  const msg: ProtoMessage = {};
  let repeated: Map<FieldSpec, Accumulator> | undefined;
  while (r.pos < end) {
    const tagStart = r.pos;
    const key = r.varint();
    if (typeof key !== 'number' || key < 8) throw new DecodeError(`bad field key at byte ${tagStart}`);
    const id = Math.floor(key / 8);
    const wireType = key % 8;
    const field = spec.byId.get(id);
    if (!field || !compatible(field, wireType)) {
      r.skip(wireType);
      if (r.pos > end) throw new DecodeError(`field ${id} at byte ${tagStart} runs past the end of its message`);
      (msg.$unknown ??= []).push(r.buf.subarray(tagStart, r.pos));
      continue;
    }
    const value = readField(r, field, wireType, depth);
    if (r.pos > end) throw new DecodeError(`field ${field.name} at byte ${tagStart} runs past the end of its message`);
    if (field.repeated) {
      repeated ??= new Map();
      let acc = repeated.get(field);
      if (!acc) repeated.set(field, (acc = []));
      if (Array.isArray(value) && wireType === WIRE_LEN && field.kind !== 'message' && field.kind !== 'string' && field.kind !== 'bytes') {
        for (const v of value) acc.push(v);
      } else acc.push(value);
    } else {
      msg[field.name] = value as ProtoValue;
    }
  }
  if (r.pos !== end) throw new DecodeError(`message ends at byte ${r.pos}, expected ${end}`);
  if (repeated) for (const [field, items] of repeated) msg[field.name] = finishRepeated(field, items);
  return msg;
}

function compatible(field: FieldSpec, wireType: number): boolean {
  const expected = wireTypeOf(field);
  // Repeated scalars may come packed (length-delimited) whatever the schema says.
  return wireType === expected || (field.repeated && wireType === WIRE_LEN && expected !== WIRE_LEN);
}

function readField(r: WireReader, field: FieldSpec, wireType: number, depth: number): unknown {
  if (field.kind === 'message') {
    const n = r.length();
    const end = r.pos + n;
    return decodeRange(r, field.message!, end, depth + 1);
  }
  if (field.kind === 'string') {
    const bytes = r.bytes();
    return utf8.decode(bytes);
  }
  if (field.kind === 'bytes') return r.bytes();
  if (wireType === WIRE_LEN) {
    // Packed run of scalars.
    const typed = readPackedTyped(r, field);
    if (typed) return [typed];
    const n = r.length();
    const end = r.pos + n;
    const out: unknown[] = [];
    while (r.pos < end) out.push(readScalar(r, field));
    if (r.pos !== end) throw new DecodeError(`packed ${field.name} overruns its length`);
    return out;
  }
  return readScalar(r, field);
}

// ---------------------------------------------------------------- encoding

type SizeCache = Map<ProtoMessage, number>;

function scalarSize(field: FieldSpec, v: unknown): number {
  switch (field.kind) {
    case 'double': case 'fixed64': case 'sfixed64': return 8;
    case 'float': case 'fixed32': case 'sfixed32': return 4;
    case 'bool': return 1;
    case 'sint32': case 'sint64': return varintSize(zigzag(v as Int64));
    case 'int32': case 'enum': return varintSize(v as number); // negative int32 take 10 bytes, as protobuf writes them
    case 'uint32': return varintSize((v as number) >>> 0);
    default: return varintSize(v as Int64);
  }
}

function zigzag(v: Int64): bigint {
  const b = BigInt(v);
  return b >= 0n ? b << 1n : (-b << 1n) - 1n;
}

function writeScalar(w: WireWriter, field: FieldSpec, v: unknown): void {
  switch (field.kind) {
    case 'double': w.double(v as number); return;
    case 'float': w.float(v as number); return;
    case 'fixed32': w.fixed32(v as number); return;
    case 'sfixed32': w.sfixed32(v as number); return;
    case 'fixed64': w.fixed64(v as Int64, false); return;
    case 'sfixed64': w.fixed64(v as Int64, true); return;
    case 'bool': w.varint(v ? 1 : 0); return;
    case 'sint32': case 'sint64': w.varint(zigzag(v as Int64)); return;
    case 'uint32': w.varint((v as number) >>> 0); return;
    default: w.varint(v as Int64);
  }
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

function lengthDelimitedPayload(field: FieldSpec, v: unknown, cache: SizeCache): number {
  if (field.kind === 'message') return messageSize(v as ProtoMessage, field.message!, cache);
  if (field.kind === 'string') return utf8Length(v as string);
  return (v as Uint8Array).length;
}

function packedPayload(field: FieldSpec, values: ArrayLike<unknown>): number {
  if (field.kind === 'float' || field.kind === 'fixed32' || field.kind === 'sfixed32') return values.length * 4;
  if (field.kind === 'double' || field.kind === 'fixed64' || field.kind === 'sfixed64') return values.length * 8;
  let n = 0;
  for (let i = 0; i < values.length; i++) n += scalarSize(field, values[i]);
  return n;
}

export function messageSize(msg: ProtoMessage, spec: MessageSpec, cache: SizeCache = new Map()): number {
  const hit = cache.get(msg);
  if (hit !== undefined) return hit;
  let size = 0;
  for (const field of spec.fields) {
    const value = msg[field.name];
    if (value === undefined) continue;
    const tagSize = varintSize(field.id * 8);
    if (field.repeated) {
      const values = value as ArrayLike<unknown>;
      if (values.length === 0) continue;
      if (field.packed) {
        const payload = packedPayload(field, values);
        size += tagSize + varintSize(payload) + payload;
      } else if (wireTypeOf(field) === WIRE_LEN) {
        for (let i = 0; i < values.length; i++) {
          const payload = lengthDelimitedPayload(field, values[i], cache);
          size += tagSize + varintSize(payload) + payload;
        }
      } else {
        for (let i = 0; i < values.length; i++) size += tagSize + scalarSize(field, values[i]);
      }
    } else if (wireTypeOf(field) === WIRE_LEN) {
      const payload = lengthDelimitedPayload(field, value, cache);
      size += tagSize + varintSize(payload) + payload;
    } else {
      size += tagSize + scalarSize(field, value);
    }
  }
  if (msg.$unknown) for (const raw of msg.$unknown) size += raw.length;
  cache.set(msg, size);
  return size;
}

function writeLengthDelimited(w: WireWriter, field: FieldSpec, v: unknown, cache: SizeCache): void {
  w.tag(field.id, WIRE_LEN);
  if (field.kind === 'message') {
    w.varint(messageSize(v as ProtoMessage, field.message!, cache));
    writeMessage(w, v as ProtoMessage, field.message!, cache);
  } else if (field.kind === 'string') {
    const bytes = Buffer.from(v as string, 'utf8');
    w.varint(bytes.length);
    w.raw(bytes);
  } else {
    w.varint((v as Uint8Array).length);
    w.raw(v as Uint8Array);
  }
}

function writeMessage(w: WireWriter, msg: ProtoMessage, spec: MessageSpec, cache: SizeCache): void {
  for (const field of spec.fields) {
    const value = msg[field.name];
    if (value === undefined) continue;
    if (field.repeated) {
      const values = value as ArrayLike<unknown>;
      if (values.length === 0) continue;
      if (field.packed) {
        w.tag(field.id, WIRE_LEN);
        w.varint(packedPayload(field, values));
        if (value instanceof Float32Array || value instanceof Float64Array) {
          w.raw(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
        } else {
          for (let i = 0; i < values.length; i++) writeScalar(w, field, values[i]);
        }
      } else if (wireTypeOf(field) === WIRE_LEN) {
        for (let i = 0; i < values.length; i++) writeLengthDelimited(w, field, values[i], cache);
      } else {
        for (let i = 0; i < values.length; i++) { w.tag(field.id, wireTypeOf(field)); writeScalar(w, field, values[i]); }
      }
    } else if (wireTypeOf(field) === WIRE_LEN) {
      writeLengthDelimited(w, field, value, cache);
    } else {
      w.tag(field.id, wireTypeOf(field));
      writeScalar(w, field, value);
    }
  }
  if (msg.$unknown) for (const raw of msg.$unknown) w.raw(raw);
}

/** Streams `msg` into `sink`; sizes are computed first so nothing is encoded twice. */
export function encodeMessageTo(msg: ProtoMessage, spec: MessageSpec, sink: ByteSink): number {
  const cache: SizeCache = new Map();
  const size = messageSize(msg, spec, cache);
  const w = new WireWriter(sink);
  writeMessage(w, msg, spec, cache);
  w.flush();
  return size;
}
