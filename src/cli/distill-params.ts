// Which student initializers distillation trains: float32 weights. Left frozen: scalars and one-element constants
// (epsilons, exponents, scale factors an export lifted into initializers; the gradient of Pow's exponent is NaN
// for negative bases), and tables read only through Slice (rotary cos/sin sliced to the sequence length: only the
// seen positions would get gradients while weight decay shrank the rest).
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';

export function trainableParameters(model: Model): string[] {
  const readers = new Map<string, Set<string>>();
  for (const node of model.graph.nodes) {
    for (const input of node.inputs) readers.set(input, (readers.get(input) ?? new Set()).add(node.opType));
  }
  return [...model.graph.initializers].filter(([name, t]) => {
    if (t.dataType !== DataType.FLOAT || t.dims.length === 0 || t.size <= 1) return false;
    const ops = readers.get(name);
    return ops !== undefined && [...ops].some((op) => op !== 'Slice');
  }).map(([name]) => name);
}
