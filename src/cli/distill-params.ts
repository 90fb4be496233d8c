// Which student initializers distillation trains: float32 weights. Left frozen: scalars and one-element constants
// (epsilons, exponents, scale factors an export lifted into initializers; the gradient of Pow's exponent is NaN
// for negative bases), tables read only through Slice (rotary cos/sin sliced to the sequence length: only the
// seen positions would get gradients while weight decay shrank the rest), and the scales and zero points of
// Quantize/DequantizeLinear (per-channel scales of a quantized student: calibrated, not learned; their gradient
// through the straight-through estimator is zero, so weight decay alone would shrink them).
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';

/** Reads that never make a tensor trainable, by op: the input positions. */
const FROZEN_READS: Readonly<Record<string, ReadonlySet<number>>> = {
  Slice: new Set([0]),
  QuantizeLinear: new Set([1, 2]),
  DequantizeLinear: new Set([1, 2]),
};

export function trainableParameters(model: Model): string[] {
  const trainableRead = new Set<string>();
  for (const node of model.graph.nodes) {
    node.inputs.forEach((input, i) => {
      if (!FROZEN_READS[node.opType]?.has(i)) trainableRead.add(input);
    });
  }
  return [...model.graph.initializers]
    .filter(([name, t]) => t.dataType === DataType.FLOAT && t.dims.length > 0 && t.size > 1 && trainableRead.has(name))
    .map(([name]) => name);
}
