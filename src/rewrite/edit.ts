// Whole-graph edits for transforms (passes that are analyses + transforms rather than local rules).
// Each is one produce and returns the input object when it changes nothing.
import { produce } from 'immer';
import './immer-setup.js';
import type { Graph, Model, Node } from '../ir/model.js';
import { hasSubgraphs } from '../ir/model.js';
import { graphIndex } from '../ir/analysis.js';
import type { Tensor } from '../ir/tensor.js';
import { renameCaptured } from './rename.js';

/** Makes every reader of a key of `rename` read its value instead (captures inside subgraphs included). */
export function replaceUses(graph: Graph, rename: ReadonlyMap<string, string>): Graph {
  if (rename.size === 0) return graph;
  const { consumers, position, graphOutputs } = graphIndex(graph);
  for (const from of rename.keys()) {
    if (graphOutputs.has(from)) throw new Error(`cannot re-route graph output '${from}'`);
  }
  const updates = new Map<number, Node>();
  for (const from of rename.keys()) {
    for (const node of consumers.get(from) ?? []) {
      const i = position.get(node)!;
      const base = updates.get(i) ?? node;
      const inputs = base.inputs.map((x) => rename.get(x) ?? x);
      const attributes = hasSubgraphs(base) ? renameCaptured(base.attributes, rename) : base.attributes;
      updates.set(i, { ...base, inputs, attributes });
    }
  }
  if (updates.size === 0) return graph;
  return produce(graph, (d) => {
    for (const [i, n] of updates) d.nodes[i] = n as (typeof d.nodes)[number];
  });
}

/** Applies `edit` to the main graph and, bottom-up, to every subgraph. */
export function mapGraphs(model: Model, edit: (graph: Graph, depth: number) => Graph): Model {
  const visit = (graph: Graph, depth: number): Graph => {
    const changed = new Map<number, Node>();
    graph.nodes.forEach((node, i) => {
      if (!hasSubgraphs(node)) return;
      let dirty = false;
      const attributes = node.attributes.map((a) => {
        if (a.type === 'graph') {
          const g = visit(a.value, depth + 1);
          if (g !== a.value) { dirty = true; return { ...a, value: g }; }
        } else if (a.type === 'graphs') {
          const gs = a.value.map((s) => visit(s, depth + 1));
          if (gs.some((s, j) => s !== a.value[j])) { dirty = true; return { ...a, value: gs }; }
        }
        return a;
      });
      if (dirty) changed.set(i, { ...node, attributes });
    });
    const withBodies = changed.size === 0 ? graph : produce(graph, (d) => {
      for (const [i, n] of changed) d.nodes[i] = n as (typeof d.nodes)[number];
    });
    return edit(withBodies, depth);
  };
  const graph = visit(model.graph, 0);
  return graph === model.graph ? model : produce(model, (d) => { d.graph = graph as typeof d.graph; });
}

/** Removes nodes and initializers and adds initializers, in one produce. */
export function editGraph(graph: Graph, edit: { removeNodes?: ReadonlySet<Node>; removeInitializers?: Iterable<string>; addInitializers?: ReadonlyMap<string, Tensor> }): Graph {
  const removeNodes = edit.removeNodes ?? new Set<Node>();
  const removeInits = [...(edit.removeInitializers ?? [])];
  const add = edit.addInitializers ?? new Map<string, Tensor>();
  if (removeNodes.size === 0 && removeInits.length === 0 && add.size === 0) return graph;
  const nodes = removeNodes.size ? graph.nodes.filter((n) => !removeNodes.has(n)) : graph.nodes;
  return produce(graph, (d) => {
    if (removeNodes.size) d.nodes = nodes as typeof d.nodes;
    const inits = d.initializers as Map<string, Tensor>;
    for (const name of removeInits) inits.delete(name);
    for (const [name, t] of add) inits.set(name, t);
  });
}
