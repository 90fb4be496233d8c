// Constant nodes (how Paddle exports keep every weight) become initializers: weights then live in one place
// that later passes, deduplication and external-data saving all see.
import type { Graph, Node } from '../../src/ir/model.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { constantNodeValue } from '../../src/ir/analysis.js';
import { editGraph } from '../../src/rewrite/edit.js';

export function constantsToInitializers(graph: Graph): Graph {
  const removeNodes = new Set<Node>();
  const addInitializers = new Map<string, Tensor>();
  for (const node of graph.nodes) {
    const value = constantNodeValue(node);
    const out = node.outputs[0];
    // A name already held by an initializer or input would become defined twice.
    if (!value || !out || graph.initializers.has(out) || graph.inputs.some((v) => v.name === out)) continue;
    removeNodes.add(node);
    addInitializers.set(out, value);
  }
  return editGraph(graph, { removeNodes, addInitializers });
}
