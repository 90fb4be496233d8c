// Regions that stay float32 whatever the block lists say: shape arithmetic (sizes must stay exact; fp16 has 11
// significant bits, so 2049 becomes 2048) and the variance of possibly large values (x² overflows fp16 at |x| > 256:
// the classic NaN/inf of converted LayerNorm/RMSNorm decompositions).
import type { Graph, Node } from '../../src/ir/model.js';
import type { GraphIndex } from '../../src/ir/analysis.js';
import type { Tensor } from '../../src/ir/tensor.js';

/** Ops through which values computed from Shape/Size remain shape arithmetic (small, exact-size computations). */
const SHAPE_MATH = new Set([
  'Cast', 'Gather', 'Concat', 'Slice', 'Squeeze', 'Unsqueeze', 'Reshape', 'Identity', 'Add', 'Sub', 'Mul', 'Div',
  'Floor', 'Ceil', 'Round', 'Min', 'Max', 'Neg', 'Abs', 'Sqrt', 'Clip', 'Mod', 'Equal', 'Less', 'Greater', 'Where',
  'ReduceProd', 'ReduceMax', 'ReduceMin', 'ReduceSum',
]);

/** Constants larger than this are data (an embedding table gathered by a computed index), not shape arithmetic. */
const SMALL = 64;

/** Nodes whose outputs are computed from Shape/Size outputs (and small constants) only; Shape/Size themselves read any type. */
export function shapeArithmetic(graph: Graph, constant: (name: string) => Tensor | undefined): Set<Node> {
  const small = (name: string): boolean => (constant(name)?.size ?? Infinity) <= SMALL;
  const derived = new Set<string>();
  const nodes = new Set<Node>();
  for (const node of graph.nodes) {
    const inputs = node.inputs.filter((i) => i !== '');
    const fromShapes = node.opType === 'Shape' || node.opType === 'Size' ||
      (SHAPE_MATH.has(node.opType) && inputs.some((i) => derived.has(i)) && inputs.every((i) => derived.has(i) || small(i)));
    if (!fromShapes || node.domain !== '') continue;
    if (node.opType !== 'Shape' && node.opType !== 'Size') nodes.add(node);
    for (const o of node.outputs) if (o !== '') derived.add(o);
  }
  return nodes;
}

const REDUCE_SQUARES = new Set(['ReduceMean', 'ReduceSum']);
const SCALE_SHIFT = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Clip']);
const BACK_IN_RANGE = new Set(['Sqrt', 'Reciprocal']);

/**
 * Pow(x, ≥2) or Mul(x, x) reduced by ReduceMean/ReduceSum, and the scale/shift steps after it up to the Sqrt
 * (or Reciprocal) that brings values back into fp16's range: those nodes compute in float32.
 */
export function varianceChains(graph: Graph, index: GraphIndex, constant: (name: string) => Tensor | undefined): Set<Node> {
  const kept = new Set<Node>();
  const isSquare = (n: Node | undefined): n is Node => !!n && n.domain === '' && (
    (n.opType === 'Mul' && n.inputs[0] === n.inputs[1]) ||
    (n.opType === 'Pow' && (constant(n.inputs[1])?.toFloat32().every((e) => e >= 2) ?? false)));
  for (const reduce of graph.nodes) {
    if (!REDUCE_SQUARES.has(reduce.opType) || reduce.domain !== '') continue;
    const square = index.producer.get(reduce.inputs[0]);
    if (!isSquare(square)) continue;
    kept.add(square).add(reduce);
    let value = reduce.outputs[0];
    for (;;) {
      const readers = index.consumers.get(value) ?? [];
      const next = readers[0];
      if (readers.length !== 1 || next.domain !== '' || index.graphOutputs.has(value)) break;
      if (BACK_IN_RANGE.has(next.opType)) { kept.add(next); break; }
      const others = next.inputs.filter((i) => i !== '' && i !== value);
      if (!SCALE_SHIFT.has(next.opType) || next.inputs.filter((i) => i === value).length !== 1 || !others.every((i) => constant(i))) break;
      kept.add(next);
      value = next.outputs[0];
    }
  }
  return kept;
}
