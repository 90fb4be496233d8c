// Giving computed values the graph-output names a caller expects (`w.next`, `w.m.next`, ...). GraphExtension names
// node outputs after their node, so the names are reserved with `fresh` first and swapped in here, in one produce.
import { castDraft, produce } from 'immer';
import '../rewrite/immer-setup.js';
import { DataType } from '../ir/dtype.js';
import type { Graph } from '../ir/model.js';
import { makeValueInfo } from '../ir/builder.js';
import type { Dim } from '../ir/types.js';

export interface Exposed {
  /** A value some node of the graph produces. */
  readonly value: string;
  /** The graph-output name it takes (already reserved, so it collides with nothing). */
  readonly name: string;
  readonly dims?: readonly Dim[];
}

/** Renames each produced value (its producer and every reader) and declares it as a float graph output. */
export function exposeOutputs(graph: Graph, exposed: readonly Exposed[]): Graph {
  const renames = new Map(exposed.map((e) => [e.value, e.name]));
  const produced = new Set(graph.nodes.flatMap((n) => n.outputs));
  for (const e of exposed) if (!produced.has(e.value)) throw new Error(`cannot expose '${e.value}' as '${e.name}': no node produces it`);
  const rename = (v: string): string => renames.get(v) ?? v;
  return produce(graph, (d) => {
    for (const n of d.nodes) {
      if (n.outputs.some((o) => renames.has(o))) n.outputs = n.outputs.map(rename);
      if (n.inputs.some((i) => renames.has(i))) n.inputs = n.inputs.map(rename);
    }
    for (const o of d.outputs) o.name = rename(o.name);
    d.outputs.push(...castDraft(exposed.map((e) => makeValueInfo(e.name, DataType.FLOAT, e.dims))));
  });
}
