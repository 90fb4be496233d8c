// Which student values learn from which teacher values. Three ways, as in PaddleSlim:
//   outputs (default)   each float graph output of the student with the teacher output of the same name;
//   last_param_nodes    per graph output, the last node reading a parameter that feeds it (what PaddleSlim ACT
//                       distils: the logits before a parameter-free tail such as Softmax or a box decoder);
//   given pairs         `student_value:teacher_value`, or one name for a value both models have.
import type { Graph, Model, Node } from '../../src/ir/model.js';
import { constantOf, graphIndex } from '../../src/ir/analysis.js';
import { DataType } from '../../src/ir/dtype.js';
import type { TensorType } from '../../src/ir/types.js';
import { tensorTypeOf } from '../../src/ir/types.js';

export interface DistillPair {
  /** A value of the student graph. */
  readonly student: string;
  /** A value of the teacher graph (its own name, before merging). */
  readonly teacher: string;
  /** This pair's loss (default: the distillation's), e.g. mse on hidden states beside kl_div on the logits. */
  readonly loss?: DistillLoss;
  /** Factor on this pair's term (default 1), e.g. 1 / the teacher value's variance so layers weigh alike. */
  readonly weight?: number;
}

export type DistillLoss = 'mse' | 'kl_div' | 'token_wise_contrastive';

export type PairMode = 'outputs' | 'last_param_nodes';

const FLOAT_TYPES: ReadonlySet<DataType> = new Set([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE]);

/** Parses `student:teacher` (or a single name used for both) entries. */
export function parsePairs(specs: readonly string[]): DistillPair[] {
  return specs.map((spec) => {
    const parts = spec.split(':');
    if (parts.length > 2 || parts.some((p) => p.trim() === '')) {
      throw new Error(`distillation pair '${spec}' should read student_value:teacher_value (or one value name for both)`);
    }
    const [student, teacher = student] = parts.map((p) => p.trim());
    return { student, teacher };
  });
}

/** Pairs picked by `mode`, each value checked to exist in its model. */
export function pickPairs(student: Model, teacher: Model, mode: PairMode): DistillPair[] {
  if (mode === 'last_param_nodes') {
    const s = lastParamValues(student), t = lastParamValues(teacher);
    if (s.length !== t.length) throw new Error(`last_param_nodes found ${s.length} values in the student but ${t.length} in the teacher`);
    return s.map((v, i) => ({ student: v, teacher: t[i] }));
  }
  const teacherOutputs = new Set(teacher.graph.outputs.map((o) => o.name));
  const pairs = student.graph.outputs
    .filter((o) => isFloat(tensorTypeOf(o.type)))
    .map((o) => {
      if (!teacherOutputs.has(o.name)) throw new Error(`the teacher has no output '${o.name}' to pair with the student's (give pairs student:teacher)`);
      return { student: o.name, teacher: o.name };
    });
  if (pairs.length === 0) throw new Error('the student has no float graph output to distil (give pairs student:teacher)');
  return pairs;
}

/** One-line error unless every pair names a value its model defines. */
export function checkPairs(student: Model, teacher: Model, pairs: readonly DistillPair[]): void {
  if (pairs.length === 0) throw new Error('distillation needs at least one student:teacher pair');
  const has = (g: Graph, name: string): boolean => {
    const { producer, graphInputs } = graphIndex(g);
    return producer.has(name) || graphInputs.has(name) || g.initializers.has(name);
  };
  for (const p of pairs) {
    if (!has(student.graph, p.student)) throw new Error(`the student has no value '${p.student}' (pair ${p.student}:${p.teacher})`);
    if (!has(teacher.graph, p.teacher)) throw new Error(`the teacher has no value '${p.teacher}' (pair ${p.student}:${p.teacher})`);
    if (p.weight !== undefined && !(p.weight >= 0 && Number.isFinite(p.weight))) throw new Error(`pair ${p.student}:${p.teacher} needs a finite weight ≥ 0, got ${p.weight}`);
  }
}

/**
 * Per graph output, the first output of the last node (in graph order) among its ancestors that reads a parameter.
 * A parameter is a constant of rank >= 1 and not of an integer index type: weights and biases (float or quantized
 * int8/uint8, a one-channel bias [1] included), not rank-0 scalars such as epsilons nor int64 shapes and indices.
 */
export function lastParamValues(model: Model): string[] {
  const graph = model.graph;
  const { producer, position } = graphIndex(graph);
  return graph.outputs.map((output) => {
    let best: Node | undefined;
    const seen = new Set<Node>();
    const stack = [producer.get(output.name)].filter((n): n is Node => n !== undefined);
    while (stack.length) {
      const node = stack.pop()!;
      if (seen.has(node)) continue;
      seen.add(node);
      if (readsParameter(graph, node) && (!best || position.get(node)! > position.get(best)!)) best = node;
      for (const input of node.inputs) {
        const p = input && producer.get(input);
        if (p) stack.push(p);
      }
    }
    if (!best) throw new Error(`no node with parameters feeds output '${output.name}' (give pairs student:teacher)`);
    return best.outputs[0];
  });
}

function readsParameter(graph: Graph, node: Node): boolean {
  return node.inputs.some((name) => {
    // An initializer that is also a graph input still holds a weight (before IR 4 every weight is one).
    const t = name ? graph.initializers.get(name) ?? constantOf(graph, name) : undefined;
    return t !== undefined && t.dims.length > 0 && t.dataType !== DataType.INT64 && t.dataType !== DataType.INT32;
  });
}

/** Untyped outputs are taken as float: the loss casts what it gets to float32 anyway. */
function isFloat(type: TensorType | undefined): boolean {
  return type === undefined || FLOAT_TYPES.has(type.elemType);
}
