// Decoded proto messages <-> IR. Each IR object takes the fields it interprets and keeps the rest verbatim,
// so proto → IR → proto gives back an equal message (presence of empty strings included).
import type { ProtoMessage } from '../proto/codec.js';
import type { Int64 } from '../proto/wire.js';
import { DataType } from './dtype.js';
import { type ExternalSource, storageProblem, Tensor, type TensorStorage } from './tensor.js';
import type { Attribute, FunctionDef, Graph, Model, Node, OpsetId, ValueInfo } from './model.js';

export class ModelFormatError extends Error {}

export interface ReadContext {
  /** Resolves a tensor's external_data entries to a lazy source; absent → external tensors are an error. */
  readonly external?: (entries: ReadonlyMap<string, string>, tensorName: string) => ExternalSource;
}

export interface WriteContext {
  /** Decides how each tensor's payload is written: return entries to store it externally, or undefined to inline. */
  readonly placeExternal?: (tensor: Tensor) => ReadonlyMap<string, string> | undefined;
}

/** Copies `msg` without `keys`, except string keys holding '' (kept so their presence survives). */
function restOf(msg: ProtoMessage, keys: readonly string[]): ProtoMessage {
  const rest: ProtoMessage = {};
  for (const k of Object.keys(msg)) {
    const v = msg[k];
    if (v === undefined) continue;
    if (!keys.includes(k) || v === '') rest[k] = v;
  }
  return rest;
}

const isEmpty = (o: ProtoMessage): boolean => Object.keys(o).length === 0;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = <T>(v: unknown): readonly T[] => (v as readonly T[] | undefined) ?? [];

// ---------------------------------------------------------------- tensors

export function tensorFromProto(p: ProtoMessage, ctx: ReadContext, keepName: boolean): Tensor {
  const dims = list<Int64>(p.dims).map((d) => {
    if (typeof d !== 'number' || d < 0) throw new ModelFormatError(`tensor '${str(p.name)}' has an invalid dimension ${d}`);
    return d;
  });
  const dataType = (p.data_type as number | undefined) ?? DataType.UNDEFINED;
  let storage: TensorStorage;
  const consumed: string[] = [];
  if (p.data_location === 1) {
    const entries = new Map(list<ProtoMessage>(p.external_data).map((e) => [str(e.key), str(e.value)]));
    if (!ctx.external) throw new ModelFormatError(`tensor '${str(p.name)}' uses external data, which needs the model's file path`);
    storage = { kind: 'external', source: ctx.external(entries, str(p.name)) };
    consumed.push('external_data', 'data_location');
  } else if (p.raw_data !== undefined) {
    storage = { kind: 'raw', bytes: p.raw_data as Uint8Array };
    consumed.push('raw_data');
  } else {
    const field = (['float_data', 'int32_data', 'string_data', 'int64_data', 'double_data', 'uint64_data'] as const)
      .find((f) => p[f] !== undefined);
    storage = field ? ({ kind: field, values: p[field] } as TensorStorage) : { kind: 'empty' };
    if (field) consumed.push(field);
  }
  const skip = ['dims', 'data_type', ...consumed, ...(keepName ? [] : ['name'])];
  const rest: ProtoMessage = {};
  for (const k of Object.keys(p)) if (p[k] !== undefined && !skip.includes(k)) rest[k] = p[k];
  const tensor = new Tensor(dataType, dims, storage, rest);
  const problem = dataType === DataType.UNDEFINED ? undefined : storageProblem(tensor);
  if (problem) throw new ModelFormatError(`tensor '${str(p.name)}' ${problem}`);
  return tensor;
}

export function tensorToProto(t: Tensor, ctx: WriteContext, name?: string): ProtoMessage {
  const p: ProtoMessage = { ...t.rest, dims: t.dims, data_type: t.dataType };
  if (name !== undefined) p.name = name;
  const entries = ctx.placeExternal?.(t);
  if (entries) {
    p.external_data = [...entries].map(([key, value]) => ({ key, value }));
    p.data_location = 1;
    return p;
  }
  const s = t.storage;
  switch (s.kind) {
    case 'raw': p.raw_data = s.bytes; break;
    case 'external': p.raw_data = t.rawBytes(); break;
    case 'empty': break;
    default: p[s.kind] = s.values as ProtoMessage[string];
  }
  return p;
}

// ---------------------------------------------------------------- attributes

const ATTRIBUTE_TYPES: Record<number, Attribute['type']> = {
  1: 'float', 2: 'int', 3: 'string', 4: 'tensor', 5: 'graph', 6: 'floats', 7: 'ints', 8: 'strings', 9: 'tensors', 10: 'graphs',
};
const TYPE_CODES: Record<string, number> = {
  float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8, tensors: 9, graphs: 10,
};
const VALUE_FIELD: Record<string, string> = {
  float: 'f', int: 'i', string: 's', tensor: 't', graph: 'g', floats: 'floats', ints: 'ints', strings: 'strings', tensors: 'tensors', graphs: 'graphs',
};
const ALL_VALUE_FIELDS = ['f', 'i', 's', 't', 'g', 'sparse_tensor', 'tp', 'floats', 'ints', 'strings', 'tensors', 'graphs', 'sparse_tensors', 'type_protos'];

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8Exact(bytes: Uint8Array): string | undefined {
  try {
    const s = utf8.decode(bytes);
    return Buffer.byteLength(s, 'utf8') === bytes.length ? s : undefined;
  } catch {
    return undefined;
  }
}

function attributeFromProto(p: ProtoMessage, ctx: ReadContext): Attribute {
  const name = str(p.name);
  const opaque = (): Attribute => ({ name, type: 'proto', value: restOf(p, ['name']) });
  if (p.ref_attr_name !== undefined) return opaque();
  let type: Attribute['type'] | undefined = ATTRIBUTE_TYPES[(p.type as number | undefined) ?? 0];
  const untyped = p.type === undefined;
  if (untyped) {
    const present = ALL_VALUE_FIELDS.filter((f) => p[f] !== undefined);
    if (present.length !== 1) return opaque();
    type = (Object.keys(VALUE_FIELD) as Attribute['type'][]).find((k) => VALUE_FIELD[k] === present[0]);
  }
  if (!type) return opaque();
  const field = VALUE_FIELD[type];
  const raw = p[field];
  // A missing singular value or a value field that disagrees with `type` is kept verbatim.
  if (raw === undefined && !type.endsWith('s')) return opaque();
  const rest = restOf(p, ['name', 'type', field]);
  if (untyped) rest.$untyped = true;
  const base = { name, ...(isEmpty(rest) ? {} : { rest }) };
  switch (type) {
    case 'float': return { ...base, type, value: raw as number };
    case 'int': return { ...base, type, value: raw as Int64 };
    case 'string': {
      const s = decodeUtf8Exact(raw as Uint8Array);
      return s === undefined ? opaque() : { ...base, type, value: s };
    }
    case 'tensor': return { ...base, type, value: tensorFromProto(raw as ProtoMessage, ctx, true) };
    case 'graph': return { ...base, type, value: graphFromProto(raw as ProtoMessage, ctx) };
    case 'floats': return { ...base, type, value: Array.from((raw as Float32Array | undefined) ?? []) };
    case 'ints': return { ...base, type, value: [...list<Int64>(raw)] };
    case 'strings': {
      const values = list<Uint8Array>(raw).map(decodeUtf8Exact);
      return values.some((v) => v === undefined) ? opaque() : { ...base, type, value: values as string[] };
    }
    case 'tensors': return { ...base, type, value: list<ProtoMessage>(raw).map((t) => tensorFromProto(t, ctx, true)) };
    case 'graphs': return { ...base, type, value: list<ProtoMessage>(raw).map((g) => graphFromProto(g, ctx)) };
    default: return opaque();
  }
}

function attributeToProto(a: Attribute, ctx: WriteContext): ProtoMessage {
  if (a.type === 'proto') return { ...a.value, name: a.name };
  const { $untyped, ...rest } = a.rest ?? {};
  const p: ProtoMessage = { ...rest, name: a.name };
  if (!$untyped) p.type = TYPE_CODES[a.type];
  const field = VALUE_FIELD[a.type];
  switch (a.type) {
    case 'float': case 'int': p[field] = a.value; break;
    case 'string': p[field] = Buffer.from(a.value, 'utf8'); break;
    case 'tensor': p[field] = tensorToProto(a.value, ctx); break;
    case 'graph': p[field] = graphToProto(a.value, ctx); break;
    case 'floats': p[field] = Float32Array.from(a.value); break;
    case 'ints': p[field] = a.value; break;
    case 'strings': p[field] = a.value.map((s) => Buffer.from(s, 'utf8')); break;
    case 'tensors': p[field] = a.value.map((t) => tensorToProto(t, ctx)); break;
    case 'graphs': p[field] = a.value.map((g) => graphToProto(g, ctx)); break;
  }
  return p;
}

// ---------------------------------------------------------------- nodes, graphs, functions, models

const NODE_KEYS = ['input', 'output', 'name', 'op_type', 'domain', 'attribute'];

export function nodeFromProto(p: ProtoMessage, ctx: ReadContext): Node {
  const rest = restOf(p, NODE_KEYS);
  return {
    name: str(p.name),
    opType: str(p.op_type),
    domain: str(p.domain),
    inputs: [...list<string>(p.input)],
    outputs: [...list<string>(p.output)],
    attributes: list<ProtoMessage>(p.attribute).map((a) => attributeFromProto(a, ctx)),
    ...(isEmpty(rest) ? {} : { rest }),
  };
}

function nodeToProto(n: Node, ctx: WriteContext): ProtoMessage {
  const p: ProtoMessage = { ...n.rest, input: n.inputs, output: n.outputs, attribute: n.attributes.map((a) => attributeToProto(a, ctx)) };
  if (n.name) p.name = n.name;
  if (n.opType) p.op_type = n.opType;
  if (n.domain) p.domain = n.domain;
  return p;
}

function valueInfoFromProto(p: ProtoMessage): ValueInfo {
  const rest = restOf(p, ['name', 'type']);
  return {
    name: str(p.name),
    ...(p.type ? { type: p.type as ProtoMessage } : {}),
    ...(isEmpty(rest) ? {} : { rest }),
  };
}

function valueInfoToProto(v: ValueInfo): ProtoMessage {
  const p: ProtoMessage = { ...v.rest };
  if (v.name) p.name = v.name;
  if (v.type) p.type = v.type;
  return p;
}

const GRAPH_KEYS = ['node', 'name', 'initializer', 'input', 'output', 'value_info'];

export function graphFromProto(p: ProtoMessage, ctx: ReadContext): Graph {
  const initializers = new Map<string, Tensor>();
  for (const t of list<ProtoMessage>(p.initializer)) {
    const name = str(t.name);
    if (initializers.has(name)) throw new ModelFormatError(`graph '${str(p.name)}' defines initializer '${name}' twice`);
    initializers.set(name, tensorFromProto(t, ctx, false));
  }
  return {
    name: str(p.name),
    nodes: list<ProtoMessage>(p.node).map((n) => nodeFromProto(n, ctx)),
    inputs: list<ProtoMessage>(p.input).map(valueInfoFromProto),
    outputs: list<ProtoMessage>(p.output).map(valueInfoFromProto),
    initializers,
    valueInfo: list<ProtoMessage>(p.value_info).map(valueInfoFromProto),
    rest: restOf(p, GRAPH_KEYS),
  };
}

export function graphToProto(g: Graph, ctx: WriteContext): ProtoMessage {
  const p: ProtoMessage = {
    ...g.rest,
    node: g.nodes.map((n) => nodeToProto(n, ctx)),
    initializer: [...g.initializers].map(([name, t]) => tensorToProto(t, ctx, name)),
    input: g.inputs.map(valueInfoToProto),
    output: g.outputs.map(valueInfoToProto),
    value_info: g.valueInfo.map(valueInfoToProto),
  };
  if (g.name) p.name = g.name;
  return p;
}

function opsetFromProto(p: ProtoMessage): OpsetId {
  const rest = restOf(p, ['domain', 'version']);
  return { domain: str(p.domain), version: Number(p.version ?? 0), ...(isEmpty(rest) ? {} : { rest }) };
}

function opsetToProto(o: OpsetId): ProtoMessage {
  const p: ProtoMessage = { ...o.rest, version: o.version };
  if (o.domain) p.domain = o.domain;
  return p;
}

const FUNCTION_KEYS = ['name', 'domain', 'input', 'output', 'node', 'opset_import'];

function functionFromProto(p: ProtoMessage, ctx: ReadContext): FunctionDef {
  return {
    name: str(p.name),
    domain: str(p.domain),
    inputs: [...list<string>(p.input)],
    outputs: [...list<string>(p.output)],
    nodes: list<ProtoMessage>(p.node).map((n) => nodeFromProto(n, ctx)),
    opsetImport: list<ProtoMessage>(p.opset_import).map(opsetFromProto),
    rest: restOf(p, FUNCTION_KEYS),
  };
}

function functionToProto(f: FunctionDef, ctx: WriteContext): ProtoMessage {
  const p: ProtoMessage = {
    ...f.rest, input: f.inputs, output: f.outputs,
    node: f.nodes.map((n) => nodeToProto(n, ctx)), opset_import: f.opsetImport.map(opsetToProto),
  };
  if (f.name) p.name = f.name;
  if (f.domain) p.domain = f.domain;
  return p;
}

const MODEL_KEYS = ['ir_version', 'opset_import', 'graph', 'functions'];

export function modelFromProto(p: ProtoMessage, ctx: ReadContext = {}): Model {
  if (!p.graph) throw new ModelFormatError('the model has no graph');
  return {
    irVersion: (p.ir_version as Int64 | undefined) ?? 0,
    opsetImport: list<ProtoMessage>(p.opset_import).map(opsetFromProto),
    graph: graphFromProto(p.graph as ProtoMessage, ctx),
    functions: list<ProtoMessage>(p.functions).map((f) => functionFromProto(f, ctx)),
    rest: restOf(p, MODEL_KEYS),
  };
}

export function modelToProto(m: Model, ctx: WriteContext = {}): ProtoMessage {
  return {
    ...m.rest,
    ir_version: m.irVersion,
    opset_import: m.opsetImport.map(opsetToProto),
    graph: graphToProto(m.graph, ctx),
    functions: m.functions.map((f) => functionToProto(f, ctx)),
  };
}
