// The inference driver: seeds types from graph inputs, initializers and the enclosing scope, then walks the
// nodes in order and asks each op's rule for its output types (and, for shape arithmetic, output values).
import { produce } from 'immer';
import type { Graph, Model, Node, OpsetId, ValueInfo } from '../ir/model.js';
import type { Int64 } from '../proto/wire.js';
import { constantOf } from '../ir/analysis.js';
import { DataType } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { MAX_VALUE_SIZE, tensorValue } from './constants.js';
import { type TensorType, makeTensorType, tensorTypeOf } from '../ir/types.js';
import type { InferContext, OutputTypes, Value } from './context.js';
import { ruleKey, ruleOf } from './registry.js';

export interface ShapeInferenceResult {
  /** Inferred types of the values the graph defines (inputs, initializers, node outputs). */
  readonly types: ReadonlyMap<string, TensorType>;
  /** Op types met with no rule (as 'domain:Op' outside the default domain). */
  readonly uncovered: ReadonlySet<string>;
}

/** One graph's bindings, chained to the enclosing graph's for subgraphs. */
interface Scope {
  readonly graph: Graph;
  readonly types: Map<string, TensorType>;
  readonly values: Map<string, Value | null>;
  readonly parent?: Scope;
  readonly outer?: ReadonlyMap<string, TensorType>;
}

interface Session {
  readonly opsets: ReadonlyMap<string, number>;
  readonly irVersion: Int64;
  readonly uncovered: Set<string>;
}

/** Opset assumed for a domain the model does not import (its newest semantics). */
const LATEST_OPSET = 1_000;

const normalizeDomain = (d: string): string => (d === 'ai.onnx' ? '' : d);

export function inferGraphTypes(graph: Graph, opsets: readonly OpsetId[], irVersion: Int64 = 10,
  outer?: ReadonlyMap<string, TensorType>): ShapeInferenceResult {
  const session: Session = {
    opsets: new Map(opsets.map((o) => [normalizeDomain(o.domain), o.version])),
    irVersion, uncovered: new Set(),
  };
  const scope: Scope = { graph, types: new Map(), values: new Map(), outer };
  seed(scope, graph.inputs.map((vi) => tensorTypeOf(vi.type)));
  walk(scope, session);
  return { types: scope.types, uncovered: session.uncovered };
}

export function inferModelTypes(model: Model): ShapeInferenceResult {
  return inferGraphTypes(model.graph, model.opsetImport, model.irVersion);
}

/** The model with `graph.valueInfo` listing the inferred type of every intermediate value (one `produce`). */
export function withValueInfo(model: Model): Model {
  const { types } = inferModelTypes(model);
  const g = model.graph;
  const boundary = new Set([...g.inputs.map((v) => v.name), ...g.outputs.map((v) => v.name), ...g.initializers.keys()]);
  const existing = new Map(g.valueInfo.map((vi) => [vi.name, vi]));
  const listed = new Set<string>();
  const next: ValueInfo[] = [];
  for (const node of g.nodes) {
    for (const name of node.outputs) {
      if (name === '' || boundary.has(name) || listed.has(name)) continue;
      listed.add(name);
      const old = existing.get(name);
      const inferred = types.get(name);
      if (!inferred) { if (old) next.push(old); continue; }
      const merged = mergeTypes(inferred, tensorTypeOf(old?.type));
      // A value info without an element type is invalid for runtimes: leave such values unannotated.
      if (merged.elemType === DataType.UNDEFINED) { if (old) next.push(old); continue; }
      next.push(old && sameType(merged, tensorTypeOf(old.type)) ? old : { ...old, name, type: makeTensorType(merged.elemType, merged.shape) });
    }
  }
  for (const vi of g.valueInfo) if (!listed.has(vi.name)) next.push(vi);
  if (next.length === g.valueInfo.length && next.every((vi, i) => vi === g.valueInfo[i])) return model;
  return produce(model, (draft) => { draft.graph.valueInfo = next as typeof draft.graph.valueInfo; });
}

/** Inferred facts first, declared ones where inference knows less. */
function mergeTypes(inferred: TensorType, declared: TensorType | undefined): TensorType {
  if (!declared) return inferred;
  const elemType = inferred.elemType !== DataType.UNDEFINED ? inferred.elemType : declared.elemType;
  const shape = !inferred.shape ? declared.shape
    : declared.shape?.length === inferred.shape.length ? inferred.shape.map((d, i) => d ?? declared.shape![i]) : inferred.shape;
  return shape ? { elemType, shape } : { elemType };
}

function sameType(a: TensorType, b: TensorType | undefined): boolean {
  return !!b && a.elemType === b.elemType && a.shape?.length === b.shape?.length && (a.shape ?? []).every((d, i) => d === b.shape![i]);
}

function seed(scope: Scope, inputTypes: readonly (TensorType | undefined)[]): void {
  const { graph } = scope;
  for (const [name, t] of graph.initializers) scope.types.set(name, { elemType: t.dataType, shape: t.dims });
  // A declared input shadows an initializer of the same name (from IR 4 the initializer is only a default).
  graph.inputs.forEach((vi, i) => {
    const t = inputTypes[i];
    if (t) scope.types.set(vi.name, t);
  });
}

function lookupType(scope: Scope, name: string): TensorType | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const t = s.types.get(name);
    if (t) return t;
    if (s.outer) return s.outer.get(name);
  }
  return undefined;
}

function lookupConstant(scope: Scope, session: Session, name: string): Tensor | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const t = constantOf(s.graph, name, session.irVersion);
    if (t) return t;
    if (s.types.has(name)) return undefined;
  }
  return undefined;
}

function lookupValue(scope: Scope, session: Session, name: string): Value | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const v = s.values.get(name);
    if (v !== undefined) return v ?? undefined;
    const t = constantOf(s.graph, name, session.irVersion);
    if (t) {
      const value = tensorValue(t);
      s.values.set(name, value ?? null);
      return value;
    }
    const type = s.types.get(name);
    // An empty tensor's value is known whatever feeds it (e.g. an axes input of shape [0]).
    if (type) return type.shape?.some((d) => d === 0) ? [] : undefined;
  }
  return undefined;
}

function walk(scope: Scope, session: Session): void {
  for (const node of scope.graph.nodes) {
    const rule = ruleOf(node.domain, node.opType);
    if (!rule) {
      session.uncovered.add(ruleKey(node.domain, node.opType));
      continue;
    }
    const ctx = contextFor(node, scope, session);
    let outs: OutputTypes;
    try {
      outs = rule.infer(ctx);
    } catch {
      outs = []; // a malformed node leaves its outputs unknown rather than failing the whole inference
    }
    node.outputs.forEach((name, i) => {
      const t = outs[i];
      // A type with neither element type nor rank says nothing: leave the value unknown.
      if (name !== '' && t && (t.elemType !== DataType.UNDEFINED || t.shape)) scope.types.set(name, t);
    });
    if (rule.value || rule.values) {
      let values: (Value | undefined)[];
      try {
        values = rule.values ? rule.values(ctx, outs) : [rule.value!(ctx, outs[0])];
      } catch {
        values = [];
      }
      values.forEach((v, i) => {
        const name = node.outputs[i];
        if (name && v && v.length <= MAX_VALUE_SIZE && consistent(v, outs[i])) scope.values.set(name, v);
      });
    }
  }
}

/** A value must have as many elements as its type's shape says. */
function consistent(v: Value, t: TensorType | undefined): boolean {
  if (!t?.shape) return true;
  let n = 1;
  for (const d of t.shape) {
    if (typeof d !== 'number') return true;
    n *= d;
  }
  return n === v.length;
}

function contextFor(node: Node, scope: Scope, session: Session): InferContext {
  const names = node.inputs;
  const domain = normalizeDomain(node.domain);
  return {
    node,
    opset: session.opsets.get(domain) ?? LATEST_OPSET,
    inputCount: names.length,
    outputCount: node.outputs.length,
    hasInput: (i) => (names[i] ?? '') !== '',
    input: (i) => (names[i] ? lookupType(scope, names[i]) : undefined),
    constant: (i) => (names[i] ? lookupConstant(scope, session, names[i]) : undefined),
    value: (i) => (names[i] ? lookupValue(scope, session, names[i]) : undefined),
    subgraph: (graph, inputs) => inferSubgraph(graph, inputs, scope, session),
  };
}

function inferSubgraph(graph: Graph, inputs: readonly (TensorType | undefined)[], parent: Scope, session: Session): OutputTypes {
  const scope: Scope = { graph, types: new Map(), values: new Map(), parent };
  const declared = graph.inputs.map((vi, i) => preferKnown(inputs[i], tensorTypeOf(vi.type)));
  seed(scope, declared);
  walk(scope, session);
  return graph.outputs.map((vi) => lookupType(scope, vi.name));
}

/** The given type where it is known, the declared one otherwise (body inputs often declare only the element type). */
function preferKnown(given: TensorType | undefined, declared: TensorType | undefined): TensorType | undefined {
  if (!given) return declared;
  if (!declared) return given;
  return mergeTypes(given, declared);
}
