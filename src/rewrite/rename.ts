// Names: every value name a graph uses (for fresh names), and renaming values that subgraphs capture
// from an enclosing scope (an If branch reading an outer value must follow when that value is replaced).
import type { Graph, Node } from '../ir/model.js';
import { mapNodeSubgraphs } from './subgraphs.js';
import { subgraphsOf } from '../ir/model.js';

const namesCache = new WeakMap<Graph, ReadonlySet<string>>();

/** Every value name defined or read in `graph` and its subgraphs. */
export function valueNames(graph: Graph): ReadonlySet<string> {
  let names = namesCache.get(graph);
  if (names) return names;
  const set = new Set<string>();
  const visit = (g: Graph): void => {
    for (const v of g.inputs) set.add(v.name);
    for (const v of g.outputs) set.add(v.name);
    for (const k of g.initializers.keys()) set.add(k);
    for (const n of g.nodes) {
      for (const x of n.inputs) set.add(x);
      for (const x of n.outputs) set.add(x);
      for (const s of subgraphsOf(n)) visit(s);
    }
  };
  visit(graph);
  names = set;
  namesCache.set(graph, names);
  return names;
}

/** A namer that hands out `hint`, else `hint_1`, `hint_2`, ... — the first not in `taken`, which it then joins. */
export function freshNamer(taken: Set<string>): (hint: string) => string {
  return (hint) => {
    let name = hint;
    for (let k = 1; taken.has(name); k++) name = `${hint}_${k}`;
    taken.add(name);
    return name;
  };
}

/** Renames outer-scope references inside the node's subgraphs; the same node when nothing changes. */
export function renameCaptured(node: Node, rename: ReadonlyMap<string, string>): Node {
  return mapNodeSubgraphs(node, (g) => renameInGraph(g, rename));
}

function renameInGraph(graph: Graph, rename: ReadonlyMap<string, string>): Graph {
  // Names the subgraph defines itself shadow the outer ones.
  const local = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.keys()]);
  for (const n of graph.nodes) for (const o of n.outputs) local.add(o);
  const effective = new Map([...rename].filter(([from]) => !local.has(from)));
  if (effective.size === 0) return graph;
  let changed = false;
  const nodes = graph.nodes.map((n): Node => {
    const inputs = n.inputs.map((i) => effective.get(i) ?? i);
    const withBodies = renameCaptured(n, effective);
    if (withBodies === n && inputs.every((x, i) => x === n.inputs[i])) return n;
    changed = true;
    return { ...withBodies, inputs };
  });
  const outputs = graph.outputs.map((o) => (effective.has(o.name) ? { ...o, name: effective.get(o.name)! } : o));
  if (outputs.some((o, i) => o !== graph.outputs[i])) changed = true;
  return changed ? { ...graph, nodes, outputs } : graph;
}
