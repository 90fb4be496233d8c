// What a shape rule sees and returns. A rule is data: the op types it covers, a pure `infer` from input types
// to output types, and optionally a `value` that propagates small integer values (shape arithmetic).
import type { Graph, Node } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { DataType } from '../ir/dtype.js';
import type { Dim, TensorType } from '../ir/types.js';

/** Elements of a small numeric tensor, flattened in row-major order; symbols for sizes only known by name. */
export type Value = readonly Dim[];

export type OutputTypes = (TensorType | undefined)[];

export interface InferContext {
  readonly node: Node;
  /** Opset version the model imports for the node's domain. */
  readonly opset: number;
  /** Type of input i; undefined for an omitted optional input or an unknown type. */
  input(i: number): TensorType | undefined;
  /** Whether input i was given (optional inputs are omitted as ''). */
  hasInput(i: number): boolean;
  readonly inputCount: number;
  readonly outputCount: number;
  /** The constant tensor input i is bound to (initializer or Constant node), if any. */
  constant(i: number): Tensor | undefined;
  /** The value of input i when known: from a constant or propagated through shape arithmetic. */
  value(i: number): Value | undefined;
  /** Types of `graph`'s outputs given the types of its inputs (for If/Loop/Scan bodies). */
  subgraph(graph: Graph, inputs: readonly (TensorType | undefined)[]): OutputTypes;
}

export interface OpRule {
  readonly infer: (ctx: InferContext) => OutputTypes;
  /** Value of output 0 from the values of the inputs (only rules that matter for shape arithmetic have one). */
  readonly value?: (ctx: InferContext, out: TensorType | undefined) => Value | undefined;
  /** Values of every output, for multi-output ops (Split). */
  readonly values?: (ctx: InferContext, outs: OutputTypes) => (Value | undefined)[];
}

/** Rules of one family, keyed by op type ('domain:Op' outside the default domain). */
export type RuleSet = Readonly<Record<string, OpRule>>;

export const tensorType = (elemType: DataType, shape?: readonly Dim[]): TensorType => (shape ? { elemType, shape } : { elemType });

/** The input's type with another shape (unknown rank when `shape` is undefined). */
export function withShape(t: TensorType | undefined, shape: readonly Dim[] | undefined): TensorType | undefined {
  if (t) return tensorType(t.elemType, shape);
  return shape ? tensorType(DataType.UNDEFINED, shape) : undefined;
}

/** The numbers of a known value with no symbols or unknowns. */
export function numbersOf(v: Value | undefined): number[] | undefined {
  return v && v.every((d): d is number => typeof d === 'number') ? (v as number[]) : undefined;
}

/** Rule for ops whose outputs all have the type and shape of input `i`. */
export const sameAs = (i = 0): OpRule => ({ infer: (ctx) => Array.from({ length: ctx.outputCount }, () => ctx.input(i)) });

/** One rule shared by several op types. */
export function ruleFor(ops: readonly string[], rule: OpRule): Record<string, OpRule> {
  return Object.fromEntries(ops.map((op) => [op, rule]));
}
