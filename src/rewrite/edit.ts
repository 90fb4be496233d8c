// Whole-graph edits for transforms (passes that are analyses + transforms rather than local rules).
// Each is one produce and returns the input object when it changes nothing.
import { castDraft, produce } from 'immer';
import './immer-setup.js';
import type { Graph, Model, Node } from '../ir/model.js';
import { graphIndex } from '../ir/analysis.js';
import type { Tensor } from '../ir/tensor.js';
import { renameCaptured } from './rename.js';
import { mapChildGraphs } from './subgraphs.js';

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
      updates.set(i, { ...renameCaptured(base, rename), inputs: base.inputs.map((x) => rename.get(x) ?? x) });
    }
  }
  if (updates.size === 0) return graph;
  return produce(graph, (d) => {
    for (const [i, n] of updates) d.nodes[i] = castDraft(n);
  });
}

/** Applies `edit` to the main graph and, bottom-up, to every subgraph. */
export function mapGraphs(model: Model, edit: (graph: Graph, depth: number) => Graph): Model {
  const visit = (graph: Graph, depth: number): Graph => edit(mapChildGraphs(graph, (g) => visit(g, depth + 1)), depth);
  const graph = visit(model.graph, 0);
  return graph === model.graph ? model : produce(model, (d) => { d.graph = castDraft(graph); });
}

/** Removes nodes and initializers and adds initializers, in one produce. */
export function editGraph(graph: Graph, edit: { removeNodes?: ReadonlySet<Node>; removeInitializers?: Iterable<string>; addInitializers?: ReadonlyMap<string, Tensor> }): Graph {
  const removeNodes = edit.removeNodes ?? new Set<Node>();
  const removeInits = [...(edit.removeInitializers ?? [])];
  const add = edit.addInitializers ?? new Map<string, Tensor>();
  if (removeNodes.size === 0 && removeInits.length === 0 && add.size === 0) return graph;
  const nodes = removeNodes.size ? graph.nodes.filter((n) => !removeNodes.has(n)) : graph.nodes;
  return produce(graph, (d) => {
    if (removeNodes.size) d.nodes = castDraft(nodes);
    const inits = d.initializers as unknown as Map<string, Tensor>;
    for (const name of removeInits) inits.delete(name);
    for (const [name, t] of add) inits.set(name, t);
  });
}
