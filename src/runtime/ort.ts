// Running models in onnxruntime-node: used by calibration, `bench`, and the tests' equivalence checks.
import * as ort from 'onnxruntime-node';
import { DataType, type NumericArray, arrayCtorOf } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { encodeModel } from '../io/save.js';

export interface SessionOptions {
  /** 'disabled' runs the graph as written (what equivalence tests compare); 'all' is what users get. */
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  readonly threads?: number;
  /** Where onnxruntime should save the model it optimized (to check what it fused). */
  readonly optimizedModelFilePath?: string;
  /**
   * Whether idle intra-op workers spin (onnxruntime's default: yes). Off when sessions take turns on the same cores:
   * the workers of the session that just ran would spin on the cores the next one needs.
   */
  readonly spinning?: boolean;
}

const ORT_TYPES: Partial<Record<DataType, ort.Tensor.Type>> = {
  [DataType.FLOAT]: 'float32', [DataType.DOUBLE]: 'float64', [DataType.INT8]: 'int8', [DataType.UINT8]: 'uint8',
  [DataType.INT16]: 'int16', [DataType.UINT16]: 'uint16', [DataType.INT32]: 'int32', [DataType.UINT32]: 'uint32',
  [DataType.INT64]: 'int64', [DataType.UINT64]: 'uint64', [DataType.BOOL]: 'bool', [DataType.FLOAT16]: 'float16',
  [DataType.STRING]: 'string', [DataType.INT4]: 'int4', [DataType.UINT4]: 'uint4',
};

const FROM_ORT: Record<string, DataType> = Object.fromEntries(
  Object.entries(ORT_TYPES).map(([k, v]) => [v, Number(k) as DataType]),
);

export function toOrtTensor(t: Tensor): ort.Tensor {
  const type = ORT_TYPES[t.dataType];
  if (!type) throw new Error(`onnxruntime-node cannot take tensors of type ${DataType[t.dataType]}`);
  if (t.dataType === DataType.STRING) {
    const values = t.storage.kind === 'string_data' ? t.storage.values.map((b) => Buffer.from(b).toString('utf8')) : [];
    return new ort.Tensor('string', values, [...t.dims]);
  }
  if (t.dataType === DataType.BOOL) return new ort.Tensor('bool', Uint8Array.from(t.toArray() as Uint8Array), [...t.dims]);
  // Copy into an aligned array of the exact type: onnxruntime reads the whole buffer region.
  const arr = t.toArray();
  const Ctor = arrayCtorOf(t.dataType)!;
  const copy = new Ctor(arr.length);
  (copy as Float32Array).set(arr as Float32Array);
  return new ort.Tensor(type, copy as ort.Tensor.DataType, [...t.dims]);
}

export function fromOrtTensor(t: ort.Tensor): Tensor {
  const dataType = FROM_ORT[t.type];
  if (dataType === undefined) throw new Error(`unsupported onnxruntime tensor type ${t.type}`);
  if (dataType === DataType.STRING) {
    const values = (t.data as string[]).map((s) => new Uint8Array(Buffer.from(s, 'utf8')));
    return new Tensor(DataType.STRING, [...t.dims], { kind: 'string_data', values });
  }
  return Tensor.fromArray(dataType, [...t.dims], t.data as NumericArray);
}

/** A session over a model, its encoded bytes, or a file path (then onnxruntime reads the file and its external data). */
export async function createSession(model: Model | Uint8Array | string, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  const source = typeof model === 'string' || model instanceof Uint8Array ? model : encodeModel(model);
  return ort.InferenceSession.create(source as Uint8Array, {
    graphOptimizationLevel: options.optimization ?? 'disabled',
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Warnings (e.g. about unused initializers in generated test graphs) are noise here.
    logSeverityLevel: 3,
    extra: { session: sessionConfig(options) },
    ...(options.optimizedModelFilePath ? { optimizedModelFilePath: options.optimizedModelFilePath } : {}),
  });
}

/** onnxruntime session config entries for `options`. */
function sessionConfig(options: SessionOptions): Record<string, string> {
  return {
    // Graph as written means no weight prepacking either: prepacked kernels round differently.
    ...(options.optimization ?? 'disabled') === 'disabled' ? { disable_prepacking: '1' } : {},
    ...options.spinning === false ? { 'intra_op.allow_spinning': '0' } : {},
  };
}

function isSession(m: unknown): m is ort.InferenceSession {
  return typeof (m as ort.InferenceSession).run === 'function';
}

/** Runs once and returns every output as an IR tensor. */
export async function runModel(
  model: Model | Uint8Array | ort.InferenceSession, feeds: Readonly<Record<string, Tensor>>, options: SessionOptions = {},
): Promise<Record<string, Tensor>> {
  const session = isSession(model) ? model : await createSession(model, options);
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(t);
  const results = await session.run(ortFeeds);
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(results)) out[name] = fromOrtTensor(t as ort.Tensor);
  return out;
}

export { ort };
