// Calibration data: async iterables of feeds (input name → tensor) read from
//   (a) a folder of ONNX test data sets (test_data_set_*/input_N.pb, input N feeding the model's N-th graph input
//       that is not an initializer, as onnx_test_runner maps them),
//   (b) a folder of .npy files named after the inputs (input_ids.npy), a file holding N samples along axis 0
//       when the model declares dim 0 as 1 and the file's is larger (read one sample at a time),
//   (c) any (async) iterable of feeds passed through.
// Every feed is checked against the model's declared inputs (names, element types, static dims); problems are
// thrown as one-line CalibDataError messages that name the file or batch.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeMessage } from '../proto/codec.js';
import { messageSpec } from '../proto/schema.js';
import { tensorFromProto } from '../ir/convert.js';
import { DataType, arrayCtorOf, bitsOf, dataTypeName } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { type Dim, formatDim, tensorTypeOf } from '../ir/types.js';

export type Feed = Readonly<Record<string, Tensor>>;

/** A stream of feeds; `total` is the number of feeds when known up front (for progress). */
export interface CalibrationData extends AsyncIterable<Feed> {
  readonly total?: number;
}

export class CalibDataError extends Error {}

export interface ModelInput {
  readonly name: string;
  readonly elemType: DataType;
  /** undefined: rank unknown. */
  readonly shape?: readonly Dim[];
}

/** The graph inputs a feed must provide: those without an initializer (a default value), in graph order. */
export function modelInputs(model: Model): ModelInput[] {
  const g = model.graph;
  return g.inputs.filter((vi) => !g.initializers.has(vi.name)).map((vi) => {
    const t = tensorTypeOf(vi.type);
    return { name: vi.name, elemType: t?.elemType ?? DataType.UNDEFINED, ...(t?.shape ? { shape: t.shape } : {}) };
  });
}

const fmtShape = (s: readonly Dim[]): string => `[${s.map(formatDim).join(',')}]`;

/** Why `t` cannot feed `input`, or undefined when it can. */
function inputProblem(input: ModelInput, t: Tensor): string | undefined {
  if (input.elemType !== DataType.UNDEFINED && t.dataType !== input.elemType) {
    return `input '${input.name}' is ${dataTypeName(t.dataType)}, the model declares ${dataTypeName(input.elemType)}`;
  }
  const s = input.shape;
  if (s && (s.length !== t.dims.length || s.some((d, i) => typeof d === 'number' && d !== t.dims[i]))) {
    return `input '${input.name}' has shape ${fmtShape(t.dims)}, the model declares ${fmtShape(s)}`;
  }
  return undefined;
}

/** Throws a CalibDataError (prefixed with `where`) unless `feed` provides every input with the declared type. */
export function checkFeed(model: Model, feed: Feed, where: string): void {
  const inputs = modelInputs(model);
  const all = new Set(model.graph.inputs.map((vi) => vi.name));
  for (const name of Object.keys(feed)) {
    if (!all.has(name)) throw new CalibDataError(`${where}: '${name}' is not an input of the model (inputs: ${inputs.map((i) => i.name).join(', ')})`);
  }
  for (const input of inputs) {
    const t = feed[input.name];
    if (!t) throw new CalibDataError(`${where}: missing input '${input.name}' (inputs: ${inputs.map((i) => i.name).join(', ')})`);
    const problem = inputProblem(input, t);
    if (problem) throw new CalibDataError(`${where}: ${problem}`);
  }
}

/** Stops after `batchNum` feeds (PaddleSlim's batch_num); undefined or ≤ 0 → all. */
export function limitBatches(data: CalibrationData, batchNum?: number): CalibrationData {
  if (batchNum === undefined || batchNum <= 0) return data;
  const total = data.total === undefined ? undefined : Math.min(data.total, batchNum);
  return {
    ...(total === undefined ? {} : { total }),
    async *[Symbol.asyncIterator]() {
      let n = 0;
      for await (const feed of data) {
        yield feed;
        if (++n >= batchNum) return;
      }
    },
  };
}

// ---------------------------------------------------------------- (c) programmatic

/** Passes feeds through, checking each against the model. */
export function feedsFrom(model: Model, source: AsyncIterable<Feed> | Iterable<Feed>, total?: number): CalibrationData {
  return {
    ...(total === undefined ? {} : { total }),
    async *[Symbol.asyncIterator]() {
      let k = 0;
      for await (const feed of source as AsyncIterable<Feed>) {
        checkFeed(model, feed, `calibration batch ${k++}`);
        yield feed;
      }
    },
  };
}

// ---------------------------------------------------------------- (a) ONNX test data sets

const DATA_SET = /^test_data_set_(\d+)$/;
const INPUT_PB = /^input_(\d+)\.pb$/;

const byNumber = (re: RegExp) => (a: string, b: string): number => Number(re.exec(a)![1]) - Number(re.exec(b)![1]);

function listDataSets(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && DATA_SET.test(e.name)).map((e) => e.name).sort(byNumber(DATA_SET));
}

/** Reads one TensorProto file. */
export function readTensorProto(file: string): Tensor {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new CalibDataError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return tensorFromProto(decodeMessage(bytes, messageSpec('TensorProto')), {}, false);
  } catch (e) {
    throw new CalibDataError(`${file} is not a valid TensorProto (${(e as Error).message})`);
  }
}

/** Feeds from `dir/test_data_set_*` (in numeric order), one per data set. */
export function testDataSets(model: Model, dir: string): CalibrationData {
  const sets = listDataSets(dir);
  if (sets.length === 0) throw new CalibDataError(`${dir} has no test_data_set_* folders`);
  const inputs = modelInputs(model);
  return {
    total: sets.length,
    async *[Symbol.asyncIterator]() {
      for (const set of sets) {
        const folder = path.join(dir, set);
        const files = readdirSync(folder).filter((f) => INPUT_PB.test(f)).sort(byNumber(INPUT_PB));
        const feed: Record<string, Tensor> = {};
        for (const f of files) {
          const n = Number(INPUT_PB.exec(f)![1]);
          if (n >= inputs.length) {
            throw new CalibDataError(`${path.join(folder, f)}: the model has ${inputs.length} input${inputs.length === 1 ? '' : 's'} (${inputs.map((i) => i.name).join(', ')}), so there is no input ${n}`);
          }
          feed[inputs[n].name] = readTensorProto(path.join(folder, f));
        }
        checkFeed(model, feed, folder);
        yield feed;
      }
    },
  };
}

// ---------------------------------------------------------------- (b) .npy files

export interface NpyHeader {
  readonly dataType: DataType;
  readonly shape: readonly number[];
  /** Byte offset of the data in the file. */
  readonly dataOffset: number;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy kind+size → element type (little-endian or byte-order-free). */
const NPY_TYPES: Readonly<Record<string, DataType>> = {
  f4: DataType.FLOAT, f8: DataType.DOUBLE, f2: DataType.FLOAT16, i8: DataType.INT64, i4: DataType.INT32,
  i2: DataType.INT16, i1: DataType.INT8, u8: DataType.UINT64, u4: DataType.UINT32, u2: DataType.UINT16,
  u1: DataType.UINT8, b1: DataType.BOOL,
};

/** Parses an .npy header (format versions 1, 2 and 3); `bytes` must hold at least the header. */
export function parseNpyHeader(bytes: Uint8Array, label: string): NpyHeader {
  if (bytes.length < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) throw new CalibDataError(`${label} is not an .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new CalibDataError(`${label} uses .npy format version ${major}.${bytes[7]}, not 1, 2 or 3`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) throw new CalibDataError(`${label} is truncated in its header`);
  const len = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (bytes.length < start + len) throw new CalibDataError(`${label} is truncated in its header`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + len));
  const descr = /['"]descr['"]\s*:\s*(['"])(.*?)\1/.exec(header)?.[2];
  if (descr === undefined) {
    if (/['"]descr['"]\s*:\s*\[/.test(header)) throw new CalibDataError(`${label} holds a structured array; save one plain array per input`);
    throw new CalibDataError(`${label} has no dtype ('descr') in its header`);
  }
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  if (fortran === undefined) throw new CalibDataError(`${label} has no 'fortran_order' in its header`);
  if (fortran === 'True') throw new CalibDataError(`${label} is stored in Fortran order; save a C-ordered array (np.ascontiguousarray)`);
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new CalibDataError(`${label} has no 'shape' in its header`);
  const shape = shapeText.split(',').map((s) => s.trim().replace(/L$/, '')).filter((s) => s !== '').map((s) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 0) throw new CalibDataError(`${label} has an invalid shape (${shapeText})`);
    return n;
  });
  return { dataType: npyDataType(descr, label), shape, dataOffset: start + len };
}

function npyDataType(descr: string, label: string): DataType {
  const order = descr[0], code = descr.slice(1);
  if (code === 'O' || descr === 'O') throw new CalibDataError(`${label} holds Python objects (a pickle); save a numeric array with allow_pickle=False`);
  const t = NPY_TYPES[code];
  if (t === undefined || !'<>|='.includes(order)) {
    throw new CalibDataError(`${label} has dtype '${descr}', which is not supported (float32, float64, float16, int64, int32, int16, int8, uint8, bool, ...)`);
  }
  if (order === '>' && bitsOf(t) > 8) throw new CalibDataError(`${label} is big-endian ('${descr}'); save it little-endian (arr.astype('<${code}'))`);
  return t;
}

/** A whole .npy file as a tensor (C order, little-endian). */
export function readNpy(file: string): Tensor {
  const bytes = readFileSync(file);
  const h = parseNpyHeader(bytes, file);
  const n = h.shape.reduce((a, b) => a * b, 1);
  const need = (n * bitsOf(h.dataType)) / 8;
  if (bytes.length - h.dataOffset !== need) throw new CalibDataError(`${file} holds ${bytes.length - h.dataOffset} data bytes, its shape [${h.shape}] needs ${need}`);
  return tensorFromBytes(h.dataType, h.shape, bytes.subarray(h.dataOffset));
}

function tensorFromBytes(dataType: DataType, dims: readonly number[], bytes: Uint8Array): Tensor {
  const Ctor = arrayCtorOf(dataType)!;
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return Tensor.fromArray(dataType, dims, new Ctor(copy.buffer, 0, bytes.length / Ctor.BYTES_PER_ELEMENT));
}

interface NpySource {
  readonly input: ModelInput;
  readonly file: string;
  readonly header: NpyHeader;
  /** Samples the file holds and the dims of each. */
  readonly samples: number;
  readonly dims: readonly number[];
  readonly sampleBytes: number;
}

function readHeaderOf(file: string): NpyHeader {
  const fd = openSync(file, 'r');
  try {
    const head = new Uint8Array(12);
    readSync(fd, head, 0, 12, 0);
    const major = head[6];
    const len = major === 1 ? head[8] | (head[9] << 8) : new DataView(head.buffer).getUint32(8, true);
    const start = major === 1 ? 10 : 12;
    const size = fstatSync(fd).size;
    const all = new Uint8Array(Math.min(size, start + (major >= 1 && major <= 3 ? len : 0)));
    readSync(fd, all, 0, all.length, 0);
    const header = parseNpyHeader(all, file);
    const n = header.shape.reduce((a, b) => a * b, 1);
    const need = (n * bitsOf(header.dataType)) / 8;
    if (size - header.dataOffset !== need) throw new CalibDataError(`${file} holds ${size - header.dataOffset} data bytes, its shape [${header.shape}] needs ${need}`);
    return header;
  } finally {
    closeSync(fd);
  }
}

/** Candidate file names for an input (names with / \ : also tried with _). */
const npyNamesFor = (name: string): string[] => [...new Set([`${name}.npy`, `${name.replace(/[/\\:]/g, '_')}.npy`])];

/**
 * Feeds from `dir/<input>.npy`. A file whose dim 0 is larger than 1 where the model declares dim 0 as 1 (same
 * rank) holds that many samples, fed one at a time; otherwise the whole file is one sample. All inputs must hold
 * the same number of samples. Samples are read from disk one at a time.
 */
export function npyFolder(model: Model, dir: string): CalibrationData {
  const present = readdirSync(dir).filter((f) => f.endsWith('.npy'));
  const sources: NpySource[] = modelInputs(model).map((input) => {
    const fileName = npyNamesFor(input.name).find((f) => present.includes(f));
    if (!fileName) {
      throw new CalibDataError(`${dir}: no ${npyNamesFor(input.name).join(' or ')} for input '${input.name}'${present.length ? ` (found ${present.join(', ')})` : ''}`);
    }
    const file = path.join(dir, fileName);
    const header = readHeaderOf(file);
    const s = input.shape, f = header.shape;
    const split = s !== undefined && s.length === f.length && f.length > 0 && s[0] === 1 && f[0] > 1;
    const samples = split ? f[0] : 1;
    const dims = split ? [1, ...f.slice(1)] : f;
    const sampleBytes = (dims.reduce((a, b) => a * b, 1) * bitsOf(header.dataType)) / 8;
    const problem = inputProblem(input, new Tensor(header.dataType, dims, { kind: 'empty' }));
    if (problem) throw new CalibDataError(`${file}: ${problem}`);
    return { input, file, header, samples, dims, sampleBytes };
  });
  const counts = new Set(sources.map((s) => s.samples));
  if (counts.size > 1) {
    throw new CalibDataError(`${dir}: the inputs hold different numbers of samples (${sources.map((s) => `${path.basename(s.file)}: ${s.samples}`).join(', ')})`);
  }
  const total = sources.length ? sources[0].samples : 0;
  return {
    total,
    async *[Symbol.asyncIterator]() {
      const fds = sources.map((s) => openSync(s.file, 'r'));
      try {
        for (let k = 0; k < total; k++) {
          const feed: Record<string, Tensor> = {};
          sources.forEach((s, i) => {
            const bytes = new Uint8Array(s.sampleBytes);
            let done = 0;
            while (done < bytes.length) {
              const n = readSync(fds[i], bytes, done, bytes.length - done, s.header.dataOffset + k * s.sampleBytes + done);
              if (n === 0) throw new CalibDataError(`${s.file} ended early (sample ${k})`);
              done += n;
            }
            feed[s.input.name] = tensorFromBytes(s.header.dataType, s.dims, bytes);
          });
          checkFeed(model, feed, `${dir} (sample ${k})`);
          yield feed;
        }
      } finally {
        for (const fd of fds) closeSync(fd);
      }
    },
  };
}

// ---------------------------------------------------------------- any source

export type CalibrationSource = string | AsyncIterable<Feed> | Iterable<Feed>;

export interface CalibrationDataOptions {
  /** At most this many feeds (PaddleSlim's batch_num). */
  readonly batchNum?: number;
}

/**
 * Calibration feeds from a folder (test_data_set_* folders, else .npy files) or an iterable of feeds,
 * checked against the model and limited to `batchNum`.
 */
export function calibrationData(model: Model, source: CalibrationSource, options: CalibrationDataOptions = {}): CalibrationData {
  let data: CalibrationData;
  if (typeof source === 'string') {
    if (!existsSync(source) || !statSync(source).isDirectory()) throw new CalibDataError(`calibration data ${source} is not a folder`);
    if (listDataSets(source).length > 0) data = testDataSets(model, source);
    else if (readdirSync(source).some((f) => f.endsWith('.npy'))) data = npyFolder(model, source);
    else throw new CalibDataError(`calibration data ${source} has neither test_data_set_* folders nor .npy files`);
  } else {
    data = feedsFrom(model, source, Array.isArray(source) ? source.length : (source as CalibrationData).total);
  }
  return limitBatches(data, options.batchNum);
}
