// What a gradient rule is and what it sees. A rule is data: the op it differentiates and a `backward` that, given the
// upstream gradients of the node's outputs, emits nodes computing the gradients of its inputs. Rules only append to
// the graph through `ctx.emit`; the driver (passes/grad/differentiate.ts) accumulates and wires the results.
import type { Node } from '../../src/ir/model.js';
import type { DataType } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/tensor.js';
import type { Dim } from '../../src/ir/types.js';
import type { GraphExtension } from '../../src/ir/extend.js';

export interface GradContext {
  readonly node: Node;
  /** The node's input names ('' for an omitted optional input). */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Upstream gradient of each output, same shape as the output; undefined where the loss does not depend on it. */
  readonly grads: readonly (string | undefined)[];
  /** Default-domain opset of the model. */
  readonly opset: number;
  /** Appends backward nodes and constants. */
  readonly emit: GraphExtension;

  /** Whether input i needs a gradient (it depends on some wrt value and carries gradient); skip the work otherwise. */
  needsGrad(i: number): boolean;
  /** Element type of a value (inferred); a GradientError when unknown. */
  dtype(name: string): DataType;
  /** Inferred shape of a value (numbers, symbols, or undefined dims); undefined when the rank is unknown. */
  dims(name: string): readonly Dim[] | undefined;
  /** Rank of a value; a GradientError when unknown. */
  rank(name: string): number;
  /** Static shape when every dim is a number. */
  staticShape(name: string): number[] | undefined;
  /** The constant tensor bound to a value (initializer or Constant node), if any. */
  constant(name: string): Tensor | undefined;
  /** The node producing a value, if any. */
  producer(name: string): Node | undefined;

  /** A rank-0 constant with `like`'s element type. */
  scalar(value: number, like: string): string;
  /** A 1-D int64 constant. */
  ints(values: readonly number[]): string;
  /** Shape(x): a constant when static, else a (cached) Shape node. */
  shapeOf(name: string): string;
  /** Sums a gradient computed at a broadcast shape (`gradDims`, default: output 0's) back to `input`'s shape. */
  reduceToShape(grad: string, input: string, gradDims?: readonly Dim[]): string;
  /** ReduceSum over `axes` (opset-appropriate form). */
  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string;
  /** Elements of `x` averaged into each element of `reduced` (x reduced over `axes`): a constant when x's shape is
   *  static, else Size(x) / Size(reduced) at run time. */
  countPer(x: string, reduced: string, axes: readonly number[]): string;
  /** Unsqueeze at `axes` (opset-appropriate form). */
  unsqueeze(x: string, axes: readonly number[]): string;
  /** Zeros shaped like `like`. */
  zerosLike(like: string): string;
  /** Throws a GradientError naming this node. */
  fail(reason: string): never;
  /** Throws a GradientError unless the model imports at least `version` (for what the rule emits). */
  requireOpset(version: number, what: string): void;
}

export interface GradRule {
  readonly op: string;
  /** One entry per node input: its gradient, or undefined (no gradient, or not needed). */
  backward(ctx: GradContext): (string | undefined)[];
  /**
   * Integer outputs that still carry gradient: QuantizeLinear's output stands for the real value it encodes, so a
   * straight-through gradient can flow through a QDQ pair.
   */
  readonly integerOutputsCarryGradient?: boolean;
}

/** Normalizes a possibly negative axis against a rank. */
export const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** The integers from..n-1 (0..n-1 by default). */
export const range = (n: number, from = 0): number[] => Array.from({ length: Math.max(0, n - from) }, (_, i) => i + from);
