// Upgrading a model's default-domain opset. Each node crosses the version boundaries of its op between the model's
// opset and the target, oldest first, by the adapter table: compatible boundaries keep the node object, rewrite rules
// replace it with nodes in the new version's form (which go on crossing the later boundaries of their own ops).
// Bodies of If/Loop/Scan are upgraded first, with the types of the values they capture. Anything the table cannot
// carry across exactly is collected and reported as one error; nothing is bumped silently.
import { castDraft, produce } from 'immer';
import '../../src/rewrite/immer-setup.js';
import type { Graph, Model, Node, OpsetId } from '../../src/ir/model.js';
import { hasSubgraphs, opsetVersion, subgraphsOf } from '../../src/ir/model.js';
import { constantOf, graphIndex } from '../../src/ir/analysis.js';
import { makeNode, type AttributeInput } from '../../src/ir/builder.js';
import type { Tensor } from '../../src/ir/tensor.js';
import type { TensorType } from '../../src/ir/types.js';
import { matchPattern } from '../../src/rewrite/pattern.js';
import type { RewriteBuilder, Rule, RuleContext } from '../../src/rewrite/rule.js';
import { mapChildGraphs } from '../../src/rewrite/subgraphs.js';
import { typesOf } from '../../src/rewrite/type-oracle.js';
import { freshNamer, valueNames } from '../../src/rewrite/rename.js';
import { ADAPTERS } from './adapters.js';
import { DEPRECATED_AT, OP_VERSIONS, minIrVersion, sinceVersion } from './versions.js';

/** The model needs a boundary the adapter table cannot cross exactly (or it is not a valid model of its opset). */
export class OpsetUpgradeError extends Error {
  constructor(readonly problems: readonly string[], from: number, target: number) {
    const shown = problems.slice(0, 4).join('; ');
    super(`opset: cannot upgrade opset ${from} to ${target}: ${shown}${problems.length > 4 ? ` (and ${problems.length - 4} more)` : ''}`);
  }
}

export interface UpgradeOptions {
  /** Cross boundaries where onnxruntime's new kernel rounds differently (same semantics; outputs allclose, not bitwise). */
  readonly allowKernelRounding?: boolean;
  /** Called when a rule's check refuses a node (the reason also goes into the error). */
  readonly onMiss?: (rule: Rule, node: Node, reason: string) => void;
}

export interface UpgradeReport {
  readonly model: Model;
  /** The default-domain opset before (undefined: the model imports none). */
  readonly from: number | undefined;
  /** Times each rule rewrote a node. */
  readonly fired: ReadonlyMap<string, number>;
  /** Node boundary crossings that needed no change. */
  readonly bumped: number;
  /** Crossings onto a kernel that rounds differently (only with allowKernelRounding). */
  readonly rounded: number;
}

const isDefaultDomain = (d: string): boolean => d === '' || d === 'ai.onnx';

type OuterTypes = () => ReadonlyMap<string, TensorType>;

interface Session {
  readonly from: number;
  readonly target: number;
  readonly header: Pick<Model, 'irVersion' | 'opsetImport'>;
  readonly taken: Set<string>;
  readonly problems: string[];
  readonly seen: Set<string>;
  readonly fired: Map<string, number>;
  bumped: number;
  rounded: number;
  created: number;
  readonly options: UpgradeOptions;
}

/** Fresh names for one graph's rewrites; new constants go to that graph's initializers. */
class StepBuilder implements RewriteBuilder {
  readonly fresh: (hint: string) => string;

  constructor(taken: Set<string>, private readonly created: Map<string, Tensor>, private readonly root: Node) {
    this.fresh = freshNamer(taken);
  }

  node(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttributeInput>> = {},
    options: { outputs?: readonly string[] | number; domain?: string; name?: string } = {}): { node: Node; outputs: string[] } {
    const name = this.fresh(options.name ?? `${this.root.name || this.root.opType}/${opType}`);
    const outs = options.outputs;
    const outputs = Array.isArray(outs) ? [...outs] : Array.from({ length: (outs as number | undefined) ?? 1 }, (_, i) => this.fresh(`${name}_out${i}`));
    return { node: makeNode(opType, inputs, outputs, attrs, { name, domain: options.domain }), outputs };
  }

  constant(tensor: Tensor, hint: string): string {
    const name = this.fresh(hint);
    this.created.set(name, tensor);
    return name;
  }
}

function problem(s: Session, text: string): void {
  if (s.seen.has(text)) return;
  s.seen.add(text);
  s.problems.push(text);
}

const describe = (n: Node): string => (n.name ? `${n.opType} '${n.name}'` : n.opType);

/** Every node and value name in the model (fresh names must not shadow anything, in any scope). */
function allNames(model: Model): Set<string> {
  const names = new Set(valueNames(model.graph));
  const visit = (g: Graph): void => {
    for (const n of g.nodes) {
      if (n.name) names.add(n.name);
      for (const s of subgraphsOf(n)) visit(s);
    }
  };
  visit(model.graph);
  return names;
}

function upgradeGraph(graph: Graph, s: Session, outer?: OuterTypes): Graph {
  let types: ReadonlyMap<string, TensorType> | undefined;
  // Inference runs on the graph as it was (the old opset's semantics), and only if a rule asks for a type.
  const localTypes = (): ReadonlyMap<string, TensorType> => (types ??= typesOf(graph, s.header, outer?.()));
  let scope: ReadonlyMap<string, TensorType> | undefined;
  const scopeTypes: OuterTypes = () => (scope ??= new Map([...(outer?.() ?? []), ...localTypes()]));
  const withBodies = graph.nodes.some(hasSubgraphs) ? mapChildGraphs(graph, (g) => upgradeGraph(g, s, scopeTypes)) : graph;

  const index = graphIndex(graph);
  const created = new Map<string, Tensor>();
  const ctxAt = (opset: number): RuleContext => ({
    graph,
    model: { irVersion: s.header.irVersion, opsetImport: [{ domain: '', version: opset }] },
    constant: (name) => created.get(name) ?? constantOf(graph, name, s.header.irVersion),
    consumers: (name) => index.consumers.get(name) ?? [],
    isGraphOutput: (name) => index.graphOutputs.has(name),
    typeOf: (name) => localTypes().get(name) ?? outer?.().get(name),
    opset: (domain = '') => (isDefaultDomain(domain) ? opset : opsetVersion(s.header, domain)),
  });

  /** `node`, whose schema is its op's version in effect at opset `at`, carried across the boundaries up to the target. */
  const upgradeNode = (node: Node, at: number): Node[] => {
    const op = node.opType;
    const versions = OP_VERSIONS[op];
    if (!versions) { problem(s, `${describe(node)}: ${op} is not an operator of the default ONNX domain`); return [node]; }
    const deprecated = DEPRECATED_AT[op];
    const next = deprecated !== undefined && at >= deprecated ? deprecated : versions.find((v) => v > at && v <= s.target);
    if (next === undefined) return [node];
    const left = sinceVersion(op, next - 1);
    const where = `${op}-${left} → ${op}-${next} (${describe(node)})`;
    const step = ADAPTERS[op]?.[next];
    if (!step) { problem(s, `${where}: no adapter for this version change`); return [node]; }
    switch (step.kind) {
      case 'refuse':
        problem(s, `${where}: ${step.why}`);
        return [node];
      case 'rounding':
        if (step.applies(node)) {
          if (!s.options.allowKernelRounding) { problem(s, `${where}: ${step.why} (allow_kernel_rounding accepts that, with an allclose contract)`); return [node]; }
          s.rounded++;
        } else {
          s.bumped++;
        }
        return upgradeNode(node, next);
      case 'compatible': {
        const why = step.unless?.(node);
        if (why) { problem(s, `${where}: ${why}`); return [node]; }
        s.bumped++;
        return upgradeNode(node, next);
      }
      case 'rewrite': {
        const { rule } = step;
        const m = matchPattern(rule.pattern, node, { graph, irVersion: s.header.irVersion });
        if (!m) throw new Error(`adapter table: rule ${rule.name} does not apply to ${op} (crossing ${left} → ${next})`);
        const ctx = ctxAt(next - 1);
        const verdict = rule.check ? rule.check(m, ctx) : true;
        if (verdict !== true) {
          s.options.onMiss?.(rule, node, verdict);
          problem(s, `${where}: ${verdict}`);
          return [node];
        }
        const r = rule.rewrite(m, new StepBuilder(s.taken, created, node), ctx);
        if (r.replace && Object.keys(r.replace).length) throw new Error(`rule ${rule.name} re-routes values; opset rules must keep their outputs`);
        for (const [name, t] of r.initializers ?? []) created.set(name, t);
        const nodes = r.nodes ?? [];
        const produced = new Set(nodes.flatMap((n) => n.outputs));
        const lost = node.outputs.find((o) => o !== '' && !produced.has(o) && (index.consumers.has(o) || index.graphOutputs.has(o)));
        if (lost !== undefined) throw new Error(`rule ${rule.name} dropped the output '${lost}' of ${describe(node)}`);
        if (nodes.length !== 1 || nodes[0] !== node) s.fired.set(rule.name, (s.fired.get(rule.name) ?? 0) + 1);
        return nodes.flatMap((n) => upgradeNode(n, next));
      }
    }
  };

  const nodes: Node[] = [];
  let changed = false;
  for (const node of withBodies.nodes) {
    if (!isDefaultDomain(node.domain)) { nodes.push(node); continue; }
    if (sinceVersion(node.opType, s.from) === undefined && OP_VERSIONS[node.opType]) {
      problem(s, `${describe(node)}: ${node.opType} does not exist in opset ${s.from}`);
      nodes.push(node);
      continue;
    }
    const out = upgradeNode(node, s.from);
    if (out.length !== 1 || out[0] !== node) changed = true;
    nodes.push(...out);
  }
  s.created += created.size;
  if (!changed && created.size === 0) return withBodies;
  // Outputs a rule dropped (unused training outputs, old Dropout masks) lose their stale annotations.
  const defined = new Set([...withBodies.inputs.map((v) => v.name), ...withBodies.initializers.keys(), ...created.keys(), ...nodes.flatMap((n) => n.outputs)]);
  const valueInfo = withBodies.valueInfo.filter((vi) => defined.has(vi.name));
  return produce(withBodies, (d) => {
    d.nodes = castDraft(nodes);
    if (valueInfo.length !== withBodies.valueInfo.length) d.valueInfo = castDraft(valueInfo);
    for (const [name, t] of created) (d.initializers as unknown as Map<string, Tensor>).set(name, t);
  });
}

/** The model with its default-domain opset raised to `target` (the same object when it already is at or above it). */
export function upgradeOpset(model: Model, target: number, options: UpgradeOptions = {}): UpgradeReport {
  const from = opsetVersion(model, '');
  const unchanged: UpgradeReport = { model, from, fired: new Map(), bumped: 0, rounded: 0 };
  if (from === undefined || from >= target) return unchanged;
  const s: Session = {
    from, target, header: model, taken: allNames(model), problems: [], seen: new Set(), fired: new Map(), bumped: 0, rounded: 0, created: 0, options,
  };
  for (const f of model.functions) {
    const v = f.opsetImport.find((o) => isDefaultDomain(o.domain))?.version;
    if (v !== undefined && v < target) problem(s, `model-local function ${f.domain}.${f.name} imports opset ${v}: function bodies are not upgraded`);
  }
  const graph = upgradeGraph(model.graph, s);
  if (s.problems.length) throw new OpsetUpgradeError(s.problems, from, target);

  const oldIr = Number(model.irVersion);
  // New constants are initializers; before IR 4 each would also have to be listed as a graph input.
  const ir = Math.max(oldIr, minIrVersion(target), s.created > 0 ? 4 : 0);
  // Before IR 4 every initializer had to be a graph input too; from IR 4 such an input would make it an overridable
  // default. They were constants, so they stop being inputs.
  const inputs = oldIr < 4 && ir >= 4 ? graph.inputs.filter((v) => !graph.initializers.has(v.name)) : graph.inputs;
  const opsetImport: OpsetId[] = model.opsetImport.map((o) => (isDefaultDomain(o.domain) ? { ...o, version: target } : o));
  const upgraded = produce(model, (d) => {
    d.opsetImport = castDraft(opsetImport);
    if (ir !== oldIr) d.irVersion = typeof model.irVersion === 'bigint' ? BigInt(ir) : ir;
    d.graph = castDraft(inputs === graph.inputs ? graph : { ...graph, inputs });
  });
  return { model: upgraded, from, fired: s.fired, bumped: s.bumped, rounded: s.rounded };
}
