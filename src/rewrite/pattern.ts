// Patterns over a node and its producers, written as the subgraph they match:
//   op('Mul', [op('Add', [v('x'), constant('b')], { bind: 'add' }), constant('c')])
// Matching reads the frozen graph through its cached index; it never allocates proxies or edits anything.
import type { Graph, Node } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { constantOf, graphIndex } from '../ir/analysis.js';

export type ValuePattern = AnyValue | ConstantValue | NodePattern;

export interface AnyValue {
  readonly kind: 'any';
  readonly bind?: string;
}

export interface ConstantValue {
  readonly kind: 'constant';
  readonly bind?: string;
  readonly where?: (t: Tensor) => boolean;
}

export interface NodePattern {
  readonly kind: 'node';
  /** Op type(s) the node must have. */
  readonly op: string | readonly string[];
  /** Default: '' (the ONNX domain). '*' matches any domain. */
  readonly domain?: string;
  /** Patterns for the first inputs, in order; undefined: inputs unconstrained. */
  readonly inputs?: readonly ValuePattern[];
  /** Predicate over the node itself (attributes, input count, ...). */
  readonly where?: (node: Node) => boolean;
  /** Which output of the producer the value must be (default 0). Ignored at the root. */
  readonly output?: number;
  /** The producer's output must have no other reader (safe to fuse away). Ignored at the root. */
  readonly singleUse?: boolean;
  readonly bind?: string;
}

/** Any value; bound under `bind` when given. */
export const v = (bind?: string): AnyValue => ({ kind: 'any', bind });

/** A value with a constant producer: an initializer or a Constant node. */
export const constant = (bind?: string, where?: (t: Tensor) => boolean): ConstantValue => ({ kind: 'constant', bind, where });

export function op(type: string | readonly string[], inputs?: readonly ValuePattern[], options: Omit<NodePattern, 'kind' | 'op' | 'inputs'> = {}): NodePattern {
  return { kind: 'node', op: type, inputs, ...options };
}

/** What a successful match binds. */
export interface Match {
  readonly root: Node;
  /** Bound value names. */
  readonly values: Readonly<Record<string, string>>;
  /** Bound constant tensors (bound values of `constant` patterns also appear in `values`). */
  readonly constants: Readonly<Record<string, Tensor>>;
  /** Bound nodes, the root included under its bind name. */
  readonly nodes: Readonly<Record<string, Node>>;
  /** Every node the pattern covered (root first). */
  readonly covered: readonly Node[];
}

export interface MatchScope {
  readonly graph: Graph;
  readonly irVersion: number | bigint;
}

export function rootOps(p: NodePattern): readonly string[] {
  return typeof p.op === 'string' ? [p.op] : p.op;
}

export function patternDepth(p: ValuePattern): number {
  if (p.kind !== 'node') return 0;
  return 1 + Math.max(0, ...(p.inputs ?? []).map(patternDepth));
}

function opMatches(p: NodePattern, node: Node): boolean {
  if (typeof p.op === 'string' ? node.opType !== p.op : !p.op.includes(node.opType)) return false;
  const domain = p.domain ?? '';
  return domain === '*' || node.domain === domain || (domain === '' && node.domain === 'ai.onnx');
}

class Matcher {
  readonly values: Record<string, string> = {};
  readonly constants: Record<string, Tensor> = {};
  readonly nodes: Record<string, Node> = {};
  readonly covered: Node[] = [];

  constructor(private readonly scope: MatchScope) {}

  private bindValue(name: string | undefined, value: string): boolean {
    if (!name) return true;
    const prev = this.values[name];
    if (prev !== undefined) return prev === value; // the same name twice means the same value
    this.values[name] = value;
    return true;
  }

  node(p: NodePattern, node: Node): boolean {
    if (!opMatches(p, node)) return false;
    if (p.where && !p.where(node)) return false;
    if (p.inputs) {
      if (node.inputs.length < p.inputs.length) return false;
      for (let i = 0; i < p.inputs.length; i++) if (!this.value(p.inputs[i], node.inputs[i])) return false;
    }
    if (p.bind) this.nodes[p.bind] = node;
    this.covered.push(node);
    return true;
  }

  value(p: ValuePattern, name: string): boolean {
    if (name === '') return false;
    switch (p.kind) {
      case 'any':
        return this.bindValue(p.bind, name);
      case 'constant': {
        const t = constantOf(this.scope.graph, name, this.scope.irVersion);
        if (!t || (p.where && !p.where(t))) return false;
        if (p.bind) this.constants[p.bind] = t;
        return this.bindValue(p.bind, name);
      }
      case 'node': {
        const index = graphIndex(this.scope.graph);
        const producer = index.producer.get(name);
        if (!producer || producer.outputs.indexOf(name) !== (p.output ?? 0)) return false;
        if (p.singleUse && ((index.consumers.get(name)?.length ?? 0) > 1 || index.graphOutputs.has(name))) return false;
        return this.node(p, producer) && this.bindValue(undefined, name);
      }
    }
  }
}

/** Matches `pattern` rooted at `node`; undefined when it does not match. */
export function matchPattern(pattern: NodePattern, node: Node, scope: MatchScope): Match | undefined {
  const m = new Matcher(scope);
  if (!m.node(pattern, node)) return undefined;
  // `covered` fills in post-order (producers first); callers expect the root first.
  const covered = [node, ...m.covered.filter((n) => n !== node)];
  return { root: node, values: m.values, constants: m.constants, nodes: m.nodes, covered };
}
