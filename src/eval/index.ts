// A small, exact evaluator for constant folding: one default-domain node on constant inputs, computed to the
// bit as the ONNX spec defines it, or not at all. Ops are dispatched through a table, one family per file.
import type { Node } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { CAST_OPS } from './cast.js';
import type { EvalContext, Evaluator } from './context.js';
import { ELEMENTWISE_OPS } from './elementwise.js';
import { MOVEMENT_OPS } from './movement.js';
import { REDUCE_OPS } from './reduce.js';
import { SHAPE_OPS } from './shape-ops.js';

interface OpEntry {
  readonly evaluate: Evaluator;
  /** First opset that has the op; older models cannot use it. */
  readonly since: number;
  /** Reads only its inputs' dims, so their element count costs nothing (Shape, Size). */
  readonly shapeOnly?: boolean;
}

const FIRST_OPSET: Readonly<Record<string, number>> = {
  Expand: 8, ConstantOfShape: 9, Where: 9, Mod: 10, Range: 11, LessOrEqual: 12, GreaterOrEqual: 12, CastLike: 15,
};
const SHAPE_ONLY = new Set(['Shape', 'Size']);

const REGISTRY: ReadonlyMap<string, OpEntry> = new Map(
  Object.entries({ ...SHAPE_OPS, ...MOVEMENT_OPS, ...ELEMENTWISE_OPS, ...CAST_OPS, ...REDUCE_OPS }).map(([op, evaluate]) => [
    op,
    { evaluate, since: FIRST_OPSET[op] ?? 1, shapeOnly: SHAPE_ONLY.has(op) },
  ]),
);

/** Ops the evaluator knows (for the folding rule's root list). */
export const FOLDABLE_OPS: readonly string[] = Object.freeze([...REGISTRY.keys()].sort());

export interface EvalLimits {
  /** Largest element count of any input or output (default 4096). */
  readonly maxElements?: number;
}

export const DEFAULT_MAX_ELEMENTS = 4096;

/**
 * Evaluates one default-domain node on constant inputs (undefined entries = omitted optional inputs).
 * Returns the output tensors, or undefined when the node is outside what it evaluates exactly (unsupported
 * type or attribute combination, inputs that break the op's contract, or more than `limits.maxElements`
 * elements in or out). Never throws on valid input.
 */
export function evaluateNode(node: Node, inputs: readonly (Tensor | undefined)[], opset: number, limits: EvalLimits = {}): Tensor[] | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  const entry = REGISTRY.get(node.opType);
  if (!entry || opset < entry.since) return undefined;
  const maxElements = limits.maxElements ?? DEFAULT_MAX_ELEMENTS;
  if (!entry.shapeOnly && inputs.some((t) => t && t.size > maxElements)) return undefined;
  const ctx: EvalContext = { node, opset, inputs, maxElements };
  const outputs = entry.evaluate(ctx);
  if (!outputs || outputs.length !== node.outputs.length) return undefined;
  return outputs;
}
