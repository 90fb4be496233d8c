// Analyses over an immutable graph, cached in WeakMaps keyed by the graph object: an untouched graph
// keeps its analysis, an edited one (a new object) gets a fresh one.
import type { Graph, Model, Node } from './model.js';
import { attrFloat, attrFloats, getAttribute, hasSubgraphs, subgraphsOf } from './model.js';
import { DataType } from './dtype.js';
import { Tensor } from './tensor.js';

export interface GraphIndex {
  /** Value name → the node that defines it. */
  readonly producer: ReadonlyMap<string, Node>;
  /** Value name → nodes reading it, directly or from inside their subgraphs (If/Loop/Scan bodies). */
  readonly consumers: ReadonlyMap<string, readonly Node[]>;
  /** Position of each node in `graph.nodes`. */
  readonly position: ReadonlyMap<Node, number>;
  readonly graphInputs: ReadonlySet<string>;
  readonly graphOutputs: ReadonlySet<string>;
}

const indexCache = new WeakMap<Graph, GraphIndex>();
const outerCache = new WeakMap<Graph, ReadonlySet<string>>();

/** Every value a node reads: its inputs plus what its subgraphs take from enclosing scopes. */
export function usesOf(node: Node): string[] {
  const uses = node.inputs.filter((n) => n !== '');
  if (hasSubgraphs(node)) for (const g of subgraphsOf(node)) uses.push(...outerNames(g));
  return uses;
}

export function graphIndex(graph: Graph): GraphIndex {
  let index = indexCache.get(graph);
  if (index) return index;
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  const position = new Map<Node, number>();
  graph.nodes.forEach((node, i) => {
    position.set(node, i);
    for (const out of node.outputs) if (out !== '') producer.set(out, node);
    for (const name of new Set(usesOf(node))) {
      const list = consumers.get(name);
      if (list) list.push(node);
      else consumers.set(name, [node]);
    }
  });
  index = {
    producer, consumers, position,
    graphInputs: new Set(graph.inputs.map((v) => v.name)),
    graphOutputs: new Set(graph.outputs.map((v) => v.name)),
  };
  indexCache.set(graph, index);
  return index;
}

/** Names a (sub)graph reads but does not define: the values it captures from enclosing scopes. */
export function outerNames(graph: Graph): ReadonlySet<string> {
  let names = outerCache.get(graph);
  if (names) return names;
  const defined = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.keys()]);
  for (const s of (graph.rest.sparse_initializer as { values?: { name?: string } }[] | undefined) ?? []) {
    if (s.values?.name) defined.add(s.values.name);
  }
  const outer = new Set<string>();
  for (const node of graph.nodes) {
    for (const name of usesOf(node)) if (!defined.has(name)) outer.add(name);
    for (const out of node.outputs) defined.add(out);
  }
  for (const o of graph.outputs) if (!defined.has(o.name)) outer.add(o.name);
  names = outer;
  outerCache.set(graph, names);
  return names;
}

export class CycleError extends Error {}

/** Nodes in a topological order (stable: keeps the given order where it is already valid). */
export function topologicalOrder(graph: Graph): Node[] {
  const { producer } = graphIndex(graph);
  const state = new Map<Node, 1 | 2>();
  const order: Node[] = [];
  for (const root of graph.nodes) {
    if (state.has(root)) continue;
    // Iterative DFS: deep graphs (100k nodes in a chain) would overflow a recursive one.
    const stack: Array<[Node, number]> = [[root, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const uses = usesOf(top[0]);
      if (top[1] < uses.length) {
        const dep = producer.get(uses[top[1]++]);
        if (!dep) continue;
        const s = state.get(dep);
        if (s === 1) throw new CycleError(`the graph has a cycle through node '${dep.name || dep.opType}'`);
        if (s === undefined) { state.set(dep, 1); stack.push([dep, 0]); }
      } else {
        state.set(top[0], 2);
        order.push(top[0]);
        stack.pop();
      }
    }
  }
  return order;
}

const constantNodeCache = new WeakMap<Node, Tensor | null>();

/** The tensor a Constant node produces, from whichever value attribute it carries. */
export function constantNodeValue(node: Node): Tensor | undefined {
  if (node.opType !== 'Constant' || node.domain !== '') return undefined;
  const hit = constantNodeCache.get(node);
  if (hit !== undefined) return hit ?? undefined;
  const a = node.attributes[0];
  let t: Tensor | undefined;
  if (node.attributes.length === 1 && a) {
    switch (a.name) {
      case 'value': t = a.type === 'tensor' ? a.value : undefined; break;
      case 'value_float': { const v = attrFloat(node, 'value_float'); t = v === undefined ? undefined : Tensor.fromArray(DataType.FLOAT, [], Float32Array.of(v)); break; }
      case 'value_floats': { const v = attrFloats(node, 'value_floats'); t = v && Tensor.fromArray(DataType.FLOAT, [v.length], Float32Array.from(v)); break; }
      case 'value_int': { const v = getAttribute(node, 'value_int'); t = v?.type === 'int' ? Tensor.fromArray(DataType.INT64, [], BigInt64Array.of(BigInt(v.value))) : undefined; break; }
      case 'value_ints': { const v = getAttribute(node, 'value_ints'); t = v?.type === 'ints' ? Tensor.fromArray(DataType.INT64, [v.value.length], BigInt64Array.from(v.value, (x) => BigInt(x))) : undefined; break; }
    }
  }
  constantNodeCache.set(node, t ?? null);
  return t;
}

/**
 * The constant value of `name` in `graph`: an initializer, or the output of a Constant node (Paddle exports keep
 * all weights that way). From IR 4 on, an initializer that is also a graph input is only a default and not constant.
 */
export function constantOf(graph: Graph, name: string, irVersion: number | bigint = 10): Tensor | undefined {
  const init = graph.initializers.get(name);
  const index = graphIndex(graph);
  if (init) return Number(irVersion) >= 4 && index.graphInputs.has(name) ? undefined : init;
  const node = index.producer.get(name);
  return node ? constantNodeValue(node) : undefined;
}

/** Counts over the whole model, subgraphs included. */
export interface ModelStats {
  readonly nodes: number;
  readonly initializers: number;
  readonly parameters: number;
  readonly weightBytes: number;
}

export function modelStats(model: Model): ModelStats {
  let nodes = 0, initializers = 0, parameters = 0, weightBytes = 0;
  const seen = new Set<Tensor>();
  const count = (t: Tensor): void => {
    if (seen.has(t)) return;
    seen.add(t);
    parameters += t.size;
    weightBytes += t.byteLength;
  };
  const visit = (g: Graph): void => {
    initializers += g.initializers.size;
    for (const t of g.initializers.values()) count(t);
    for (const n of g.nodes) {
      nodes++;
      const c = constantNodeValue(n);
      if (c) count(c);
      for (const s of subgraphsOf(n)) visit(s);
    }
  };
  visit(model.graph);
  return { nodes, initializers, parameters, weightBytes };
}
