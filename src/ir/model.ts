// The immutable graph IR. Plain readonly objects that immer drafts (model, graphs, nodes, value infos),
// tensors as non-draftable class instances. Every IR object keeps the proto fields it does not interpret
// in `rest`, verbatim, so load → save is lossless even for fields newer than this code.
import type { Int64 } from '../proto/wire.js';
import type { ProtoMessage } from '../proto/codec.js';
import type { Tensor } from './tensor.js';

export interface Model {
  readonly irVersion: Int64;
  readonly opsetImport: readonly OpsetId[];
  readonly graph: Graph;
  readonly functions: readonly FunctionDef[];
  /** producer_name, doc_string, metadata_props, training_info, ... */
  readonly rest: ProtoMessage;
}

export interface OpsetId {
  readonly domain: string;
  readonly version: number;
  readonly rest?: ProtoMessage;
}

export interface Graph {
  readonly name: string;
  /** In topological order (the verifier checks it). */
  readonly nodes: readonly Node[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: ReadonlyMap<string, Tensor>;
  /** Type annotations of intermediate values. */
  readonly valueInfo: readonly ValueInfo[];
  /** doc_string, sparse_initializer, quantization_annotation, metadata_props, ... */
  readonly rest: ProtoMessage;
}

export interface Node {
  readonly name: string;
  readonly opType: string;
  /** '' is the default ONNX domain ('ai.onnx'). */
  readonly domain: string;
  /** '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly Attribute[];
  /** doc_string, overload, metadata_props, ... */
  readonly rest?: ProtoMessage;
}

export type AttributeValue =
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'int'; readonly value: Int64 }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'tensor'; readonly value: Tensor }
  | { readonly type: 'graph'; readonly value: Graph }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'ints'; readonly value: readonly Int64[] }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'tensors'; readonly value: readonly Tensor[] }
  | { readonly type: 'graphs'; readonly value: readonly Graph[] }
  /** Sparse tensors, type protos, and function-body references (ref_attr_name): kept as proto, not interpreted. */
  | { readonly type: 'proto'; readonly value: ProtoMessage };

export type Attribute = AttributeValue & {
  readonly name: string;
  /** doc_string, type (when the file had it), ... */
  readonly rest?: ProtoMessage;
};

export interface ValueInfo {
  readonly name: string;
  /** TypeProto as decoded (see types.ts for readers and builders). */
  readonly type?: ProtoMessage;
  readonly rest?: ProtoMessage;
}

export interface FunctionDef {
  readonly name: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly nodes: readonly Node[];
  readonly opsetImport: readonly OpsetId[];
  /** attribute names, attribute_proto defaults, overload, value_info, doc_string, ... */
  readonly rest: ProtoMessage;
}

/** Subgraphs held by a node's attributes (If branches, Loop/Scan bodies). */
export function subgraphsOf(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of node.attributes) {
    if (a.type === 'graph') out.push(a.value);
    else if (a.type === 'graphs') out.push(...a.value);
  }
  return out;
}

export function hasSubgraphs(node: Node): boolean {
  return node.attributes.some((a) => a.type === 'graph' || a.type === 'graphs');
}

export function getAttribute(node: Node, name: string): Attribute | undefined {
  return node.attributes.find((a) => a.name === name);
}

export function attrInt(node: Node, name: string, fallback: number): number;
export function attrInt(node: Node, name: string): number | undefined;
export function attrInt(node: Node, name: string, fallback?: number): number | undefined {
  const a = getAttribute(node, name);
  return a?.type === 'int' ? Number(a.value) : fallback;
}

export function attrFloat(node: Node, name: string, fallback: number): number;
export function attrFloat(node: Node, name: string): number | undefined;
export function attrFloat(node: Node, name: string, fallback?: number): number | undefined {
  const a = getAttribute(node, name);
  return a?.type === 'float' ? a.value : fallback;
}

export function attrInts(node: Node, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  return a?.type === 'ints' ? a.value.map(Number) : undefined;
}

export function attrFloats(node: Node, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  return a?.type === 'floats' ? [...a.value] : undefined;
}

export function attrString(node: Node, name: string, fallback: string): string;
export function attrString(node: Node, name: string): string | undefined;
export function attrString(node: Node, name: string, fallback?: string): string | undefined {
  const a = getAttribute(node, name);
  return a?.type === 'string' ? a.value : fallback;
}

export function attrTensor(node: Node, name: string): Tensor | undefined {
  const a = getAttribute(node, name);
  return a?.type === 'tensor' ? a.value : undefined;
}

/** The opset version the model imports for `domain` ('' and 'ai.onnx' are the same). */
export function opsetVersion(model: Pick<Model, 'opsetImport'>, domain = ''): number | undefined {
  const d = domain === 'ai.onnx' ? '' : domain;
  return model.opsetImport.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain) === d)?.version;
}
