// Appending to an existing graph: new nodes, initializers, inputs and outputs with names that collide with nothing
// already there (subgraphs included), applied in one produce. What gradient, optimizer-step and loss-head builders
// share; GraphBuilder is its counterpart for graphs built from scratch.
import { castDraft, produce } from 'immer';
import '../rewrite/immer-setup.js';
import type { DataType } from './dtype.js';
import type { Graph, Node, ValueInfo } from './model.js';
import { subgraphsOf } from './model.js';
import type { Tensor } from './tensor.js';
import type { Dim } from './types.js';
import { type AttributeInput, makeNode, makeValueInfo, type NodeOptions } from './builder.js';

export class GraphExtension {
  private readonly nodes: Node[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers = new Map<string, Tensor>();
  private readonly used: Set<string>;
  private counter = 0;

  /** `tag` prefixes new node names, so reports and dumps show which builder made them. */
  constructor(readonly base: Graph, readonly tag = '') {
    this.used = namesIn(base);
  }

  /** A name not used in the base graph nor by this extension, derived from `hint`. */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /**
   * Adds a node and returns its output names: `outputs` many, named after the node, or exactly `outputNames`
   * (names the caller reserved with `fresh`, e.g. a result that must carry a documented name).
   */
  node(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttributeInput>> = {},
    options: NodeOptions & { outputs?: number; name?: string; outputNames?: readonly string[] } = {}): string[] {
    const nodeName = this.fresh(`${this.tag}${options.name ?? opType}`);
    const outs = options.outputNames ? [...options.outputNames]
      : Array.from({ length: options.outputs ?? 1 }, (_, i) => this.fresh(`${nodeName}_out${i}`));
    this.nodes.push(makeNode(opType, inputs, outs, attrs, { ...options, name: nodeName }));
    return outs;
  }

  /** Shorthand for single-output nodes. */
  op(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttributeInput>> = {}, options: NodeOptions = {}): string {
    return this.node(opType, inputs, attrs, options)[0];
  }

  /** A new initializer; returns its (fresh) name. */
  constant(hint: string, tensor: Tensor): string {
    const name = this.fresh(hint);
    this.initializers.set(name, tensor);
    return name;
  }

  /** A new graph input (name taken as given when free, else made fresh). */
  input(name: string, elemType: DataType, shape?: readonly Dim[]): string {
    const n = this.fresh(name);
    this.inputs.push(makeValueInfo(n, elemType, shape));
    return n;
  }

  /** Declares an existing or new value as a graph output. */
  output(name: string, elemType: DataType, shape?: readonly Dim[]): void {
    this.outputs.push(makeValueInfo(name, elemType, shape));
  }

  get addedNodes(): readonly Node[] {
    return this.nodes;
  }

  /** The base graph with everything added, in one produce; the base itself when nothing was. */
  apply(): Graph {
    if (this.nodes.length + this.inputs.length + this.outputs.length + this.initializers.size === 0) return this.base;
    return produce(this.base, (d) => {
      d.nodes.push(...castDraft(this.nodes));
      d.inputs.push(...castDraft(this.inputs));
      d.outputs.push(...castDraft(this.outputs));
      const inits = d.initializers as unknown as Map<string, Tensor>;
      for (const [name, t] of this.initializers) inits.set(name, t);
    });
  }
}

function namesIn(graph: Graph, into = new Set<string>()): Set<string> {
  for (const v of graph.inputs) into.add(v.name);
  for (const v of graph.outputs) into.add(v.name);
  for (const v of graph.valueInfo) into.add(v.name);
  for (const name of graph.initializers.keys()) into.add(name);
  for (const n of graph.nodes) {
    if (n.name) into.add(n.name);
    for (const o of n.outputs) if (o) into.add(o);
    for (const g of subgraphsOf(n)) namesIn(g, into);
  }
  return into;
}
