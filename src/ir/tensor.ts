// Weights. A Tensor is a class instance, so immer never drafts or freezes it, and it keeps whatever
// storage the file had: a view on the file bytes, a typed proto field, or an external-data reference
// read only when asked. Nothing is copied until a pass asks for numbers in a layout the bytes lack.
import type { Int64 } from '../proto/wire.js';
import type { ProtoMessage } from '../proto/codec.js';
import { DataType, type NumericArray, arrayCtorOf, bitsOf, byteSizeOf, bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat } from './dtype.js';

/** Bytes kept in another file (ExternalData.md); read on first use. */
export interface ExternalSource {
  readonly location: string;
  /** Canonical path of the data file (savers must not overwrite a file they still read from). */
  readonly file: string;
  readonly offset: number;
  readonly length: number;
  read(): Uint8Array;
}

export type TensorStorage =
  | { readonly kind: 'raw'; readonly bytes: Uint8Array }
  | { readonly kind: 'float_data'; readonly values: Float32Array }
  | { readonly kind: 'double_data'; readonly values: Float64Array }
  | { readonly kind: 'int32_data'; readonly values: Int32Array }
  | { readonly kind: 'int64_data'; readonly values: readonly Int64[] }
  | { readonly kind: 'uint64_data'; readonly values: readonly Int64[] }
  | { readonly kind: 'string_data'; readonly values: readonly Uint8Array[] }
  | { readonly kind: 'external'; readonly source: ExternalSource }
  | { readonly kind: 'empty' };

/** The stored data does not fit the tensor's shape and type (a corrupt or hostile file). */
export class TensorDataError extends Error {}

/** The element types each typed TensorProto field may carry (onnx-ml.proto). */
const FIELD_TYPES: Readonly<Record<string, readonly DataType[]>> = {
  float_data: [DataType.FLOAT, DataType.COMPLEX64],
  double_data: [DataType.DOUBLE, DataType.COMPLEX128],
  int64_data: [DataType.INT64],
  uint64_data: [DataType.UINT32, DataType.UINT64],
  string_data: [DataType.STRING],
  int32_data: [DataType.INT32, DataType.INT16, DataType.INT8, DataType.INT4, DataType.INT2, DataType.UINT16, DataType.UINT8,
    DataType.UINT4, DataType.UINT2, DataType.BOOL, DataType.FLOAT16, DataType.BFLOAT16, DataType.FLOAT8E4M3FN,
    DataType.FLOAT8E4M3FNUZ, DataType.FLOAT8E5M2, DataType.FLOAT8E5M2FNUZ, DataType.FLOAT8E8M0, DataType.FLOAT4E2M1],
};

/** Why the payload cannot hold this tensor's elements, or undefined when it can (checked without reading external data). */
export function storageProblem(t: Tensor): string | undefined {
  const s = t.storage;
  const allowed = FIELD_TYPES[s.kind];
  if (allowed && !allowed.includes(t.dataType)) return `stores ${DataType[t.dataType] ?? t.dataType} values in ${s.kind}, which cannot hold them`;
  const need = t.dataType === DataType.STRING ? t.size : t.byteLength;
  const have = s.kind === 'raw' ? s.bytes.length : s.kind === 'external' ? s.source.length : s.kind === 'empty' ? 0 : undefined;
  if (have !== undefined) return have === need || (s.kind === 'empty' && t.size === 0) ? undefined : `holds ${have} bytes, its shape [${t.dims}] of ${DataType[t.dataType]} needs ${need}`;
  const count = s.kind === 'string_data' ? s.values.length : (s as { values: ArrayLike<unknown> }).values.length;
  // int32_data holds one element per entry, or one packed byte for 4- and 2-bit types.
  const perEntry = s.kind === 'int32_data' && bitsOf(t.dataType) < 8 ? byteSizeOf(t.dataType, t.size) : t.size;
  return count === perEntry || (s.kind === 'float_data' && t.dataType === DataType.COMPLEX64 && count === 2 * t.size)
    ? undefined : `holds ${count} values, its shape [${t.dims}] needs ${perEntry}`;
}

export class Tensor {
  private cachedBytes?: Uint8Array;
  private cachedArray?: NumericArray;

  constructor(
    readonly dataType: DataType,
    readonly dims: readonly number[],
    readonly storage: TensorStorage,
    /** TensorProto fields the IR does not interpret (name of attribute tensors, doc_string, ...), kept verbatim. */
    readonly rest: ProtoMessage = {},
  ) {
    Object.freeze(dims);
  }

  /** A tensor over a typed array's memory (no copy). The array must hold one element per entry. */
  static fromArray(dataType: DataType, dims: readonly number[], values: NumericArray): Tensor {
    const count = dims.reduce((a, b) => a * b, 1);
    if (values.length !== count) throw new Error(`tensor of shape [${dims}] needs ${count} values, got ${values.length}`);
    const bits = bitsOf(dataType);
    if (bits < 8) return new Tensor(dataType, [...dims], { kind: 'raw', bytes: packSubByte(values, bits) });
    return new Tensor(dataType, [...dims], { kind: 'raw', bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
  }

  static scalar(dataType: DataType, value: number | bigint): Tensor {
    return Tensor.filled(dataType, [], value);
  }

  /** A tensor of `dims` holding `value` everywhere, encoded for `dataType` (half and bfloat16 as their bit patterns). */
  static filled(dataType: DataType, dims: readonly number[], value: number | bigint): Tensor {
    const Ctor = arrayCtorOf(dataType);
    if (!Ctor) throw new Error(`no array type for ${DataType[dataType]}`);
    const arr = new Ctor(dims.reduce((a, b) => a * b, 1));
    const stored = dataType === DataType.FLOAT16 ? floatToHalf(Number(value))
      : dataType === DataType.BFLOAT16 ? floatToBfloat16(Number(value))
      : arr instanceof BigInt64Array || arr instanceof BigUint64Array ? BigInt(value) : Number(value);
    (arr as { fill(v: number | bigint): unknown }).fill(stored);
    return Tensor.fromArray(dataType, dims, arr);
  }

  get size(): number {
    let n = 1;
    for (const d of this.dims) n *= d;
    return n;
  }

  /** Bytes the payload takes in raw form (what `raw_data` or external data would hold). */
  get byteLength(): number {
    if (this.dataType === DataType.STRING) {
      return this.storage.kind === 'string_data' ? this.storage.values.reduce((s, v) => s + v.length, 0) : 0;
    }
    return byteSizeOf(this.dataType, this.size);
  }

  get isExternal(): boolean {
    return this.storage.kind === 'external';
  }

  /** Little-endian raw bytes as `raw_data` would hold them. A view where the storage already is bytes. */
  rawBytes(): Uint8Array {
    if (this.cachedBytes) return this.cachedBytes;
    this.assertStorageFits();
    const s = this.storage;
    let bytes: Uint8Array;
    switch (s.kind) {
      case 'raw': bytes = s.bytes; break;
      case 'external': bytes = s.source.read(); break;
      case 'empty': bytes = new Uint8Array(0); break;
      case 'string_data': throw new Error('string tensors have no raw byte form');
      default: {
        const arr = this.toArray();
        bytes = bitsOf(this.dataType) < 8 ? packSubByte(arr, bitsOf(this.dataType)) : new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
      }
    }
    if (bytes.length !== this.byteLength) {
      throw new TensorDataError(`tensor data holds ${bytes.length} bytes, its shape [${this.dims}] of ${DataType[this.dataType]} needs ${this.byteLength}`);
    }
    this.cachedBytes = bytes;
    return bytes;
  }

  /**
   * One entry per element in the type's natural typed array (see `arrayCtorOf`). A view on the file
   * bytes when they are aligned, else one copy. Treat the result as read-only.
   */
  toArray(): NumericArray {
    if (this.cachedArray) return this.cachedArray;
    this.assertStorageFits();
    const Ctor = arrayCtorOf(this.dataType);
    if (!Ctor) throw new Error(`tensors of type ${DataType[this.dataType]} have no numeric form`);
    const s = this.storage;
    const n = this.size;
    let out: NumericArray;
    if (s.kind === 'float_data' || s.kind === 'double_data') {
      out = s.values;
    } else if (s.kind === 'int32_data') {
      // int32_data carries every type narrower than 32 bits: one element per entry (float16 as bit patterns),
      // or one packed byte per entry for 4- and 2-bit types.
      const bits = bitsOf(this.dataType);
      out = this.dataType === DataType.INT32 ? s.values
        : bits < 8 ? unpackSubByte(Uint8Array.from(s.values), n, bits, this.dataType === DataType.INT4 || this.dataType === DataType.INT2)
        : convertInto(new Ctor(n), s.values);
    } else if (s.kind === 'int64_data' || s.kind === 'uint64_data') {
      const arr = new Ctor(n);
      // uint64_data also carries UINT32 (a number array).
      const big = arr instanceof BigInt64Array || arr instanceof BigUint64Array;
      for (let i = 0; i < n; i++) (arr as unknown as Array<number | bigint>)[i] = big ? BigInt(s.values[i]) : Number(s.values[i]);
      out = arr;
    } else {
      const bytes = this.rawBytes();
      const bits = bitsOf(this.dataType);
      if (bits < 8) out = unpackSubByte(bytes, n, bits, this.dataType === DataType.INT4 || this.dataType === DataType.INT2);
      else if ((bytes.byteOffset % Ctor.BYTES_PER_ELEMENT) === 0) out = new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
      else {
        // Misaligned view: copy once. (Buffer#slice would return another view, not a copy.)
        const copy = new Uint8Array(bytes.byteLength);
        copy.set(bytes);
        out = new Ctor(copy.buffer, 0, n);
      }
    }
    if (out.length !== n) {
      throw new TensorDataError(`tensor data holds ${out.length} values, its shape [${this.dims}] needs ${n}`);
    }
    this.cachedArray = out;
    return out;
  }

  private assertStorageFits(): void {
    const problem = storageProblem(this);
    if (problem) throw new TensorDataError(`tensor of shape [${this.dims}] ${problem}`);
  }

  /** Values as float32 for any real numeric type (float16/bfloat16 decoded, int64 converted). */
  toFloat32(): Float32Array {
    const arr = this.toArray();
    if (arr instanceof Float32Array) return arr;
    const out = new Float32Array(arr.length);
    if (this.dataType === DataType.FLOAT16) for (let i = 0; i < arr.length; i++) out[i] = halfToFloat(arr[i] as number);
    else if (this.dataType === DataType.BFLOAT16) for (let i = 0; i < arr.length; i++) out[i] = bfloat16ToFloat(arr[i] as number);
    else for (let i = 0; i < arr.length; i++) out[i] = Number(arr[i]);
    return out;
  }

  /** Values as plain numbers (for small shape-like tensors). */
  toNumbers(): number[] {
    if (this.dataType === DataType.FLOAT16 || this.dataType === DataType.BFLOAT16) return Array.from(this.toFloat32());
    return Array.from(this.toArray() as ArrayLike<number | bigint>, Number);
  }

  /** The same values under another shape (no copy). */
  reshaped(dims: readonly number[]): Tensor {
    return new Tensor(this.dataType, [...dims], this.storage, this.rest);
  }
}

function convertInto(out: NumericArray, values: Int32Array): NumericArray {
  for (let i = 0; i < values.length && i < out.length; i++) (out as Int32Array)[i] = values[i];
  return out;
}

function packSubByte(values: ArrayLike<number | bigint>, bits: number): Uint8Array {
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(Math.ceil(values.length / perByte));
  for (let i = 0; i < values.length; i++) {
    out[(i / perByte) | 0] |= (Number(values[i]) & mask) << ((i % perByte) * bits);
  }
  return out;
}

function unpackSubByte(bytes: Uint8Array, n: number, bits: number, signed: boolean): NumericArray {
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const signBit = 1 << (bits - 1);
  const out = signed ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = (bytes[(i / perByte) | 0] >> ((i % perByte) * bits)) & mask;
    out[i] = signed && v & signBit ? v - (1 << bits) : v;
  }
  return out;
}
