// Graph surgery shared by the QAT conversion (qat-fake.ts) and export (qat-export.ts): new nodes placed right ahead
// of the node that first needs them (so the node list stays topological), nodes dropped or replaced, inputs renamed,
// initializers set or deleted — all in one produce, then dead code (the tensors nothing reads any more) removed.
import { castDraft, produce } from 'immer';
import '../../src/rewrite/immer-setup.js';
import type { Model, Node } from '../../src/ir/model.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { makeNode, type AttributeInput } from '../../src/ir/builder.js';
import { removeDeadCode } from '../../src/rewrite/dead-code.js';
import { freshNamer, valueNames } from '../../src/rewrite/rename.js';

export class GraphEdits {
  private readonly before = new Map<Node, Node[]>();
  private readonly replaced = new Map<Node, Node | null>();
  /** Inputs of every kept node read through this map (aliases: one value standing in for another). */
  readonly rename = new Map<string, string>();
  readonly setInit = new Map<string, Tensor>();
  readonly deleteInit = new Set<string>();
  /** A fresh value or node name (both share one namespace here). */
  readonly fresh: (hint: string) => string;

  constructor(readonly model: Model, private readonly tag: string) {
    this.fresh = freshNamer(new Set([...valueNames(model.graph), ...model.graph.nodes.map((n) => n.name)]));
  }

  /** A node placed ahead of `anchor`; returns its output name (`output`, or a fresh one). */
  insert(anchor: Node, opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttributeInput>> = {}, output?: string): string {
    const name = this.fresh(`${this.tag}${opType}`);
    const out = output ?? this.fresh(`${name}_out`);
    const list = this.before.get(anchor) ?? [];
    list.push(makeNode(opType, inputs, [out], attrs, { name }));
    this.before.set(anchor, list);
    return out;
  }

  constant(hint: string, t: Tensor): string {
    const name = this.fresh(hint);
    this.setInit.set(name, t);
    return name;
  }

  drop(node: Node): void {
    this.replaced.set(node, null);
  }

  replace(node: Node, next: Node): void {
    this.replaced.set(node, next);
  }

  apply(): Model {
    const resolve = (v: string): string => {
      for (let seen = 0; this.rename.has(v) && seen < 64; seen++) v = this.rename.get(v)!;
      return v;
    };
    const nodes: Node[] = [];
    for (const node of this.model.graph.nodes) {
      for (const n of this.before.get(node) ?? []) nodes.push(n);
      const kept = this.replaced.has(node) ? this.replaced.get(node) : node;
      if (!kept) continue;
      nodes.push(kept.inputs.some((i) => this.rename.has(i)) ? { ...kept, inputs: kept.inputs.map(resolve) } : kept);
    }
    const outputs = this.model.graph.outputs.map((o) => o.name);
    if (outputs.some((o) => this.rename.has(o))) throw new Error('qat: a graph output cannot be renamed');
    const next = produce(this.model, (d) => {
      d.graph.nodes = castDraft(nodes);
      const inits = d.graph.initializers as unknown as Map<string, Tensor>;
      for (const name of this.deleteInit) inits.delete(name);
      for (const [name, t] of this.setInit) inits.set(name, t);
    });
    return removeDeadCode(next);
  }
}
