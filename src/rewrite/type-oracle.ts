// Value types for rules: declared types (inputs, value_info, outputs, initializers) completed by shape
// inference, computed lazily once per graph object.
import type { Graph, Model } from '../ir/model.js';
import { type TensorType, tensorTypeOf } from '../ir/types.js';
import { inferGraphTypes } from '../shape/index.js';

const cache = new WeakMap<Graph, ReadonlyMap<string, TensorType>>();

export function typesOf(graph: Graph, model: Pick<Model, 'irVersion' | 'opsetImport'>, outer?: ReadonlyMap<string, TensorType>): ReadonlyMap<string, TensorType> {
  let types = cache.get(graph);
  if (types) return types;
  const map = new Map<string, TensorType>();
  for (const vi of [...graph.valueInfo, ...graph.outputs]) {
    const t = tensorTypeOf(vi.type);
    if (t) map.set(vi.name, t);
  }
  // Inference first; declared annotations only fill what inference leaves unknown.
  for (const [name, t] of inferGraphTypes(graph, model.opsetImport, model.irVersion, outer).types) {
    const declared = map.get(name);
    if (!declared || t.shape?.every((d) => d !== undefined)) map.set(name, t);
  }
  types = map;
  cache.set(graph, types);
  return types;
}
