// Trained parameters back into the inference model they came from: each replaces the initializer of the same name.
// The inference model never held the loss, teacher or gradient parts, so what comes out is a plain inference model.
import { produce } from 'immer';
import '../rewrite/immer-setup.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';

export type ParamValues = ReadonlyMap<string, Float32Array | Tensor>;

/** `inference` with every parameter in `params` written over its initializer (shapes must agree). */
export function exportTrained(inference: Model, params: ParamValues): Model {
  const inits = inference.graph.initializers;
  const replaced = new Map<string, Tensor>();
  for (const [name, value] of params) {
    const old = inits.get(name);
    if (!old) throw new Error(`trained parameter '${name}' is not an initializer of the inference model`);
    if (old.dataType !== DataType.FLOAT) throw new Error(`initializer '${name}' is ${DataType[old.dataType]}, trained values are float32`);
    if (!(value instanceof Tensor) && value.length !== old.size) {
      throw new Error(`trained parameter '${name}' has ${value.length} values, the initializer of shape [${old.dims}] needs ${old.size}`);
    }
    const t = value instanceof Tensor ? value : Tensor.fromArray(DataType.FLOAT, old.dims, value);
    if (t.dims.join(',') !== old.dims.join(',')) throw new Error(`trained parameter '${name}' has shape [${t.dims}], the initializer [${old.dims}]`);
    replaced.set(name, t);
  }
  if (replaced.size === 0) return inference;
  return produce(inference, (d) => {
    const m = d.graph.initializers as unknown as Map<string, Tensor>;
    for (const [name, t] of replaced) m.set(name, t);
  });
}
