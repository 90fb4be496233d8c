// The ONNX backend test suite (onnx/backend/test/data/node): one folder per case with `model.onnx` and
// `test_data_set_0/{input,output}_N.pb`. Cases whose values are sequences, optionals, maps or sparse tensors
// are listed with a skip reason instead of data, since their .pb files are not TensorProtos.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeMessage, type ProtoMessage } from '../../src/proto/codec.js';
import { messageSpec } from '../../src/proto/schema.js';
import { tensorFromProto } from '../../src/ir/convert.js';
import { DataType } from '../../src/ir/dtype.js';
import type { Model, ValueInfo } from '../../src/ir/model.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { runModel, type ort } from '../../src/runtime/ort.js';
import { equivalenceSession } from './feeds.js';
import { BACKEND_TESTS_DIR } from './paths.js';

export interface BackendCase {
  readonly name: string;
  readonly dir: string;
  readonly modelPath: string;
}

export interface CaseData {
  /** Graph inputs (initializers excluded), in order, with the tensors of input_N.pb. */
  readonly inputs: Readonly<Record<string, Tensor>>;
  /** Graph outputs, in order, with the tensors of output_N.pb. */
  readonly outputs: Readonly<Record<string, Tensor>>;
}

export type CaseDataResult = { readonly ok: true; readonly data: CaseData } | { readonly ok: false; readonly reason: string };

/** Every case folder that has a model, sorted by name. Empty when the suite is not there. */
export function backendCases(dir = BACKEND_TESTS_DIR): BackendCase[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'model.onnx')))
    .map((e) => ({ name: e.name, dir: path.join(dir, e.name), modelPath: path.join(dir, e.name, 'model.onnx') }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A view that owns no Buffer prototype (so decoded `bytes` compare equal whatever produced them). */
export function plainBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function pbFiles(dataDir: string, prefix: 'input' | 'output'): string[] {
  const files: string[] = [];
  for (let i = 0; existsSync(path.join(dataDir, `${prefix}_${i}.pb`)); i++) files.push(path.join(dataDir, `${prefix}_${i}.pb`));
  return files;
}

function nonTensorKind(v: ValueInfo): string | undefined {
  const t = v.type;
  if (!t || t.tensor_type) return undefined;
  for (const k of ['sequence_type', 'optional_type', 'map_type', 'sparse_tensor_type', 'opaque_type']) if (t[k]) return k;
  return 'unknown type';
}

function readTensor(file: string): Tensor {
  const msg: ProtoMessage = decodeMessage(plainBytes(readFileSync(file)), messageSpec('TensorProto'));
  return tensorFromProto(msg, {}, true);
}

/** The graph inputs a caller feeds: initializers (IR < 4 lists them as inputs too) are not fed. */
export function fedInputs(model: Model): ValueInfo[] {
  return model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
}

/** Reads test_data_set_0 of `c` against `model` (the case's model, loaded). */
export function readCaseData(c: BackendCase, model: Model): CaseDataResult {
  const dataDir = path.join(c.dir, 'test_data_set_0');
  if (!existsSync(dataDir)) return { ok: false, reason: 'no test_data_set_0' };
  const inputs = fedInputs(model);
  const outputs = model.graph.outputs;
  for (const v of [...inputs, ...outputs]) {
    const kind = nonTensorKind(v);
    if (kind) return { ok: false, reason: `value '${v.name}' is a ${kind}` };
  }
  const inFiles = pbFiles(dataDir, 'input');
  const outFiles = pbFiles(dataDir, 'output');
  if (inFiles.length > inputs.length) return { ok: false, reason: `${inFiles.length} input files for ${inputs.length} inputs` };
  if (outFiles.length !== outputs.length) return { ok: false, reason: `${outFiles.length} output files for ${outputs.length} outputs` };
  const feeds: Record<string, Tensor> = {};
  const expected: Record<string, Tensor> = {};
  try {
    inFiles.forEach((f, i) => { feeds[inputs[i].name] = readTensor(f); });
    outFiles.forEach((f, i) => { expected[outputs[i].name] = readTensor(f); });
  } catch (e) {
    return { ok: false, reason: `test data does not decode as TensorProto: ${(e as Error).message}` };
  }
  return { ok: true, data: { inputs: feeds, outputs: expected } };
}

const FLOAT_TYPES = new Set<DataType>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

function floatValues(t: Tensor): ArrayLike<number> {
  return t.dataType === DataType.DOUBLE ? (t.toArray() as Float64Array) : t.toFloat32();
}

function stringValues(t: Tensor): string[] {
  return t.storage.kind === 'string_data' ? t.storage.values.map((b) => Buffer.from(b).toString('utf8')) : [];
}

/**
 * Compares as onnx's backend runner does: same type and shape; floats by numpy's assert_allclose
 * (|actual - expected| <= atol + rtol * |expected|, NaN equals NaN); everything else exactly.
 * Returns undefined when equal, else what differs.
 */
export function compareTensor(expected: Tensor, actual: Tensor, rtol = 1e-3, atol = 1e-7): string | undefined {
  if (expected.dataType !== actual.dataType) return `type ${DataType[actual.dataType]}, expected ${DataType[expected.dataType]}`;
  if (expected.dims.join(',') !== actual.dims.join(',')) return `shape [${actual.dims}], expected [${expected.dims}]`;
  if (expected.dataType === DataType.STRING) {
    const a = stringValues(actual), e = stringValues(expected);
    const i = e.findIndex((s, k) => s !== a[k]);
    return i < 0 && a.length === e.length ? undefined : `[${i}] is '${a[i]}', expected '${e[i]}'`;
  }
  if (FLOAT_TYPES.has(expected.dataType)) {
    const e = floatValues(expected), a = floatValues(actual);
    for (let i = 0; i < e.length; i++) {
      const x = e[i], y = a[i];
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (x === y) continue;
      if (!(Math.abs(y - x) <= atol + rtol * Math.abs(x))) return `[${i}] is ${y}, expected ${x}`;
    }
    return undefined;
  }
  const e = expected.toArray(), a = actual.toArray();
  for (let i = 0; i < e.length; i++) if (e[i] !== a[i]) return `[${i}] is ${a[i]}, expected ${e[i]}`;
  return undefined;
}

/** Compares every expected output; returns the first difference. */
export function compareOutputs(expected: Readonly<Record<string, Tensor>>, actual: Readonly<Record<string, Tensor>>): string | undefined {
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name];
    if (!a) return `output '${name}' is missing`;
    const diff = compareTensor(e, a);
    if (diff) return `output '${name}': ${diff}`;
  }
  return undefined;
}

/** Element types the onnxruntime-node binding can hand over (it aborts the process on some others, e.g. int2). */
export const ORT_NODE_TYPES: ReadonlySet<DataType> = new Set<DataType>([
  DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16,
  DataType.INT32, DataType.UINT32, DataType.INT64, DataType.UINT64, DataType.BOOL, DataType.STRING,
]);

export const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);

/** The original model run in onnxruntime on a case's inputs, or why it could not be (which counter it belongs to). */
export type OriginalRun =
  | { readonly ok: true; readonly session: ort.InferenceSession; readonly outputs: Record<string, Tensor> }
  | { readonly ok: false; readonly cause: 'unsupported' | 'run'; readonly reason: string };

export async function runOriginal(modelBytes: Uint8Array, data: CaseData): Promise<OriginalRun> {
  const unsupported = [...Object.values(data.inputs), ...Object.values(data.outputs)].find((x) => !ORT_NODE_TYPES.has(x.dataType));
  if (unsupported) return { ok: false, cause: 'unsupported', reason: `onnxruntime-node cannot pass ${DataType[unsupported.dataType]} tensors` };
  let session: ort.InferenceSession;
  try {
    session = await equivalenceSession(plainBytes(modelBytes), true);
  } catch (e) {
    return { ok: false, cause: 'unsupported', reason: `onnxruntime cannot load the original: ${firstLine(e)}` };
  }
  try {
    return { ok: true, session, outputs: await runModel(session, data.inputs) };
  } catch (e) {
    await session.release();
    return { ok: false, cause: 'run', reason: `onnxruntime cannot run the original: ${firstLine(e)}` };
  }
}
