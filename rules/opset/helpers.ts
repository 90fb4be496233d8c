// Small pieces the opset rules share: editing one node's inputs and attributes (the node keeps its name, doc string
// and unknown fields), and the constant tensors that attributes become when an op moves them to inputs.
import type { Attribute, Node } from '../../src/ir/model.js';
import { getAttribute } from '../../src/ir/model.js';
import { type AttributeInput, makeAttributes } from '../../src/ir/builder.js';
import { DataType, floatToHalf } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { RewriteBuilder } from '../../src/rewrite/rule.js';

/** `node` without the named attributes; the same object when it has none of them. */
export function withoutAttributes(node: Node, ...names: string[]): Node {
  if (!node.attributes.some((a) => names.includes(a.name))) return node;
  return { ...node, attributes: node.attributes.filter((a) => !names.includes(a.name)) };
}

/**
 * `node` with the given attributes set (replacing same-named ones in place, appending the others). A replaced
 * attribute drops its stored proto extras: they may record the old attribute type.
 */
export function withAttributes(node: Node, attrs: Readonly<Record<string, AttributeInput>>): Node {
  const fresh = new Map(makeAttributes(attrs).map((a) => [a.name, a]));
  const attributes: Attribute[] = node.attributes.map((a) => {
    const b = fresh.get(a.name);
    if (!b) return a;
    fresh.delete(a.name);
    return b;
  });
  return { ...node, attributes: [...attributes, ...fresh.values()] };
}

/** `node` reading `inputs` (trailing omitted optional inputs dropped). */
export function withInputs(node: Node, inputs: readonly string[]): Node {
  const list = [...inputs];
  while (list.length && list[list.length - 1] === '') list.pop();
  return { ...node, inputs: list };
}

/** An attribute's integer list, or undefined when absent. */
export function intsOf(node: Node, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  return a?.type === 'ints' ? a.value.map(Number) : undefined;
}

export function int64Tensor(values: readonly number[], dims: readonly number[] = [values.length]): Tensor {
  return Tensor.fromArray(DataType.INT64, dims, BigInt64Array.from(values, (x) => BigInt(x)));
}

export function float32Tensor(values: readonly number[], dims: readonly number[] = [values.length]): Tensor {
  return Tensor.fromArray(DataType.FLOAT, dims, Float32Array.from(values));
}

/** The element types a float attribute can become a scalar input of (the float types old opsets allowed). */
export const FLOAT_TYPES: ReadonlySet<DataType> = new Set([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]);

/**
 * A scalar of a float type holding the float32 attribute value `x` (attributes are float32: widening to double is
 * exact; float16 rounds to nearest even, as the old kernels converted the attribute).
 */
export function floatScalar(dataType: DataType, x: number): Tensor {
  switch (dataType) {
    case DataType.FLOAT: return Tensor.fromArray(dataType, [], Float32Array.of(x));
    case DataType.DOUBLE: return Tensor.fromArray(dataType, [], Float64Array.of(Math.fround(x)));
    case DataType.FLOAT16: return Tensor.fromArray(dataType, [], Uint16Array.of(floatToHalf(x)));
    default: throw new Error(`no float scalar of type ${DataType[dataType]}`);
  }
}

/** An int64 input made from an attribute's integer list. */
export function intsInput(b: RewriteBuilder, node: Node, values: readonly number[], what: string): string {
  return b.constant(int64Tensor(values), `${node.name || node.opType}_${what}`);
}
