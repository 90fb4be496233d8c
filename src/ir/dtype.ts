// ONNX element types (TensorProto.DataType, IR 14) and their storage facts.

export enum DataType {
  UNDEFINED = 0, FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6, INT64 = 7,
  STRING = 8, BOOL = 9, FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13, COMPLEX64 = 14,
  COMPLEX128 = 15, BFLOAT16 = 16, FLOAT8E4M3FN = 17, FLOAT8E4M3FNUZ = 18, FLOAT8E5M2 = 19,
  FLOAT8E5M2FNUZ = 20, UINT4 = 21, INT4 = 22, FLOAT4E2M1 = 23, FLOAT8E8M0 = 24, UINT2 = 25, INT2 = 26,
}

export type NumericArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

type ArrayCtor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): NumericArray; new (length: number): NumericArray; BYTES_PER_ELEMENT: number };

/** Bits per element; 0 for strings (variable length). */
export function bitsOf(t: DataType): number {
  switch (t) {
    case DataType.DOUBLE: case DataType.INT64: case DataType.UINT64: case DataType.COMPLEX64: return 64;
    case DataType.COMPLEX128: return 128;
    case DataType.FLOAT: case DataType.INT32: case DataType.UINT32: return 32;
    case DataType.FLOAT16: case DataType.BFLOAT16: case DataType.INT16: case DataType.UINT16: return 16;
    case DataType.UINT8: case DataType.INT8: case DataType.BOOL: case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ: case DataType.FLOAT8E5M2: case DataType.FLOAT8E5M2FNUZ: case DataType.FLOAT8E8M0: return 8;
    case DataType.UINT4: case DataType.INT4: case DataType.FLOAT4E2M1: return 4;
    case DataType.UINT2: case DataType.INT2: return 2;
    default: return 0;
  }
}

/** Bytes that `count` elements take in raw_data (sub-byte types packed, rounded up). */
export function byteSizeOf(t: DataType, count: number): number {
  return Math.ceil((bitsOf(t) * count) / 8);
}

/**
 * The typed array that holds one element per entry when unpacked. Float16/BFloat16/float8 keep their bit
 * patterns (Uint16Array/Uint8Array); 4- and 2-bit types are unpacked to one byte each.
 */
export function arrayCtorOf(t: DataType): ArrayCtor | undefined {
  switch (t) {
    case DataType.FLOAT: return Float32Array as unknown as ArrayCtor;
    case DataType.DOUBLE: return Float64Array as unknown as ArrayCtor;
    case DataType.INT8: case DataType.INT4: case DataType.INT2: return Int8Array as unknown as ArrayCtor;
    case DataType.UINT8: case DataType.BOOL: case DataType.UINT4: case DataType.UINT2: case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ: case DataType.FLOAT8E5M2: case DataType.FLOAT8E5M2FNUZ: case DataType.FLOAT8E8M0:
    case DataType.FLOAT4E2M1: return Uint8Array as unknown as ArrayCtor;
    case DataType.INT16: return Int16Array as unknown as ArrayCtor;
    case DataType.UINT16: case DataType.FLOAT16: case DataType.BFLOAT16: return Uint16Array as unknown as ArrayCtor;
    case DataType.INT32: return Int32Array as unknown as ArrayCtor;
    case DataType.UINT32: return Uint32Array as unknown as ArrayCtor;
    case DataType.INT64: return BigInt64Array as unknown as ArrayCtor;
    case DataType.UINT64: return BigUint64Array as unknown as ArrayCtor;
    default: return undefined;
  }
}

export function dataTypeName(t: DataType): string {
  return DataType[t]?.toLowerCase() ?? `dtype${t}`;
}

export const isFloatType = (t: DataType): boolean =>
  t === DataType.FLOAT || t === DataType.DOUBLE || t === DataType.FLOAT16 || t === DataType.BFLOAT16;

export const isIntegerType = (t: DataType): boolean =>
  t === DataType.INT8 || t === DataType.UINT8 || t === DataType.INT16 || t === DataType.UINT16 ||
  t === DataType.INT32 || t === DataType.UINT32 || t === DataType.INT64 || t === DataType.UINT64 ||
  t === DataType.INT4 || t === DataType.UINT4 || t === DataType.INT2 || t === DataType.UINT2;

// IEEE half precision <-> float32, exact (round-to-nearest-even on the way down).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let m = mant >> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) { m = 0; e++; if (e >= 31) return sign | 0x7c00; }
  }
  return sign | (e << 10) | m;
}

/** float32 -> bfloat16 bits, round-to-nearest-even (NaN stays NaN). */
export function floatToBfloat16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if (Number.isNaN(value)) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bfloat16ToFloat(b: number): number {
  u32[0] = b << 16;
  return f32[0];
}
