// Reverse-mode differentiation of an ONNX graph: appends the backward graph of `loss` with respect to `wrt` (graph
// inputs or initializers) and exposes one gradient output per wrt value. Only nodes on a path from some wrt value
// to the loss are differentiated, so constant masks and shape arithmetic need no rule; gradients of values read by
// several nodes are summed. All additions go through one GraphExtension, applied in one produce.
import { castDraft, produce } from 'immer';
import type { Model, Node } from '../../src/ir/model.js';
import { graphIndex, usesOf } from '../../src/ir/analysis.js';
import type { TensorType } from '../../src/ir/types.js';
import { DataType, isFloatType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { subgraphsOf } from '../../src/ir/model.js';
import { inferModelTypes } from '../../src/shape/index.js';
import { gradRules } from '../../rules/grad/index.js';
import { BackwardEmitter, GRADIENT_TYPES, GradientError } from './context.js';

export { GradientError };

export interface DifferentiateOptions {
  /** A scalar (one-element) float value of the graph, usually a graph output. */
  readonly loss: string;
  /** Float graph inputs or initializers to differentiate against. */
  readonly wrt: readonly string[];
}

/** The lowest default-domain opset the emitted backward ops are written for (axes as inputs, Split's split input). */
export const MIN_GRAD_OPSET = 13;

/**
 * The name of the gradient output of `value`: `${value}.grad`, or, when a name in `taken` already has that name,
 * `${value}.grad_1`, `${value}.grad_2`, ... (the first free one). `differentiate` passes the names of the graph it
 * was given, so for a graph without `.grad` names of its own the outputs are exactly `${w}.grad`; its gradient
 * outputs are also always the last `wrt.length` graph outputs, in `wrt` order.
 */
export function gradName(value: string, taken: ReadonlySet<string> = new Set()): string {
  const base = `${value}.grad`;
  let name = base;
  for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
  return name;
}

export function differentiate(model: Model, options: DifferentiateOptions): Model {
  const { loss, wrt } = options;
  const graph = model.graph;
  const { types } = inferModelTypes(model);
  const index = graphIndex(graph);
  const emitter = new BackwardEmitter(model, types);
  if (emitter.opset < MIN_GRAD_OPSET) {
    throw new GradientError(`differentiate needs default-domain opset >= ${MIN_GRAD_OPSET}, the model imports ${emitter.opset || 'none'} (upgrade it with the opset pass)`);
  }
  checkLoss(loss, types.get(loss), index.producer.has(loss) || graph.initializers.has(loss) || index.graphInputs.has(loss));
  for (const w of wrt) {
    if (!graph.initializers.has(w) && !index.graphInputs.has(w)) throw new GradientError(`wrt '${w}' is neither a graph input nor an initializer`);
    const t = types.get(w)?.elemType;
    if (t === undefined || !isFloatType(t)) throw new GradientError(`wrt '${w}' is not a float tensor`);
    if (!GRADIENT_TYPES.has(t)) throw new GradientError(`wrt '${w}': gradients in ${DataType[t]} are not supported (float and double are)`);
  }

  const onPath = valuesOnPath(model, types, wrt, loss);

  // Reserve the documented output names before anything else takes them.
  const taken = namesOf(model);
  const outNames = wrt.map((w) => {
    const name = gradName(w, taken);
    taken.add(name);
    return emitter.emit.fresh(name);
  });

  const contributions = new Map<string, string[]>();
  const contribute = (name: string, grad: string): void => {
    const list = contributions.get(name);
    if (list) list.push(grad);
    else contributions.set(name, [grad]);
  };
  const gradientOf = (name: string): string | undefined => {
    const list = contributions.get(name);
    if (!list) return undefined;
    const total = emitter.sum(list);
    contributions.set(name, [total]);
    return total;
  };

  if (onPath(loss)) contribute(loss, emitter.emit.op('ConstantOfShape', [emitter.shapeOf(loss)], { value: onesOf(emitter, loss) }));
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    if (!node.outputs.some(onPath)) continue;
    const grads = node.outputs.map((o) => (onPath(o) ? gradientOf(o) : undefined));
    if (grads.every((g) => g === undefined)) continue;
    const rule = node.domain === '' || node.domain === 'ai.onnx' ? gradRules.get(node.opType) : undefined;
    if (!rule) throw new GradientError(`no gradient rule for op '${node.domain ? `${node.domain}:` : ''}${node.opType}' (node '${node.name}')`);
    const needsGrad = (k: number): boolean => !!node.inputs[k] && onPath(node.inputs[k]);
    const inputGrads = rule.backward(emitter.contextFor(node, grads, needsGrad));
    node.inputs.forEach((name, k) => {
      const g = inputGrads[k];
      if (g !== undefined && needsGrad(k)) contribute(name, g);
    });
  }

  wrt.forEach((w, k) => {
    const total = gradientOf(w) ?? emitter.zerosLike(w, (r) => { throw new GradientError(r); });
    emitter.emit.node('Identity', [total], {}, { outputNames: [outNames[k]] });
    const t = types.get(w)!;
    emitter.emit.output(outNames[k], t.elemType, t.shape);
  });
  const nextGraph = emitter.emit.apply();
  return nextGraph === graph ? model : produce(model, (d) => { d.graph = castDraft(nextGraph); });
}

/**
 * Values between some wrt value and the loss: they depend on a wrt value, the loss depends on them, and they carry
 * gradient (float, or the integer output of an op whose rule says it does). Subgraph captures count as uses, so an
 * If/Loop on the path is met (and refused for want of a rule) rather than silently skipped.
 */
function valuesOnPath(model: Model, types: ReadonlyMap<string, TensorType>, wrt: readonly string[], loss: string): (name: string) => boolean {
  const nodes = model.graph.nodes;
  const carries = (node: Node, name: string): boolean => {
    const t = types.get(name)?.elemType;
    if (t !== undefined && isFloatType(t)) return true;
    return node.domain === '' && !!gradRules.get(node.opType)?.integerOutputsCarryGradient;
  };
  const active = new Set<string>(wrt);
  for (const node of nodes) {
    if (!usesOf(node).some((u) => active.has(u))) continue;
    for (const o of node.outputs) if (o && carries(node, o)) active.add(o);
  }
  const needed = new Set<string>([loss]);
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (nodes[i].outputs.some((o) => needed.has(o))) for (const u of usesOf(nodes[i])) needed.add(u);
  }
  return (name) => active.has(name) && needed.has(name);
}

function checkLoss(loss: string, type: { elemType: number; shape?: readonly unknown[] } | undefined, defined: boolean): void {
  if (!defined) throw new GradientError(`loss '${loss}' is not a value of the graph`);
  if (!type || !isFloatType(type.elemType)) throw new GradientError(`loss '${loss}' is not a float tensor`);
  if (!GRADIENT_TYPES.has(type.elemType)) throw new GradientError(`loss '${loss}': gradients in ${DataType[type.elemType]} are not supported (float and double are)`);
  if (type.shape && type.shape.some((d) => d !== 1)) throw new GradientError(`loss '${loss}' is not a scalar (shape [${type.shape.join(',')}])`);
}

/** ConstantOfShape's value: a one-element tensor of ones in `like`'s element type. */
function onesOf(emitter: BackwardEmitter, like: string): Tensor {
  return Tensor.filled(emitter.dtype(like, (r) => { throw new GradientError(r); }), [1], 1);
}

/** Every name the model's graph uses (values and nodes, subgraphs included). */
function namesOf(model: Model): Set<string> {
  const names = new Set<string>();
  const visit = (g: Model['graph']): void => {
    for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) names.add(v.name);
    for (const k of g.initializers.keys()) names.add(k);
    for (const n of g.nodes) {
      names.add(n.name);
      for (const o of n.outputs) names.add(o);
      for (const s of subgraphsOf(n)) visit(s);
    }
  };
  visit(model.graph);
  return names;
}
