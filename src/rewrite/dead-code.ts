// Dead code elimination: nodes whose outputs nobody reads (graph outputs and subgraph captures count as
// reads) and initializers nobody reads. One backward walk, one produce.
import type { Graph, Model, Node } from '../ir/model.js';
import { graphIndex, usesOf } from '../ir/analysis.js';
import { castDraft, produce } from 'immer';
import './immer-setup.js';
import type { Tensor } from '../ir/tensor.js';
import { mapGraphs } from './edit.js';

export function eliminateDeadCode(graph: Graph, irVersion: number): Graph {
  const { graphOutputs } = graphIndex(graph);
  const live = new Set<string>(graphOutputs);
  const keep: Node[] = [];
  let removed = 0;
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    if (node.outputs.some((o) => o !== '' && live.has(o))) {
      keep.push(node);
      for (const u of usesOf(node)) live.add(u);
    } else {
      removed++;
    }
  }
  const inputs = new Set(graph.inputs.map((v) => v.name));
  // From IR 4 on, an initializer that is also a graph input is an overridable default: part of the interface.
  // Before IR 4 every initializer is listed as an input, and an unused one can go (with its input).
  const deadInits = [...graph.initializers.keys()].filter((k) => !live.has(k) && (irVersion < 4 || !inputs.has(k)));
  const liveNames = new Set([...live, ...keep.flatMap((n) => n.outputs)]);
  const staleInfo = graph.valueInfo.filter((vi) => !liveNames.has(vi.name)).length;
  if (removed === 0 && deadInits.length === 0 && staleInfo === 0) return graph;
  keep.reverse();
  return produce(graph, (d) => {
    if (removed) d.nodes = castDraft(keep);
    for (const k of deadInits) (d.initializers as unknown as Map<string, Tensor>).delete(k);
    if (staleInfo) d.valueInfo = castDraft(graph.valueInfo.filter((vi) => liveNames.has(vi.name)));
  });
}

/** Dead code elimination over the main graph and every subgraph. */
export function removeDeadCode(model: Model): Model {
  return mapGraphs(model, (g) => eliminateDeadCode(g, Number(model.irVersion)));
}
