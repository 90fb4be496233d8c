// Protobuf wire primitives. Hand-written rather than protobufjs's Reader/Writer because we need
// 64-bit integers without precision loss (number when safe, bigint otherwise), zero-copy byte views,
// and a writer that streams large byte fields straight to a file instead of building one buffer.

/** A 64-bit integer: a number when it is a safe integer, a bigint otherwise (e.g. INT64_MAX sentinels). */
export type Int64 = number | bigint;

export class DecodeError extends Error {}

const TWO_64 = 1n << 64n;
const TWO_63 = 1n << 63n;
const MASK_64 = TWO_64 - 1n;

export function normalizeInt64(value: bigint): Int64 {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

export class WireReader {
  pos: number;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError(`truncated data at byte ${this.pos} (needs ${n} more)`);
  }

  /** Unsigned 64-bit varint. */
  varint(): Int64 {
    const buf = this.buf;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new DecodeError(`truncated varint at byte ${this.pos}`);
      const b = buf[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    // More than 49 bits: finish in bigint.
    let big = BigInt(value);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (this.pos >= this.end) throw new DecodeError(`truncated varint at byte ${this.pos}`);
      const b = buf[this.pos++];
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return normalizeInt64(big & MASK_64);
      shift += 7n;
    }
    throw new DecodeError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  uint32(): number {
    const v = this.varint();
    return typeof v === 'number' ? v % 0x1_0000_0000 : Number(v & 0xffff_ffffn);
  }

  int32(): number {
    return this.uint32() | 0;
  }

  int64(): Int64 {
    const v = this.varint();
    if (typeof v === 'number') return v;
    return normalizeInt64(v >= TWO_63 ? v - TWO_64 : v);
  }

  uint64(): Int64 {
    return this.varint();
  }

  sint32(): number {
    const v = this.uint32();
    return (v >>> 1) ^ -(v & 1);
  }

  sint64(): Int64 {
    const v = BigInt(this.varint());
    return normalizeInt64((v >> 1n) ^ -(v & 1n));
  }

  fixed32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  fixed64(signed: boolean): Int64 {
    this.need(8);
    const v = signed ? this.view.getBigInt64(this.pos, true) : this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return normalizeInt64(v);
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  length(): number {
    const n = this.varint();
    if (typeof n !== 'number' || n > this.end - this.pos) {
      throw new DecodeError(`length ${n} at byte ${this.pos} runs past the end of its message`);
    }
    return n;
  }

  /** A view on the underlying bytes: no copy. */
  bytes(): Uint8Array {
    const n = this.length();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0: this.varint(); return;
      case 1: this.need(8); this.pos += 8; return;
      case 2: { const n = this.length(); this.pos += n; return; }
      case 5: this.need(4); this.pos += 4; return;
      default: throw new DecodeError(`unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }
}

export function varintSize(value: Int64): number {
  if (typeof value === 'number') {
    if (value >= 0 && value < 0x80) return 1;
    if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
      let n = 1;
      while (value >= 128) { value = Math.floor(value / 128); n++; }
      return n;
    }
    value = BigInt(value);
  }
  let v = value < 0n ? value + TWO_64 : value;
  let n = 1;
  while (v >= 128n) { v >>= 7n; n++; }
  return n;
}

/** Where encoded bytes go: memory chunks or a file. Large byte fields pass through without a copy. */
export interface ByteSink {
  write(chunk: Uint8Array): void;
}

export class WireWriter {
  private buf: Buffer;
  private pos = 0;
  /** Bytes at least this long are handed to the sink directly instead of being copied into the buffer. */
  private static readonly PASS_THROUGH = 64 * 1024;

  constructor(private readonly sink: ByteSink, private readonly chunkSize = 1 << 20) {
    this.buf = Buffer.allocUnsafe(chunkSize);
  }

  private room(n: number): void {
    if (this.pos + n > this.buf.length) this.flush();
  }

  flush(): void {
    if (this.pos === 0) return;
    this.sink.write(this.buf.subarray(0, this.pos));
    // The sink may keep the chunk (memory sink): start a fresh buffer.
    this.buf = Buffer.allocUnsafe(this.chunkSize);
    this.pos = 0;
  }

  varint(value: Int64): void {
    this.room(10);
    if (typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
      while (value >= 128) {
        this.buf[this.pos++] = (value % 128) | 0x80;
        value = Math.floor(value / 128);
      }
      this.buf[this.pos++] = value;
      return;
    }
    let v = BigInt(value);
    if (v < 0n) v += TWO_64;
    while (v >= 128n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  tag(id: number, wireType: number): void {
    this.varint(id * 8 + wireType);
  }

  fixed32(v: number): void { this.room(4); this.buf.writeUInt32LE(v >>> 0, this.pos); this.pos += 4; }
  sfixed32(v: number): void { this.room(4); this.buf.writeInt32LE(v | 0, this.pos); this.pos += 4; }
  float(v: number): void { this.room(4); this.buf.writeFloatLE(v, this.pos); this.pos += 4; }
  double(v: number): void { this.room(8); this.buf.writeDoubleLE(v, this.pos); this.pos += 8; }
  fixed64(v: Int64, signed: boolean): void {
    this.room(8);
    if (signed) this.buf.writeBigInt64LE(BigInt(v), this.pos);
    else this.buf.writeBigUInt64LE(BigInt(v), this.pos);
    this.pos += 8;
  }

  raw(bytes: Uint8Array): void {
    if (bytes.length >= WireWriter.PASS_THROUGH) {
      this.flush();
      this.sink.write(bytes);
      return;
    }
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

/** Collects chunks in memory; `concat` joins them once at the end. */
export class MemorySink implements ByteSink {
  readonly chunks: Uint8Array[] = [];
  size = 0;
  write(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }
  concat(): Uint8Array {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
  }
}
