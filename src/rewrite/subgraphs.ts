// Mapping over the subgraphs a node holds (If branches, Loop/Scan bodies), preserving identity when nothing
// changes, so untouched nodes and graphs stay the same objects.
import { castDraft, produce } from 'immer';
import './immer-setup.js';
import type { Graph, Node } from '../ir/model.js';
import { hasSubgraphs } from '../ir/model.js';

/** `node` with `fn` applied to each of its subgraphs; the same object when `fn` changes none. */
export function mapNodeSubgraphs(node: Node, fn: (g: Graph) => Graph): Node {
  if (!hasSubgraphs(node)) return node;
  let changed = false;
  const attributes = node.attributes.map((a) => {
    if (a.type === 'graph') {
      const g = fn(a.value);
      if (g !== a.value) { changed = true; return { ...a, value: g }; }
    } else if (a.type === 'graphs') {
      const gs = a.value.map(fn);
      if (gs.some((s, i) => s !== a.value[i])) { changed = true; return { ...a, value: gs }; }
    }
    return a;
  });
  return changed ? { ...node, attributes } : node;
}

/** `graph` with `fn` applied to every subgraph of its nodes, in one produce; the same object when nothing changes. */
export function mapChildGraphs(graph: Graph, fn: (g: Graph) => Graph): Graph {
  const changed = new Map<number, Node>();
  graph.nodes.forEach((node, i) => {
    const next = mapNodeSubgraphs(node, fn);
    if (next !== node) changed.set(i, next);
  });
  if (changed.size === 0) return graph;
  return produce(graph, (d) => {
    for (const [i, n] of changed) d.nodes[i] = castDraft(n);
  });
}
