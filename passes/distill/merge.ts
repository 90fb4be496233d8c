// Merging a teacher into a student's graph, for distillation training: the two share their graph inputs by name;
// every other teacher name (values, nodes, subgraph-local names included) gets the `teacher/` prefix, made fresh
// where the student already uses it. The student keeps every object it had (its nodes, weights and outputs are
// untouched), so its outputs stay bitwise what they were; the teacher's initializers are listed as frozen.
// In the normal flow the caller passes the original fp32 model as teacher and the pruned or quantized copy as
// student; with no teacher, the pass uses a frozen copy of the student as given.
import { castDraft, produce } from 'immer';
import '../../src/rewrite/immer-setup.js';
import type { Attribute, FunctionDef, Graph, Model, Node, OpsetId, ValueInfo } from '../../src/ir/model.js';
import { subgraphsOf } from '../../src/ir/model.js';
import { tensorTypeOf } from '../../src/ir/types.js';
import { DataType } from '../../src/ir/dtype.js';
import { valueNames } from '../../src/rewrite/rename.js';

export const TEACHER_PREFIX = 'teacher/';

export interface MergedModel {
  /** The student graph with the teacher's nodes appended; graph outputs are the student's. */
  readonly model: Model;
  /** Teacher value name → its name in the merged graph (shared inputs map to themselves). */
  readonly teacherNames: ReadonlyMap<string, string>;
  /** The teacher's initializers in the merged graph: a trainer must not update them. */
  readonly frozen: readonly string[];
}

/** The student and teacher in one graph; one-line errors when their inputs or opsets cannot be shared. */
export function mergeTeacher(student: Model, teacher: Model, prefix = TEACHER_PREFIX): MergedModel {
  const s = student.graph, t = teacher.graph;
  if (t.rest.sparse_initializer) throw new Error('the teacher has sparse initializers, which distillation cannot freeze yet');
  const shared = sharedInputs(s, t);
  const valueName = prefixedNames(prefix, valueNames(s), [...valueNames(t)].filter((n) => n !== '' && !shared.has(n)));
  const nodeName = prefixedNames(prefix, nodeNames(s), nodeNames(t));
  const renameValue = (n: string): string => valueName.get(n) ?? n;
  const renamed = renameGraph(t, renameValue, (n) => nodeName.get(n) ?? n);
  const irVersion = Number(student.irVersion) >= Number(teacher.irVersion) ? student.irVersion : teacher.irVersion;
  // Before IR 4 every initializer must also be a graph input; from IR 4 on the frozen weights are plain initializers.
  const teacherInputs = Number(irVersion) < 4 ? renamed.inputs.filter((v) => !shared.has(v.name)) : [];
  const model = produce(student, (d) => {
    d.irVersion = irVersion;
    d.opsetImport = castDraft(mergeOpsets(student.opsetImport, teacher.opsetImport));
    d.functions.push(...castDraft(missingFunctions(student.functions, teacher.functions)));
    d.graph.nodes.push(...castDraft(renamed.nodes));
    d.graph.inputs.push(...castDraft(teacherInputs));
    d.graph.valueInfo.push(...castDraft(renamed.valueInfo.filter((v) => !shared.has(v.name))));
    const inits = d.graph.initializers as unknown as Map<string, unknown>;
    for (const [name, tensor] of renamed.initializers) inits.set(name, tensor);
  });
  const teacherNames = new Map([...[...shared].map((n) => [n, n] as const), ...valueName]);
  return { model, teacherNames, frozen: [...renamed.initializers.keys()] };
}

/** The teacher's fed inputs (those without an initializer), each of which the student must take too. */
function sharedInputs(student: Graph, teacher: Graph): Set<string> {
  const studentTypes = new Map(student.inputs.map((v) => [v.name, tensorTypeOf(v.type)?.elemType]));
  const shared = new Set<string>();
  for (const v of teacher.inputs) {
    if (teacher.initializers.has(v.name)) continue;
    if (!studentTypes.has(v.name)) {
      throw new Error(`teacher input '${v.name}' is not an input of the student (student inputs: ${[...studentTypes.keys()].join(', ')})`);
    }
    const a = studentTypes.get(v.name), b = tensorTypeOf(v.type)?.elemType;
    if (a && b && a !== b) throw new Error(`input '${v.name}' is ${DataType[a]} in the student but ${DataType[b]} in the teacher`);
    shared.add(v.name);
  }
  return shared;
}

/**
 * `prefix + name` for each name, made fresh (`_1`, `_2`, ...) where `taken` already has it. Unsuffixed names are
 * reserved first, so a suffixed name never takes another teacher name's natural one.
 */
function prefixedNames(prefix: string, taken: ReadonlySet<string>, names: Iterable<string>): Map<string, string> {
  const unique = [...new Set(names)];
  const used = new Set(taken);
  for (const n of unique) used.add(prefix + n);
  const out = new Map<string, string>();
  for (const n of unique) {
    let name = prefix + n;
    if (taken.has(name)) {
      let i = 1;
      while (used.has(`${prefix}${n}_${i}`)) i++;
      name = `${prefix}${n}_${i}`;
      used.add(name);
    }
    out.set(n, name);
  }
  return out;
}

function nodeNames(graph: Graph, into = new Set<string>()): Set<string> {
  for (const n of graph.nodes) {
    if (n.name) into.add(n.name);
    for (const g of subgraphsOf(n)) nodeNames(g, into);
  }
  return into;
}

/**
 * Every name in `graph` and its subgraphs through `value` / `node`. One renaming for every scope: a subgraph that
 * captures an outer value reads it under the same new name as its definition, so captures need no special case.
 */
function renameGraph(graph: Graph, value: (n: string) => string, node: (n: string) => string): Graph {
  const info = (v: ValueInfo): ValueInfo => ({ ...v, name: value(v.name) });
  const attribute = (a: Attribute): Attribute => {
    if (a.type === 'graph') return { ...a, value: renameGraph(a.value, value, node) };
    if (a.type === 'graphs') return { ...a, value: a.value.map((g) => renameGraph(g, value, node)) };
    return a;
  };
  const renameNode = (n: Node): Node => ({
    ...n, name: n.name && node(n.name), inputs: n.inputs.map((x) => x && value(x)), outputs: n.outputs.map((x) => x && value(x)),
    attributes: n.attributes.map(attribute),
  });
  return {
    ...graph,
    nodes: graph.nodes.map(renameNode),
    inputs: graph.inputs.map(info),
    outputs: graph.outputs.map(info),
    valueInfo: graph.valueInfo.map(info),
    initializers: new Map([...graph.initializers].map(([k, t]) => [value(k), t])),
  };
}

function mergeOpsets(student: readonly OpsetId[], teacher: readonly OpsetId[]): OpsetId[] {
  const norm = (d: string): string => (d === 'ai.onnx' ? '' : d);
  const out = [...student];
  for (const o of teacher) {
    const mine = student.find((x) => norm(x.domain) === norm(o.domain));
    if (!mine) out.push(o);
    else if (mine.version !== o.version) {
      throw new Error(`the student imports ${norm(o.domain) || 'ai.onnx'} opset ${mine.version} but the teacher ${o.version}: bring them to one version first (the opset pass)`);
    }
  }
  return out;
}

/** Teacher-local functions the student lacks; a function both define (same domain and name) is taken as the same. */
function missingFunctions(student: readonly FunctionDef[], teacher: readonly FunctionDef[]): FunctionDef[] {
  const have = new Set(student.map((f) => `${f.domain}:${f.name}`));
  return teacher.filter((f) => !have.has(`${f.domain}:${f.name}`));
}
