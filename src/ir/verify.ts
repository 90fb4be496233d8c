// The verifier: single definition of every value, topological order (hence acyclic), every input defined,
// opsets imported, types consistent. Runs after each pass under --verify and always in tests.
import type { Graph, Model, Node, OpsetId } from './model.js';
import { subgraphsOf } from './model.js';
import { type TensorType, tensorTypeOf, tensorTypesCompatible, formatType } from './types.js';
import { makeTensorType } from './types.js';
import { constantNodeValue } from './analysis.js';
import { storageProblem } from './tensor.js';
import { inferModelTypes } from '../shape/index.js';

export class VerifyError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid model: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`);
  }
}

export interface VerifyOptions {
  /** Types to check declarations against (default: shape inference over the main graph). */
  readonly inferredTypes?: ReadonlyMap<string, TensorType>;
}

const describe = (n: Node): string => `${n.opType} '${n.name}'`;

function importedDomains(opsets: readonly OpsetId[]): Set<string> {
  return new Set(opsets.map((o) => (o.domain === 'ai.onnx' ? '' : o.domain)));
}

/** Lists every problem found (empty when the model is valid). */
export function verifyModel(model: Model, options: VerifyOptions = {}): string[] {
  const problems: string[] = [];
  const domains = importedDomains(model.opsetImport);
  const functions = new Set(model.functions.map((f) => `${f.domain}::${f.name}`));
  if (model.opsetImport.length === 0) problems.push('the model imports no opset');
  const inferredTypes = options.inferredTypes ?? inferModelTypes(model).types;
  verifyGraph(model.graph, new Map(), domains, functions, problems, { inferredTypes }, 'main graph');
  for (const f of model.functions) {
    const fnDomains = importedDomains(f.opsetImport);
    const defined = new Set(f.inputs);
    for (const node of f.nodes) {
      for (const i of node.inputs) if (i !== '' && !defined.has(i)) problems.push(`function ${f.name}: ${describe(node)} reads '${i}' before it is defined`);
      for (const o of node.outputs) if (o !== '') defined.add(o);
      if (!fnDomains.has(node.domain === 'ai.onnx' ? '' : node.domain) && !functions.has(`${node.domain}::${node.opType}`)) {
        problems.push(`function ${f.name}: ${describe(node)} uses domain '${node.domain}' that the function does not import`);
      }
    }
    for (const o of f.outputs) if (!defined.has(o)) problems.push(`function ${f.name}: output '${o}' is never defined`);
  }
  return problems;
}

export function assertValid(model: Model, options: VerifyOptions = {}): void {
  const problems = verifyModel(model, options);
  if (problems.length) throw new VerifyError(problems);
}

function verifyGraph(
  graph: Graph, outer: ReadonlyMap<string, TensorType | undefined>, domains: Set<string>, functions: Set<string>,
  problems: string[], options: VerifyOptions, where: string,
): void {
  const types = new Map<string, TensorType | undefined>();
  const define = (name: string, type: TensorType | undefined, by: string): void => {
    if (name === '') return;
    if (types.has(name)) problems.push(`${where}: '${name}' is defined twice (again by ${by})`);
    types.set(name, type);
  };
  for (const v of graph.inputs) define(v.name, tensorTypeOf(v.type), 'a graph input');
  for (const [name, t] of graph.initializers) {
    const bad = storageProblem(t);
    if (bad) problems.push(`${where}: initializer '${name}' ${bad}`);
    const declared = types.get(name);
    const own: TensorType = { elemType: t.dataType, shape: t.dims };
    if (declared) {
      // An initializer may also be listed as an input (its default); their types must agree.
      if (!tensorTypesCompatible(declared, own)) problems.push(`${where}: initializer '${name}' is ${formatType(makeTensorType(own.elemType, own.shape))} but its input declares ${formatType(makeTensorType(declared.elemType, declared.shape))}`);
      continue;
    }
    if (types.has(name)) continue;
    types.set(name, own);
  }
  const sparse = (graph.rest.sparse_initializer as { values?: { name?: string } }[] | undefined) ?? [];
  for (const s of sparse) if (s.values?.name) types.set(s.values.name, undefined);
  const visible = (name: string): boolean => types.has(name) || outer.has(name);
  for (const node of graph.nodes) {
    for (const i of node.inputs) {
      if (i !== '' && !visible(i)) problems.push(`${where}: ${describe(node)} reads '${i}', which is not defined before it (undefined value or cycle)`);
    }
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    if (!domains.has(domain) && !functions.has(`${node.domain}::${node.opType}`)) {
      problems.push(`${where}: ${describe(node)} uses domain '${node.domain}', which the model does not import`);
    }
    const scope = new Map([...outer, ...types]);
    for (const g of subgraphsOf(node)) verifyGraph(g, scope, domains, functions, problems, options, `${where} > ${describe(node)} body '${g.name}'`);
    const seen = new Set<string>();
    for (const o of node.outputs) {
      if (o === '') continue;
      if (seen.has(o)) problems.push(`${where}: ${describe(node)} lists output '${o}' twice`);
      seen.add(o);
      const c = constantNodeValue(node);
      const bad = c && storageProblem(c);
      if (bad) problems.push(`${where}: ${describe(node)} value ${bad}`);
      define(o, c ? { elemType: c.dataType, shape: c.dims } : options.inferredTypes?.get(o), describe(node));
    }
  }
  for (const o of graph.outputs) if (!visible(o.name)) problems.push(`${where}: graph output '${o.name}' is never defined`);
  const annotated = [...graph.outputs, ...graph.valueInfo];
  for (const vi of annotated) {
    const declared = tensorTypeOf(vi.type);
    const known = types.get(vi.name) ?? outer.get(vi.name);
    if (declared && known && !tensorTypesCompatible(declared, known)) {
      problems.push(`${where}: '${vi.name}' is declared ${formatType(vi.type)} but is ${formatType(makeTensorType(known.elemType, known.shape))}`);
    }
  }
}
