// Merges initializers with identical type, shape and bytes (exporters often repeat constants per layer).
// Only tensors whose type and shape collide are hashed, so a model without duplicates costs no hashing.
import { createHash } from 'node:crypto';
import type { Graph } from '../../src/ir/model.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { graphIndex } from '../../src/ir/analysis.js';
import { editGraph, replaceUses } from '../../src/rewrite/edit.js';

export const layoutKey = (t: Tensor): string => `${t.dataType}:${t.dims.join('x')}:${t.byteLength}`;

export function contentKey(t: Tensor): string {
  if (t.storage.kind === 'string_data') return `s:${t.storage.values.map((v) => Buffer.from(v).toString('base64')).join(',')}`;
  return createHash('sha256').update(t.rawBytes()).digest('base64');
}

export function dedupeInitializers(graph: Graph): Graph {
  const { graphInputs, graphOutputs } = graphIndex(graph);
  const byLayout = new Map<string, string[]>();
  for (const [name, t] of graph.initializers) {
    // Overridable (input) and output initializers are part of the interface: leave them.
    if (graphInputs.has(name) || graphOutputs.has(name)) continue;
    const key = layoutKey(t);
    const list = byLayout.get(key);
    if (list) list.push(name);
    else byLayout.set(key, [name]);
  }
  const rename = new Map<string, string>();
  for (const names of byLayout.values()) {
    if (names.length < 2) continue;
    const first = new Map<string, string>();
    for (const name of names) {
      const t = graph.initializers.get(name)!;
      const key = contentKey(t);
      const keeper = first.get(key);
      if (keeper === undefined) first.set(key, name);
      else rename.set(name, keeper);
    }
  }
  if (rename.size === 0) return graph;
  return editGraph(replaceUses(graph, rename), { removeInitializers: rename.keys() });
}
