// The one driver that applies rules. A sweep matches rules against the frozen graph (no drafts, no proxies),
// collects non-overlapping edits, and applies all of them in ONE immer `produce`; later sweeps revisit only
// the nodes near what changed (a worklist) until nothing fires. A rule set that keeps firing is an error.
import { castDraft, produce } from 'immer';
import './immer-setup.js';
import type { Graph, Model, Node } from '../ir/model.js';
import { hasSubgraphs, opsetVersion } from '../ir/model.js';
import { constantOf, graphIndex, type GraphIndex } from '../ir/analysis.js';
import { makeNode } from '../ir/builder.js';
import type { Tensor } from '../ir/tensor.js';
import { type Match, matchPattern } from './pattern.js';
import type { Replacement, RewriteBuilder, Rule, RuleContext, RuleSet } from './rule.js';
import { renameCaptured, valueNames } from './rename.js';
import { typesOf } from './type-oracle.js';
import { mapChildGraphs } from './subgraphs.js';
import type { TensorType } from '../ir/types.js';

export class RewriteLoopError extends Error {}
export class RewriteError extends Error {}

export interface DriverOptions {
  /** Sweeps before the driver gives up with RewriteLoopError (default 100). */
  readonly maxSweeps?: number;
  /** Called when a pattern matched but `check` refused, with its reason (a tracer for near-misses). */
  readonly onMiss?: (rule: Rule, node: Node, reason: string) => void;
}

export interface RewriteStats {
  sweeps: number;
  /** Times each rule fired. */
  readonly applied: Map<string, number>;
}

const provenance = new WeakMap<Node, string>();

/** The rule that created `node`, if a rule did (for IR dumps and debugging). */
export function provenanceOf(node: Node): string | undefined {
  return provenance.get(node);
}

interface Edit {
  readonly rule: Rule;
  readonly match: Match;
  readonly replacement: Replacement;
}

type ModelHeader = Pick<Model, 'irVersion' | 'opsetImport'>;
/** Types of the values a subgraph can capture from its enclosing scopes. */
type OuterTypes = ReadonlyMap<string, TensorType>;

function ruleContext(graph: Graph, model: ModelHeader, index: GraphIndex, outer?: OuterTypes): RuleContext {
  return {
    graph, model,
    constant: (name) => constantOf(graph, name, model.irVersion),
    consumers: (name) => index.consumers.get(name) ?? [],
    isGraphOutput: (name) => index.graphOutputs.has(name),
    typeOf: (name) => typesOf(graph, model, outer).get(name) ?? outer?.get(name),
    opset: (domain = '') => opsetVersion(model, domain),
  };
}

/** Names in use: the graph's (cached per graph) plus those handed out during this sweep. */
class Names {
  private readonly created = new Set<string>();
  constructor(private readonly existing: ReadonlySet<string>) {}
  has(name: string): boolean { return this.existing.has(name) || this.created.has(name); }
  add(name: string): void { this.created.add(name); }
}

class Builder implements RewriteBuilder {
  readonly initializers = new Map<string, Tensor>();
  private counter = 0;
  constructor(private readonly taken: Names, private readonly rule: Rule, private readonly root: Node) {}

  fresh(hint: string): string {
    let name = hint;
    while (this.taken.has(name)) name = `${hint}_${++this.counter}`;
    this.taken.add(name);
    return name;
  }

  node(opType: string, inputs: readonly string[], attrs = {}, options: { outputs?: readonly string[] | number; domain?: string; name?: string } = {}) {
    const name = this.fresh(options.name ?? `${this.root.name || this.root.opType}/${opType}`);
    const outs = options.outputs;
    const outputs = Array.isArray(outs) ? [...outs] : Array.from({ length: (outs as number | undefined) ?? 1 }, (_, i) => this.fresh(`${name}_out${i}`));
    const node = makeNode(opType, inputs, outputs, attrs, { name, domain: options.domain });
    provenance.set(node, this.rule.name);
    return { node, outputs };
  }

  constant(tensor: Tensor, hint: string): string {
    const name = this.fresh(hint);
    this.initializers.set(name, tensor);
    return name;
  }
}

/** Applies `rules` to a fixed point on the main graph and every subgraph. */
export function applyRules(model: Model, rules: RuleSet, options: DriverOptions = {}): { model: Model; stats: RewriteStats } {
  const stats: RewriteStats = { sweeps: 0, applied: new Map() };
  const graph = rewriteGraph(model.graph, rules, model, options, stats);
  return { model: graph === model.graph ? model : produce(model, (d) => { d.graph = castDraft(graph); }), stats };
}

export function rewriteGraph(graph: Graph, rules: RuleSet, model: ModelHeader, options: DriverOptions, stats: RewriteStats, outer?: OuterTypes): Graph {
  let g = rewriteSubgraphs(graph, rules, model, options, stats, outer);
  const maxSweeps = options.maxSweeps ?? 100;
  let worklist: readonly Node[] = g.nodes;
  for (let sweep = 1; ; sweep++) {
    const index = graphIndex(g);
    const ctx = ruleContext(g, model, index, outer);
    const taken = new Names(valueNames(g));
    const claimed = new Set<Node>();
    const edits: Edit[] = [];
    for (const node of worklist) {
      if (claimed.has(node)) continue;
      for (const rule of rules.candidates(node)) {
        const match = matchPattern(rule.pattern, node, { graph: g, irVersion: model.irVersion });
        if (!match || match.covered.some((n) => claimed.has(n))) continue;
        const verdict = rule.check ? rule.check(match, ctx) : true;
        if (verdict !== true) { options.onMiss?.(rule, node, verdict); continue; }
        const builder = new Builder(taken, rule, node);
        const replacement = rule.rewrite(match, builder, ctx);
        const merged = builder.initializers.size
          ? { ...replacement, initializers: new Map([...(replacement.initializers ?? []), ...builder.initializers]) }
          : replacement;
        if (merged.subsumes?.some((n) => claimed.has(n))) continue;
        checkReplacement(rule, match, merged, index);
        for (const n of [...match.covered, ...(merged.subsumes ?? [])]) claimed.add(n);
        edits.push({ rule, match, replacement: merged });
        break;
      }
    }
    if (edits.length === 0) return g;
    stats.sweeps++;
    for (const e of edits) stats.applied.set(e.rule.name, (stats.applied.get(e.rule.name) ?? 0) + 1);
    if (sweep >= maxSweeps) {
      const firing = [...new Set(edits.map((e) => e.rule.name))].join(', ');
      throw new RewriteLoopError(`rule set '${rules.name}' still changes the graph after ${maxSweeps} sweeps (firing: ${firing}); its rules undo each other or grow the graph`);
    }
    const { graph: next, touched, dirtyValues } = applyEdits(g, edits, index);
    g = next;
    worklist = revisit(g, touched, dirtyValues, rules.depth);
  }
}

/** Rewrites inside If/Loop/Scan bodies first, giving them the types of the values they capture. */
function rewriteSubgraphs(graph: Graph, rules: RuleSet, model: ModelHeader, options: DriverOptions, stats: RewriteStats, outer?: OuterTypes): Graph {
  if (!graph.nodes.some(hasSubgraphs)) return graph;
  const scope: OuterTypes = new Map([...(outer ?? []), ...typesOf(graph, model, outer)]);
  return mapChildGraphs(graph, (g) => rewriteGraph(g, rules, model, options, stats, scope));
}

function checkReplacement(rule: Rule, match: Match, r: Replacement, index: GraphIndex): void {
  const produced = new Set([...(r.nodes ?? []).flatMap((n) => n.outputs), ...(r.initializers?.keys() ?? [])]);
  for (const out of match.root.outputs) {
    if (out === '' || produced.has(out) || r.replace?.[out] !== undefined) continue;
    if ((index.consumers.get(out)?.length ?? 0) > 0 || index.graphOutputs.has(out)) {
      throw new RewriteError(`rule ${rule.name} removed '${out}' (output of ${match.root.opType} '${match.root.name}') without replacing it`);
    }
  }
  for (const from of Object.keys(r.replace ?? {})) {
    if (index.graphOutputs.has(from)) {
      throw new RewriteError(`rule ${rule.name} tried to re-route graph output '${from}'; graph outputs keep their names — check for this in the rule`);
    }
  }
}

/** All edits of a sweep in one produce. Returns the new graph and the nodes to revisit. */
function applyEdits(g: Graph, edits: readonly Edit[], index: GraphIndex): { graph: Graph; touched: Set<Node>; dirtyValues: Set<string> } {
  const rename = new Map<string, string>();
  const removed = new Set<Node>();
  const inserted = new Map<Node, readonly Node[]>();
  const initializers = new Map<string, Tensor>();
  for (const { match, replacement } of edits) {
    removed.add(match.root);
    inserted.set(match.root, replacement.nodes ?? []);
    for (const [from, to] of Object.entries(replacement.replace ?? {})) rename.set(from, to);
    for (const [name, t] of replacement.initializers ?? []) initializers.set(name, t);
  }
  for (const [from, to] of rename) {
    let target = to;
    for (let hops = 0; rename.has(target) && hops < rename.size; hops++) target = rename.get(target)!;
    rename.set(from, target);
  }
  // Covered producers die with the root when nothing else reads them.
  for (const { match, replacement } of edits) {
    const candidates = [...match.covered, ...(replacement.subsumes ?? [])];
    let changed = true;
    while (changed) {
      changed = false;
      for (const n of candidates) {
        if (removed.has(n)) continue;
        // Re-routed outputs lose all their readers.
        const dead = n.outputs.every((o) => o === '' || rename.has(o) || (!index.graphOutputs.has(o) && (index.consumers.get(o) ?? []).every((c) => removed.has(c))));
        if (dead) { removed.add(n); changed = true; }
      }
    }
  }
  // Readers of what removed nodes read may now match (e.g. a value that became single-use).
  const dirtyValues = new Set<string>();
  for (const n of removed) for (const i of n.inputs) dirtyValues.add(rename.get(i) ?? i);
  // ... and readers of outputs now defined by initializers (folded constants).
  for (const name of initializers.keys()) dirtyValues.add(name);
  const renamedReaders = new Set<Node>();
  for (const from of rename.keys()) for (const c of index.consumers.get(from) ?? []) if (!removed.has(c)) renamedReaders.add(c);
  const touched = new Set<Node>();
  const nodes: Node[] = [];
  for (const node of g.nodes) {
    if (removed.has(node)) {
      for (const n of inserted.get(node) ?? []) {
        const fresh = renameNode(n, rename);
        if (fresh !== n) provenance.set(fresh, provenance.get(n)!);
        nodes.push(fresh);
        touched.add(fresh);
      }
    } else if (renamedReaders.has(node)) {
      const fresh = renameNode(node, rename);
      nodes.push(fresh);
      touched.add(fresh);
    } else {
      nodes.push(node);
    }
  }
  const graph = produce(g, (d) => {
    d.nodes = castDraft(nodes);
    for (const [name, t] of initializers) (d.initializers as unknown as Map<string, Tensor>).set(name, t);
  });
  return { graph, touched, dirtyValues };
}

function renameNode(node: Node, rename: ReadonlyMap<string, string>): Node {
  if (rename.size === 0) return node;
  const inputs = node.inputs.map((i) => rename.get(i) ?? i);
  const inputsChanged = inputs.some((x, i) => x !== node.inputs[i]);
  const withBodies = renameCaptured(node, rename);
  if (!inputsChanged) return withBodies;
  return { ...withBodies, inputs };
}

/** Nodes that a pattern rooted near a change could now match: the touched nodes and their readers, `depth` levels down. */
function revisit(g: Graph, touched: ReadonlySet<Node>, dirtyValues: ReadonlySet<string>, depth: number): Node[] {
  const index = graphIndex(g);
  const seen = new Set<Node>(touched);
  for (const name of dirtyValues) for (const c of index.consumers.get(name) ?? []) seen.add(c);
  let frontier = [...seen];
  for (let level = 0; level < depth && frontier.length; level++) {
    const next: Node[] = [];
    for (const n of frontier) {
      for (const out of n.outputs) {
        for (const c of index.consumers.get(out) ?? []) if (!seen.has(c)) { seen.add(c); next.push(c); }
      }
    }
    frontier = next;
  }
  return [...seen].filter((n) => index.position.has(n)).sort((a, b) => index.position.get(a)! - index.position.get(b)!);
}

