// Which nodes of one graph run in float16, from the element types inference gives every value. A node converts
// unless something keeps it float32 (a static reason: block lists, kernels, shape arithmetic, variance chains,
// control flow). Movement ops and ops without float outputs follow the type their data already has; nodes fed only
// by constants or non-float values decide by what their readers need.
import type { Graph, Node } from '../../src/ir/model.js';
import { hasSubgraphs } from '../../src/ir/model.js';
import { constantOf, graphIndex } from '../../src/ir/analysis.js';
import { DataType } from '../../src/ir/dtype.js';
import type { TensorType } from '../../src/ir/types.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { DTYPE_ATTRIBUTE, FLOAT32_INPUTS, FLOAT32_OUTPUTS, MOVEMENT_OPS, ORT_FLOAT16_SINCE, TYPE_AGNOSTIC } from './policy.js';
import { shapeArithmetic, varianceChains } from './regions.js';

export interface Settings {
  readonly keepIoTypes: boolean;
  readonly opBlockList: ReadonlySet<string>;
  readonly nodeBlocked: (node: Node) => boolean;
  /** Default-domain opset of the model. */
  readonly opset: number;
  readonly irVersion: number;
  /** Largest magnitude constants keep; beyond it they clamp (see tensors.ts). */
  readonly maxFinite: number;
}

export interface Scope {
  readonly depth: number;
  /** Element types as inference gives them, captured values included. */
  readonly types: ReadonlyMap<string, TensorType>;
  /** Types that captured values have after conversion. */
  readonly outerStorage: ReadonlyMap<string, DataType>;
  /** Float constants of enclosing graphs (bodies read them in either type, like their own). */
  readonly outerConstants: ReadonlyMap<string, Tensor>;
}

export interface GraphPlan {
  readonly fp16: ReadonlySet<Node>;
  /** Why nodes that touch float32 values stay float32. */
  readonly kept: ReadonlyMap<Node, string>;
  /** Type each non-constant float32 value has after conversion. */
  readonly storage: ReadonlyMap<string, DataType>;
  /** Type a float32 value a graph output names must have after conversion. */
  readonly outputType: DataType;
  isFloat(name: string): boolean;
  /** An initializer (not an overridable input) or a Constant node output, here or in an enclosing graph. */
  isConstant(name: string): boolean;
  constant(name: string): Tensor | undefined;
  /** Type `node` must read at input `i`; undefined where it reads no float32 value. */
  want(node: Node, i: number): DataType | undefined;
}

const { FLOAT, FLOAT16 } = DataType;

/** Ops for which a constant clamped to ±max_finite_val still means "effectively infinite" (masks, bounds, padding). */
const CLAMP_SAFE = new Set(['Add', 'Sub', 'Where', 'Max', 'Min', 'Clip', 'Pad']);
const beyondCache = new WeakMap<Tensor, Map<number, boolean>>();

function beyondRange(t: Tensor, maxFinite: number): boolean {
  let byMax = beyondCache.get(t);
  if (!byMax) beyondCache.set(t, (byMax = new Map()));
  let hit = byMax.get(maxFinite);
  if (hit === undefined) byMax.set(maxFinite, (hit = t.toFloat32().some((x) => Number.isFinite(x) && Math.abs(x) > maxFinite)));
  return hit;
}

export function planGraph(graph: Graph, scope: Scope, settings: Settings): GraphPlan {
  const index = graphIndex(graph);
  const type = (name: string): DataType | undefined => scope.types.get(name)?.elemType;
  const isFloat = (name: string): boolean => name !== '' && type(name) === FLOAT;
  const local = new Set([...graph.inputs.map((v) => v.name), ...graph.initializers.keys(), ...index.producer.keys()]);
  const constant = (name: string): Tensor | undefined =>
    constantOf(graph, name, settings.irVersion) ?? (local.has(name) ? undefined : scope.outerConstants.get(name));
  const isConstant = (name: string): boolean => constant(name) !== undefined;
  const outputType = scope.depth === 0 && !settings.keepIoTypes ? FLOAT16 : FLOAT;
  const shapeMath = shapeArithmetic(graph, constant);
  const variance = varianceChains(graph, index, constant);
  const dataInputs = (n: Node): number[] =>
    n.inputs.flatMap((x, i) => (isFloat(x) && !FLOAT32_INPUTS[n.opType]?.includes(i) ? [i] : []));

  /** null: touches no float32 value; a string: why it stays float32; undefined: free to convert. */
  function staticReason(n: Node): string | null | undefined {
    const floats = dataInputs(n).length > 0 || n.outputs.some(isFloat);
    if ((!floats && !hasSubgraphs(n)) || TYPE_AGNOSTIC.has(n.opType) || (n.opType === 'Constant' && isConstant(n.outputs[0]))) return null;
    if (hasSubgraphs(n)) return 'control flow (bodies convert inside, the boundary stays float32)';
    if ([...n.inputs, ...n.outputs].some((x) => x !== '' && (type(x) ?? DataType.UNDEFINED) === DataType.UNDEFINED)) return 'element types unknown';
    if (n.domain !== '' && n.domain !== 'ai.onnx') return `domain ${n.domain}`;
    const since = ORT_FLOAT16_SINCE.get(n.opType);
    if (since === undefined) return 'no float16 kernel';
    if (settings.opset < since) return `float16 needs opset ${since}`;
    if (settings.opBlockList.has(n.opType)) return 'op_block_list';
    if (settings.nodeBlocked(n)) return 'node_block_list';
    if (shapeMath.has(n)) return 'shape arithmetic';
    if (variance.has(n)) return 'squares of large values';
    if (!CLAMP_SAFE.has(n.opType) && dataInputs(n).some((i) => { const t = constant(n.inputs[i]); return !!t && beyondRange(t, settings.maxFinite); })) {
      return 'constant beyond float16 range';
    }
    const retypable = n.opType in DTYPE_ATTRIBUTE || n.opType === 'ConstantOfShape';
    if (dataInputs(n).length === 0 && n.outputs.some(isFloat) && !retypable) return 'output type fixed';
    return undefined;
  }

  const reasons = new Map<Node, string | null | undefined>(graph.nodes.map((n) => [n, staticReason(n)]));
  const storage = new Map<string, DataType>();
  for (const v of graph.inputs) if (isFloat(v.name) && !isConstant(v.name)) storage.set(v.name, outputType);
  const storageOf = (name: string): DataType => storage.get(name) ?? scope.outerStorage.get(name) ?? FLOAT;

  /** Uses of `n`'s float outputs, each true when it needs float32 (blocked, a parameter input, a capture, an interface). */
  const float32Uses = (n: Node): boolean[] => n.outputs.filter(isFloat).flatMap((o) => [
    ...(index.graphOutputs.has(o) ? [outputType === FLOAT] : []),
    ...(index.consumers.get(o) ?? []).map((c) => typeof reasons.get(c) === 'string' ||
      !c.inputs.some((x, i) => x === o && !FLOAT32_INPUTS[c.opType]?.includes(i))),
  ]);

  const fp16 = new Set<Node>();
  const kept = new Map<Node, string>();
  for (const n of graph.nodes) {
    const reason = reasons.get(n);
    if (reason === null) continue;
    let half: boolean;
    if (reason !== undefined) {
      kept.set(n, reason);
      half = false;
    } else {
      const live = dataInputs(n).map((i) => n.inputs[i]).filter((x) => !isConstant(x));
      const follows = MOVEMENT_OPS.has(n.opType) || !n.outputs.some(isFloat);
      if (follows && live.length) half = live.some((x) => storageOf(x) === FLOAT16);
      // From constants (an embedding lookup): float16 like the weights, unless every use wants float32.
      else if (follows && dataInputs(n).length) half = !float32Uses(n).every(Boolean);
      // From non-float values (Cast from int64, ConstantOfShape): float16 only if no use wants float32, since a
      // round trip through float16 would round the values a float32 reader gets (2049 → 2048).
      else if (dataInputs(n).length === 0) half = !float32Uses(n).some(Boolean);
      else half = true;
      if (half) fp16.add(n);
      else kept.set(n, 'its data is float32');
    }
    n.outputs.forEach((o, k) => {
      if (isFloat(o)) storage.set(o, half && !FLOAT32_OUTPUTS[n.opType]?.includes(k) ? FLOAT16 : FLOAT);
    });
  }

  return {
    fp16, kept, storage, outputType, isFloat, isConstant, constant,
    want: (n, i) => {
      if (!isFloat(n.inputs[i]) || TYPE_AGNOSTIC.has(n.opType)) return undefined;
      return fp16.has(n) && !FLOAT32_INPUTS[n.opType]?.includes(i) ? FLOAT16 : FLOAT;
    },
  };
}
