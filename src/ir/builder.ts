// Building IR objects: attribute values from plain JS values, nodes, value infos, graphs and models,
// and a GraphBuilder that names values uniquely (for passes, tests and model generators).
import type { Int64 } from '../proto/wire.js';
import { DataType } from './dtype.js';
import { Tensor } from './tensor.js';
import type { Attribute, AttributeValue, Graph, Model, Node, OpsetId, ValueInfo } from './model.js';
import { type Dim, makeTensorType } from './types.js';

/** Explicit attribute constructors, for values whose JS type is ambiguous (e.g. the float 1.0). */
export const attr = {
  float: (value: number): AttributeValue => ({ type: 'float', value }),
  int: (value: Int64): AttributeValue => ({ type: 'int', value }),
  string: (value: string): AttributeValue => ({ type: 'string', value }),
  tensor: (value: Tensor): AttributeValue => ({ type: 'tensor', value }),
  graph: (value: Graph): AttributeValue => ({ type: 'graph', value }),
  floats: (value: readonly number[]): AttributeValue => ({ type: 'floats', value: [...value] }),
  ints: (value: readonly Int64[]): AttributeValue => ({ type: 'ints', value: [...value] }),
  strings: (value: readonly string[]): AttributeValue => ({ type: 'strings', value: [...value] }),
};

export type AttributeInput = AttributeValue | number | bigint | string | Tensor | number[] | bigint[] | string[];

function isAttributeValue(v: unknown): v is AttributeValue {
  return typeof v === 'object' && v !== null && !(v instanceof Tensor) && !Array.isArray(v) && 'type' in v && 'value' in v;
}

/** Integers become int(s), other numbers float(s); use `attr.float` for an integral float. */
export function toAttributeValue(v: AttributeInput): AttributeValue {
  if (isAttributeValue(v)) return v;
  if (v instanceof Tensor) return attr.tensor(v);
  if (typeof v === 'bigint') return attr.int(v);
  if (typeof v === 'number') return Number.isInteger(v) ? attr.int(v) : attr.float(v);
  if (typeof v === 'string') return attr.string(v);
  const arr = v as Array<number | bigint | string>;
  if (arr.every((x) => typeof x === 'string')) return attr.strings(arr as string[]);
  if (arr.every((x) => typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x)))) return attr.ints(arr as Int64[]);
  return attr.floats(arr as number[]);
}

export function makeAttributes(attrs: Readonly<Record<string, AttributeInput>> = {}): Attribute[] {
  return Object.entries(attrs).map(([name, v]) => ({ name, ...toAttributeValue(v) }) as Attribute);
}

export interface NodeOptions {
  readonly name?: string;
  readonly domain?: string;
}

export function makeNode(
  opType: string, inputs: readonly string[], outputs: readonly string[],
  attrs: Readonly<Record<string, AttributeInput>> = {}, options: NodeOptions = {},
): Node {
  return {
    name: options.name ?? '', opType, domain: options.domain ?? '',
    inputs: [...inputs], outputs: [...outputs], attributes: makeAttributes(attrs),
  };
}

export function makeValueInfo(name: string, elemType: DataType, shape?: readonly Dim[]): ValueInfo {
  return { name, type: makeTensorType(elemType, shape) };
}

export interface GraphParts {
  readonly name?: string;
  readonly nodes: readonly Node[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers?: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;
  readonly valueInfo?: readonly ValueInfo[];
}

export function makeGraph(parts: GraphParts): Graph {
  const inits = parts.initializers instanceof Map ? parts.initializers : new Map(Object.entries(parts.initializers ?? {}));
  return {
    name: parts.name ?? 'graph', nodes: [...parts.nodes], inputs: [...parts.inputs], outputs: [...parts.outputs],
    initializers: new Map(inits), valueInfo: [...(parts.valueInfo ?? [])], rest: {},
  };
}

export interface ModelOptions {
  /** Default-domain opset version, or the full import list. */
  readonly opset?: number | readonly OpsetId[];
  readonly irVersion?: number;
  readonly producerName?: string;
}

export function makeModel(graph: Graph, options: ModelOptions = {}): Model {
  const opset = options.opset ?? 17;
  return {
    irVersion: options.irVersion ?? 8,
    opsetImport: typeof opset === 'number' ? [{ domain: '', version: opset }] : [...opset],
    graph, functions: [],
    rest: { producer_name: options.producerName ?? 'onnx-slim' },
  };
}

/** Accumulates a graph with unique value and node names. */
export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers = new Map<string, Tensor>();
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly name = 'graph') {}

  /** A name not used yet in this builder, derived from `hint`. */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  input(name: string, elemType: DataType, shape?: readonly Dim[]): string {
    const n = this.fresh(name);
    this.inputs.push(makeValueInfo(n, elemType, shape));
    return n;
  }

  initializer(name: string, tensor: Tensor): string {
    const n = this.fresh(name);
    this.initializers.set(n, tensor);
    return n;
  }

  /** Adds a node and returns its output names (`outputs` many, named after the node). */
  node(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttributeInput>> = {},
    options: NodeOptions & { outputs?: number; name?: string; outputNames?: readonly string[] } = {}): string[] {
    const nodeName = this.fresh(options.name ?? opType);
    const outs = options.outputNames?.map((n) => this.fresh(n)) ?? Array.from({ length: options.outputs ?? 1 }, (_, i) => this.fresh(`${nodeName}_out${i}`));
    this.nodes.push(makeNode(opType, inputs, outs, attrs, { ...options, name: nodeName }));
    return outs;
  }

  /** Shorthand for single-output nodes. */
  op(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttributeInput>> = {}, options: NodeOptions = {}): string {
    return this.node(opType, inputs, attrs, options)[0];
  }

  output(name: string, elemType: DataType, shape?: readonly Dim[]): void {
    this.outputs.push(makeValueInfo(name, elemType, shape));
  }

  build(): Graph {
    return makeGraph({ name: this.name, nodes: this.nodes, inputs: this.inputs, outputs: this.outputs, initializers: this.initializers });
  }
}
