// Applying a choice of units: sliced weights, edited shape constants, stale value_info dropped, in one produce.
import { castDraft, produce } from 'immer';
import { freshNamer } from '../../src/rewrite/rename.js';
import type { Graph, Node } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { arrayCtorOf, bitsOf } from '../../src/ir/dtype.js';
import { makeTensorType } from '../../src/ir/types.js';
import type { DependencyAnalysis } from './analysis.js';
import { graphIndex } from '../../src/ir/analysis.js';
import type { AxisLayout } from './layout.js';

/** Kept units per space (root ids), in the order they are to appear. */
export type UnitChoice = ReadonlyMap<number, readonly number[]>;

export function applyChoice(graph: Graph, analysis: DependencyAnalysis, choice: UnitChoice): Graph {
  const { spaces } = analysis;
  const keptOf = (space: number | undefined) => (space === undefined ? undefined : choice.get(spaces.find(space)));
  const changed = (layout: AxisLayout) => layout.some((s) => keptOf(s.space) !== undefined);

  const indicesOf = (layout: AxisLayout): number[] => keptIndices(analysis, choice, layout);
  const prunedLength = (layout: AxisLayout): number => indicesOf(layout).length;

  const replaced = new Map<string, Tensor>();
  const done = new Set<string>();
  for (const s of analysis.slices) {
    const key = `${s.tensor}\u0000${s.axis}`;
    if (done.has(key) || !changed(s.layout)) continue;
    done.add(key);
    const t = replaced.get(s.tensor) ?? graph.initializers.get(s.tensor)!;
    replaced.set(s.tensor, keepAlong(t, s.axis, indicesOf(s.layout)));
  }

  const taken = new Set([...graph.initializers.keys(), ...graph.nodes.flatMap((n) => n.outputs), ...graph.inputs.map((v) => v.name)]);
  const namer = freshNamer(taken);
  const fresh = (hint: string): string => namer(`${hint}_pruned`);
  const nodeUpdates = new Map<Node, Node>();
  const { position } = graphIndex(graph);
  const byInput = new Map<string, { node: Node; input: number; entries: Map<number, number> }>();
  for (const e of analysis.edits) {
    if (!changed(e.layout)) continue;
    const key = `${position.get(e.node)}:${e.input}`;
    const entry = byInput.get(key) ?? { node: e.node, input: e.input, entries: new Map() };
    entry.entries.set(e.position, prunedLength(e.layout));
    byInput.set(key, entry);
  }
  for (const { node, input, entries } of byInput.values()) {
    const base = nodeUpdates.get(node) ?? node;
    const old = graph.initializers.get(node.inputs[input])!;
    const values = old.toNumbers();
    for (const [p, v] of entries) values[p] = v;
    const Ctor = arrayCtorOf(old.dataType)!;
    const data = Ctor === BigInt64Array ? BigInt64Array.from(values, BigInt) : (Ctor as Int32ArrayConstructor).from(values);
    const name = fresh(node.inputs[input]);
    replaced.set(name, Tensor.fromArray(old.dataType, old.dims, data));
    nodeUpdates.set(node, { ...base, inputs: base.inputs.map((x, i) => (i === input ? name : x)) });
  }

  for (const e of analysis.attributeEdits) {
    if (!changed(e.layout)) continue;
    const base = nodeUpdates.get(e.node) ?? e.node;
    const value = prunedLength(e.layout);
    nodeUpdates.set(e.node, { ...base, attributes: base.attributes.map((a) => (a.name === e.name ? { ...a, type: 'int' as const, value } : a)) });
  }

  if (replaced.size === 0) return graph;
  // Shape constants whose every reader now reads an edited copy go.
  const superseded = new Set([...byInput.values()].map(({ node, input }) => node.inputs[input]));
  const nodes = graph.nodes.map((n) => nodeUpdates.get(n) ?? n);
  for (const n of nodes) for (const x of n.inputs) superseded.delete(x);
  for (const v of [...graph.outputs, ...graph.inputs]) superseded.delete(v.name);
  const stale = new Set([...analysis.layouts].filter(([, l]) => [...l.values()].some(changed)).map(([v]) => v));
  return produce(graph, (d) => {
    const inits = d.initializers as unknown as Map<string, Tensor>;
    for (const [name, t] of replaced) inits.set(name, t);
    for (const name of superseded) inits.delete(name);
    if (nodeUpdates.size) d.nodes = castDraft(nodes);
    if (graph.valueInfo.some((v) => stale.has(v.name))) d.valueInfo = castDraft(graph.valueInfo.filter((v) => !stale.has(v.name)));
    // IR < 4 lists initializers as graph inputs too: their declared shapes follow the sliced tensors.
    graph.inputs.forEach((vi, i) => {
      const t = replaced.get(vi.name);
      if (t) d.inputs[i].type = castDraft(makeTensorType(t.dataType, t.dims));
    });
  });
}

/** Indices kept along an axis with this layout (fixed runs whole), in their new order. */
export function keptIndices({ spaces }: Pick<DependencyAnalysis, 'spaces'>, choice: UnitChoice, layout: AxisLayout): number[] {
  const out: number[] = [];
  let offset = 0;
  for (const seg of layout) {
    const kept = seg.space === undefined ? undefined : choice.get(spaces.find(seg.space));
    const unitSize = seg.space === undefined ? seg.length : seg.length / spaces.units(seg.space);
    const units = kept ?? Array.from({ length: seg.length / unitSize }, (_, i) => i);
    for (const u of units) for (let c = 0; c < unitSize; c++) out.push(offset + u * unitSize + c);
    offset += seg.length;
  }
  return out;
}

/** `t` with only the given indices along `axis`, in that order (copies the kept slices only). */
export function keepAlong(t: Tensor, axis: number, keep: readonly number[]): Tensor {
  const Ctor = arrayCtorOf(t.dataType);
  if (!Ctor || bitsOf(t.dataType) < 8) throw new Error(`cannot slice a tensor of type ${t.dataType}`);
  const src = t.toArray() as Float32Array;
  const outer = t.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = t.dims[axis];
  const out = new Ctor(outer * keep.length * inner) as Float32Array;
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const c of keep) {
      const from = (i * n + c) * inner;
      out.set(src.subarray(from, from + inner), o);
      o += inner;
    }
  }
  const dims = [...t.dims];
  dims[axis] = keep.length;
  return Tensor.fromArray(t.dataType, dims, out);
}

