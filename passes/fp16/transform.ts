// The rewrite. First every graph is planned top-down (bodies see the types their captured values will have) and
// the types each float constant is read in are gathered bottom-up, bodies included. Then one walk per graph
// converts constants once (in place when every reader, in any body, wants float16; else a `_fp16` copy beside the
// original), inserts one Cast per value and type at region boundaries (right before the first reader), patches
// attributes that name FLOAT, and retypes interfaces and value infos. The input graph comes back when nothing changes.
import { castDraft, produce } from 'immer';
import '../../src/rewrite/immer-setup.js';
import type { Attribute, Graph, Model, Node, ValueInfo } from '../../src/ir/model.js';
import { getAttribute, hasSubgraphs, subgraphsOf } from '../../src/ir/model.js';
import { graphIndex } from '../../src/ir/analysis.js';
import { attr, makeNode, makeValueInfo } from '../../src/ir/builder.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { type TensorType, tensorTypeOf } from '../../src/ir/types.js';
import { mapNodeSubgraphs } from '../../src/rewrite/subgraphs.js';
import { typesOf } from '../../src/rewrite/type-oracle.js';
import { type GraphPlan, planGraph, type Settings } from './analysis.js';
import { DTYPE_ATTRIBUTE } from './policy.js';
import { type HalfRange, toFloat16 } from './tensors.js';

const { FLOAT, FLOAT16 } = DataType;

export interface ConvertContext {
  readonly model: Pick<Model, 'irVersion' | 'opsetImport'>;
  readonly settings: Settings;
  readonly range: HalfRange;
  /** A value or node name unused anywhere in the model (subgraphs included). */
  fresh(hint: string): string;
  readonly counts: { fp16Nodes: number; casts: number; constants: number; readonly kept: Map<string, number> };
}

interface Prepared {
  readonly plan: GraphPlan;
  readonly depth: number;
  /** Graph outputs produced here in the other type: the producer writes a fresh name, a Cast writes the output. */
  readonly boundary: ReadonlySet<string>;
  /** Types each float constant is read in, here and in bodies (own constants and captured ones). */
  readonly wants: ReadonlyMap<string, ReadonlySet<DataType>>;
  readonly bodies: ReadonlyMap<Graph, Prepared>;
  /** Types values have after conversion, for bodies. */
  readonly scopeStorage: ReadonlyMap<string, DataType>;
}

const suffix = (t: DataType): string => (t === FLOAT16 ? 'fp16' : 'fp32');

function addWant(wants: Map<string, Set<DataType>>, name: string, t: DataType): void {
  const set = wants.get(name);
  if (set) set.add(t);
  else wants.set(name, new Set([t]));
}

function prepare(graph: Graph, depth: number, outerTypes: ReadonlyMap<string, TensorType>, outerStorage: ReadonlyMap<string, DataType>,
  outerConstants: ReadonlyMap<string, Tensor>, ctx: ConvertContext): Prepared {
  const types = new Map([...outerTypes, ...typesOf(graph, ctx.model, outerTypes.size ? outerTypes : undefined)]);
  const plan = planGraph(graph, { depth, types, outerStorage, outerConstants }, ctx.settings);
  const index = graphIndex(graph);
  const boundary = new Set(graph.outputs.map((o) => o.name).filter((o) =>
    plan.isFloat(o) && index.producer.has(o) && !plan.isConstant(o) && plan.storage.get(o) !== plan.outputType));
  const scopeStorage = new Map(outerStorage);
  for (const [name, t] of plan.storage) scopeStorage.set(name, boundary.has(name) ? plan.outputType : t);
  // Constants visible to bodies: the enclosing ones this graph does not shadow, and its own.
  const defined = new Set([...graph.inputs.map((v) => v.name), ...graph.initializers.keys(), ...index.producer.keys()]);
  const scopeConstants = new Map([...outerConstants].filter(([name]) => !defined.has(name)));
  for (const name of defined) if (plan.isFloat(name) && plan.isConstant(name)) scopeConstants.set(name, plan.constant(name)!);
  const wants = new Map<string, Set<DataType>>();
  const bodies = new Map<Graph, Prepared>();
  for (const o of graph.outputs) if (plan.isFloat(o.name) && plan.isConstant(o.name)) addWant(wants, o.name, plan.outputType);
  for (const n of graph.nodes) {
    n.inputs.forEach((x, i) => { if (plan.isFloat(x) && plan.isConstant(x)) addWant(wants, x, plan.want(n, i)!); });
    for (const body of subgraphsOf(n)) {
      const child = prepare(body, depth + 1, types, scopeStorage, scopeConstants, ctx);
      bodies.set(body, child);
      for (const [name, set] of child.wants) if (scopeConstants.has(name)) for (const t of set) addWant(wants, name, t);
    }
  }
  return { plan, depth, boundary, wants, bodies, scopeStorage };
}

function retype(vi: ValueInfo, elemType: DataType): ValueInfo {
  const tensor = vi.type?.tensor_type as Record<string, unknown> | undefined;
  if (!tensor || tensor.elem_type === elemType) return vi;
  return { ...vi, type: { ...vi.type, tensor_type: { ...tensor, elem_type: elemType } } };
}

/** The node's attributes with FLOAT element types (Cast `to`, `dtype` of the *Like ops, ConstantOfShape `value`) made FLOAT16. */
function retypeAttributes(node: Node, range: HalfRange): Node {
  const name = DTYPE_ATTRIBUTE[node.opType];
  const attributes: Attribute[] = node.attributes.map((a) => {
    if (a.name === name && a.type === 'int' && Number(a.value) === FLOAT) return { ...a, value: FLOAT16 };
    if (node.opType === 'ConstantOfShape' && a.name === 'value' && a.type === 'tensor' && a.value.dataType === FLOAT) return { ...a, value: toFloat16(a.value, range) };
    return a;
  });
  // ConstantOfShape without a value makes float32 zeros.
  if (node.opType === 'ConstantOfShape' && !getAttribute(node, 'value')) attributes.push({ name: 'value', ...attr.tensor(Tensor.fromArray(FLOAT16, [1], new Uint16Array(1))) });
  return attributes.length === node.attributes.length && attributes.every((a, i) => a === node.attributes[i]) ? node : { ...node, attributes };
}

/** Converts the model's main graph (and, through it, every body). */
export function convertMainGraph(graph: Graph, ctx: ConvertContext): Graph {
  return convert(graph, prepare(graph, 0, new Map(), new Map(), new Map(), ctx), new Map(), ctx);
}

/** `halfOf`: where the float16 version of each enclosing constant lives (its own name when converted in place). */
function convert(graph: Graph, prep: Prepared, halfOf: ReadonlyMap<string, string>, ctx: ConvertContext): Graph {
  const { plan, boundary, depth } = prep;
  const irVersion = ctx.settings.irVersion;
  let changed = false;

  // Own constants: converted in place when nobody reads float32, else a copy for the float16 readers.
  const initializers = new Map(graph.initializers);
  const { producer } = graphIndex(graph);
  const shadowed = new Set([...graph.inputs.map((v) => v.name), ...graph.initializers.keys(), ...producer.keys()]);
  const half = new Map([...halfOf].filter(([name]) => !shadowed.has(name)));
  const own = (name: string): boolean => graph.initializers.has(name) || producer.get(name)?.opType === 'Constant';
  const inPlace = new Set<string>();
  const addedInputs: ValueInfo[] = [];
  for (const [name, wanted] of prep.wants) {
    const t = plan.constant(name);
    if (!wanted.has(FLOAT16) || !t || !own(name)) continue;
    const converted = toFloat16(t, ctx.range);
    ctx.counts.constants++;
    changed = true;
    if (!wanted.has(FLOAT)) {
      inPlace.add(name);
      half.set(name, name);
      if (graph.initializers.has(name)) initializers.set(name, converted);
      continue;
    }
    const copy = ctx.fresh(`${name}_fp16`);
    half.set(name, copy);
    initializers.set(copy, converted);
    if (irVersion < 4) addedInputs.push(makeValueInfo(copy, FLOAT16, converted.dims)); // IR < 4 lists every initializer as an input
  }

  const typeNow = (name: string): DataType => (plan.isConstant(name) ? (half.get(name) === name ? FLOAT16 : FLOAT) : prep.scopeStorage.get(name) ?? FLOAT);
  const alias = new Map<string, string>();
  const castOf = new Map<string, string>();
  const nodes: Node[] = [];
  const cast = (from: string, to: DataType, output?: string): string => {
    const out = output ?? ctx.fresh(`${from}_${suffix(to)}`);
    nodes.push(makeNode('Cast', [from], [out], { to }, { name: ctx.fresh(`${out}/Cast`) }));
    castOf.set(`${from}\0${to}`, out);
    ctx.counts.casts++;
    changed = true;
    return out;
  };
  const read = (name: string, want: DataType): string => {
    if (plan.isConstant(name)) return want === FLOAT16 ? half.get(name) ?? name : name;
    const actual = alias.get(name) ?? name;
    const now = boundary.has(name) ? plan.storage.get(name)! : typeNow(name);
    if (now === want) return actual;
    return castOf.get(`${actual}\0${want}`) ?? cast(actual, want);
  };

  for (const node of graph.nodes) {
    if (node.opType === 'Constant' && inPlace.has(node.outputs[0])) {
      nodes.push({ ...node, attributes: [{ name: 'value', ...attr.tensor(toFloat16(plan.constant(node.outputs[0])!, ctx.range)) }] });
      continue;
    }
    const inputs = node.inputs.map((x, i) => {
      const want = plan.want(node, i);
      return want === undefined ? x : read(x, want);
    });
    let next: Node = inputs.every((x, i) => x === node.inputs[i]) ? node : { ...node, inputs };
    if (plan.fp16.has(node)) {
      // A float→float Cast is now float16→float16: an Identity (onnxruntime 1.30 mis-types a float16→float16
      // Cast between two nodes it runs in float32: "InsertedPrecisionFreeCast ... does not match").
      next = node.opType === 'Cast' && plan.isFloat(node.inputs[0]) && plan.isFloat(node.outputs[0])
        ? { ...next, opType: 'Identity', attributes: [] }
        : retypeAttributes(next, ctx.range);
      ctx.counts.fp16Nodes++;
    }
    const why = plan.kept.get(node);
    if (why) ctx.counts.kept.set(why, (ctx.counts.kept.get(why) ?? 0) + 1);
    if (hasSubgraphs(node)) next = mapNodeSubgraphs(next, (g) => convert(g, prep.bodies.get(g)!, half, ctx));
    const renamed = next.outputs.map((o) => (boundary.has(o) ? ctx.fresh(`${o}_${suffix(plan.storage.get(o)!)}`) : o));
    if (renamed.some((o, k) => o !== next.outputs[k])) next = { ...next, outputs: renamed };
    if (next !== node) changed = true;
    nodes.push(next);
    node.outputs.forEach((o, k) => {
      if (!boundary.has(o)) return;
      alias.set(o, renamed[k]);
      cast(renamed[k], plan.outputType, o);
    });
  }

  // Interfaces: outputs and value infos say the types values now have; inputs convert only under keep_io_types=false.
  const outputs = graph.outputs.map((vi) => {
    if (!plan.isFloat(vi.name)) return vi;
    const t = typeNow(vi.name);
    if (depth === 0 || t === plan.outputType) return retype(vi, t);
    return retype({ ...vi, name: read(vi.name, plan.outputType) }, plan.outputType); // a body's outputs keep their types
  });
  const inputs = graph.inputs.map((vi) => {
    if (!plan.isFloat(vi.name)) return vi;
    const t = typeNow(vi.name);
    const init = graph.initializers.get(vi.name);
    if (init && !plan.isConstant(vi.name) && t === FLOAT16) initializers.set(vi.name, toFloat16(init, ctx.range)); // an input's default
    return retype(vi, t);
  });
  const valueInfo = graph.valueInfo.map((vi) => (tensorTypeOf(vi.type)?.elemType === FLOAT && plan.isFloat(vi.name) ? retype(vi, typeNow(vi.name)) : vi));
  const same = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!changed && same(outputs, graph.outputs) && same(inputs, graph.inputs) && same(valueInfo, graph.valueInfo)) return graph;
  return produce(graph, (d) => {
    d.nodes = castDraft(nodes);
    d.inputs = castDraft([...inputs, ...addedInputs]);
    d.outputs = castDraft(outputs);
    d.valueInfo = castDraft(valueInfo);
    d.initializers = castDraft(initializers);
  });
}
