// A rewrite rule is data: a name, a pattern rooted at an op, a check that explains misses, and a pure
// rewrite that describes the replacement. Only the driver edits graphs.
import type { Graph, Model, Node, OpsetId } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import type { AttributeInput } from '../ir/builder.js';
import type { TensorType } from '../ir/types.js';
import { type Match, type NodePattern, patternDepth, rootOps } from './pattern.js';

/** What a rule's `check` and `rewrite` can see besides the match. */
export interface RuleContext {
  readonly graph: Graph;
  readonly model: Pick<Model, 'irVersion' | 'opsetImport'>;
  /** Constant value of a name in this graph (initializer or Constant node). */
  constant(name: string): Tensor | undefined;
  /** Nodes reading `name` (inside subgraphs too). */
  consumers(name: string): readonly Node[];
  isGraphOutput(name: string): boolean;
  /** Element type and shape of a value, from declarations and shape inference (symbolic dims kept). */
  typeOf(name: string): TensorType | undefined;
  opset(domain?: string): number | undefined;
}

/** `true`, or why the rule does not apply. */
export type CheckResult = true | string;

/** Creates names and nodes for a replacement. Nothing it makes touches the graph until the driver applies it. */
export interface RewriteBuilder {
  /** A value name unused in the graph, derived from `hint`. */
  fresh(hint: string): string;
  /** A new node; outputs are given names or fresh ones made from the node name. */
  node(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, AttributeInput>>,
    options?: { outputs?: readonly string[] | number; domain?: string; name?: string }): { node: Node; outputs: string[] };
  /** A new initializer; returns its name. */
  constant(tensor: Tensor, hint: string): string;
}

export interface Replacement {
  /** New nodes, inserted in order where the root was. */
  readonly nodes?: readonly Node[];
  /** Root outputs (or outputs of other covered nodes) to be read from another value from now on. */
  readonly replace?: Readonly<Record<string, string>>;
  /** New initializers. */
  readonly initializers?: ReadonlyMap<string, Tensor>;
  /**
   * Nodes outside the pattern that the replacement subsumes (e.g. sibling layers merged into one): removed, like
   * the pattern's own nodes, once nothing reads them.
   */
  readonly subsumes?: readonly Node[];
}

export interface Rule {
  /** `family/verb-object`, matching the file the rule lives in. */
  readonly name: string;
  readonly pattern: NodePattern;
  readonly check?: (m: Match, ctx: RuleContext) => CheckResult;
  readonly rewrite: (m: Match, b: RewriteBuilder, ctx: RuleContext) => Replacement;
  readonly description?: string;
}

export function defineRule(rule: Rule): Rule {
  if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(rule.name)) throw new Error(`rule name '${rule.name}' must read family/verb-object`);
  if (rule.pattern.kind !== 'node') throw new Error(`rule ${rule.name}: the root of a pattern must be an op`);
  return Object.freeze(rule);
}

/** Rules indexed by root op, so dispatch costs one map lookup per node before any matching. */
export class RuleSet {
  private readonly byOp = new Map<string, Rule[]>();
  readonly depth: number;

  constructor(readonly name: string, readonly rules: readonly Rule[]) {
    const names = new Set<string>();
    for (const r of rules) {
      if (names.has(r.name)) throw new Error(`rule set ${name} has two rules named ${r.name}`);
      names.add(r.name);
      for (const type of rootOps(r.pattern)) {
        const list = this.byOp.get(type);
        if (list) list.push(r);
        else this.byOp.set(type, [r]);
      }
    }
    this.depth = Math.max(1, ...rules.map((r) => patternDepth(r.pattern)));
  }

  candidates(node: Node): readonly Rule[] {
    return this.byOp.get(node.opType) ?? [];
  }

  concat(other: RuleSet, name = `${this.name}+${other.name}`): RuleSet {
    return new RuleSet(name, [...this.rules, ...other.rules]);
  }
}

export type { OpsetId };
