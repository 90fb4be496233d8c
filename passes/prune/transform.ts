// Applying a channel choice: new initializers holding only the kept slices, in one produce per graph.
import { castDraft, produce } from 'immer';
import type { Graph } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { arrayCtorOf, bitsOf } from '../../src/ir/dtype.js';

/** `t` with only the given indices along `axis` (copies the kept slices only). */
export function keepAlong(t: Tensor, axis: number, keep: readonly number[]): Tensor {
  const Ctor = arrayCtorOf(t.dataType);
  if (!Ctor || bitsOf(t.dataType) < 8) throw new Error(`cannot slice a tensor of type ${t.dataType}`);
  const src = t.toArray();
  const outer = t.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = t.dims[axis];
  const out = new Ctor(outer * keep.length * inner);
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const c of keep) {
      const from = (i * n + c) * inner;
      (out as Float32Array).set((src as Float32Array).subarray(from, from + inner), o);
      o += inner;
    }
  }
  const dims = [...t.dims];
  dims[axis] = keep.length;
  return Tensor.fromArray(t.dataType, dims, out);
}

/** Replaces initializers and drops the value_info of values whose shapes changed, in one produce. */
export function replaceInitializers(graph: Graph, replaced: ReadonlyMap<string, Tensor>, staleValues: ReadonlySet<string>): Graph {
  if (replaced.size === 0) return graph;
  return produce(graph, (d) => {
    const inits = d.initializers as unknown as Map<string, Tensor>;
    for (const [name, t] of replaced) inits.set(name, t);
    if (graph.valueInfo.some((v) => staleValues.has(v.name))) d.valueInfo = castDraft(graph.valueInfo.filter((v) => !staleValues.has(v.name)));
  });
}
