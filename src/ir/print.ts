// A readable text form of the IR, for --print-ir-after and debugging:
//   %y = Conv(%x, @w:float[64,3,7,7], @b:float[64]) {strides=[2,2]}   # node name
import type { Attribute, Graph, Model, Node } from './model.js';
import { match, P } from 'ts-pattern';
import { DataType, dataTypeName } from './dtype.js';
import { formatType } from './types.js';
import type { Tensor } from './tensor.js';

export interface PrintOptions {
  /** Extra note per node (e.g. the rule that created it). */
  readonly annotate?: (node: Node) => string | undefined;
}

const tensorSummary = (t: Tensor): string => `${dataTypeName(t.dataType)}[${t.dims.join(',')}]`;

function formatAttribute(a: Attribute, indent: string, options: PrintOptions): string {
  const value = match(a)
    .with({ type: P.union('float', 'int') }, (x) => String(x.value))
    .with({ type: 'string' }, (x) => JSON.stringify(x.value))
    .with({ type: P.union('floats', 'ints') }, (x) => `[${x.value.join(',')}]`)
    .with({ type: 'strings' }, (x) => `[${x.value.map((s) => JSON.stringify(s)).join(',')}]`)
    .with({ type: 'tensor' }, (x) => `${tensorSummary(x.value)}${x.value.size <= 8 && x.value.dataType !== DataType.STRING ? `(${x.value.toNumbers().join(',')})` : ''}`)
    .with({ type: 'tensors' }, (x) => `[${x.value.map(tensorSummary).join(', ')}]`)
    .with({ type: 'graph' }, (x) => printGraph(x.value, indent + '  ', options).trimStart())
    .with({ type: 'graphs' }, (x) => `[${x.value.map((g) => printGraph(g, indent + '  ', options).trimStart()).join(', ')}]`)
    .with({ type: 'proto' }, (x) => `<${x.value.ref_attr_name !== undefined ? `@${String(x.value.ref_attr_name)}` : 'proto'}>`)
    .exhaustive();
  return `${a.name}=${value}`;
}

export function printNode(node: Node, graph: Graph, indent = '', options: PrintOptions = {}): string {
  const ref = (name: string): string => {
    if (name === '') return '_';
    const t = graph.initializers.get(name);
    return t ? `@${name}:${tensorSummary(t)}` : `%${name}`;
  };
  const op = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
  const attrs = node.attributes.length ? ` {${node.attributes.map((a) => formatAttribute(a, indent, options)).join(', ')}}` : '';
  const note = [node.name, options.annotate?.(node)].filter(Boolean).join('  ');
  return `${indent}${node.outputs.map(ref).join(', ')} = ${op}(${node.inputs.map(ref).join(', ')})${attrs}${note ? `   # ${note}` : ''}`;
}

export function printGraph(graph: Graph, indent = '', options: PrintOptions = {}): string {
  const lines = [`${indent}graph ${graph.name || '_'}(${graph.inputs.map((v) => `%${v.name}: ${formatType(v.type)}`).join(', ')}) {`];
  const weights = [...graph.initializers].filter(([name]) => !graph.inputs.some((v) => v.name === name));
  if (weights.length) lines.push(`${indent}  // ${weights.length} initializers`);
  for (const node of graph.nodes) lines.push(printNode(node, graph, indent + '  ', options));
  lines.push(`${indent}  return ${graph.outputs.map((v) => `%${v.name}: ${formatType(v.type)}`).join(', ')}`);
  lines.push(`${indent}}`);
  return lines.join('\n');
}

export function printModel(model: Model, options: PrintOptions = {}): string {
  const opsets = model.opsetImport.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ');
  const header = `model ir=${model.irVersion} opsets=[${opsets}]${model.functions.length ? ` functions=[${model.functions.map((f) => f.name).join(', ')}]` : ''}`;
  return `${header}\n${printGraph(model.graph, '', options)}`;
}
