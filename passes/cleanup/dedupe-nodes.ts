// Merges nodes that compute the same value: same op, same inputs in order, same attributes. Exporters repeat
// Transpose/Shape/Unsqueeze chains per reader, and onnxruntime merges them at load (its CSE): a quantizer that placed
// Q/DQ pairs before that merge sees its placement changed under it (a round trip it can no longer fuse), so the
// merge happens here, before placement. Only deterministic ops of the default domain without subgraphs merge.
import { castDraft, produce } from 'immer';
import '../../src/rewrite/immer-setup.js';
import type { Attribute, Graph, Node } from '../../src/ir/model.js';
import { hasSubgraphs } from '../../src/ir/model.js';
import { graphIndex } from '../../src/ir/analysis.js';
import { replaceUses } from '../../src/rewrite/edit.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { contentKey, layoutKey } from './dedupe-initializers.js';

/** Random ops (each run draws anew: two of them are two samples, not one value) and quantizers (onnxruntime fuses
 *  a DequantizeLinear into its one reader: QDQ graphs give each reader its own on purpose). */
const NEVER_MERGED = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'Dropout', 'QuantizeLinear', 'DequantizeLinear']);

function mergeable(node: Node): boolean {
  return (node.domain === '' || node.domain === 'ai.onnx') && !NEVER_MERGED.has(node.opType) && !hasSubgraphs(node)
    && node.outputs.length > 0 && !node.attributes.some((a) => a.type === 'proto');
}

function attributeKey(a: Attribute): string {
  const value = a.type === 'tensor' ? tensorKey(a.value) : a.type === 'tensors' ? a.value.map(tensorKey) : a.value;
  return `${a.name}:${a.type}:${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
}

function tensorKey(t: Tensor): string {
  return `${layoutKey(t)}:${contentKey(t)}`;
}

export function dedupeNodes(graph: Graph): Graph {
  const { graphOutputs } = graphIndex(graph);
  /** Value → the value that replaces it (a duplicate's output → the kept node's). */
  const alias = new Map<string, string>();
  /** Kept node → its outputs renamed to a duplicate's graph-output names (the interface keeps its names). */
  const renamedOutputs = new Map<Node, string[]>();
  const removed = new Set<Node>();
  const seen = new Map<string, Node>();
  const canonical = (v: string): string => alias.get(v) ?? v;

  for (const node of graph.nodes) {
    if (!mergeable(node)) continue;
    const key = [node.opType, node.outputs.length, node.inputs.map(canonical).join(','), ...[...node.attributes].sort((a, b) => a.name.localeCompare(b.name)).map(attributeKey)].join('|');
    const kept = seen.get(key);
    if (!kept) { seen.set(key, node); continue; }
    const keptOutputs = renamedOutputs.get(kept) ?? [...kept.outputs];
    // Each output pair: the duplicate's uses move to the kept value, unless the duplicate's is a graph output; then
    // the kept node takes that name instead. Two graph outputs (or an output the kept node omits) cannot merge.
    const plan = node.outputs.map((out, i) => {
      if (out === '') return 'none';
      if (keptOutputs[i] === '') return 'blocked';
      if (!graphOutputs.has(out)) return 'alias';
      return graphOutputs.has(keptOutputs[i]) ? 'blocked' : 'rename';
    });
    if (plan.includes('blocked')) continue;
    plan.forEach((p, i) => {
      const out = node.outputs[i], keptOut = keptOutputs[i];
      if (p === 'alias') alias.set(out, keptOut);
      if (p === 'rename') {
        alias.set(keptOut, out);
        for (const [from, to] of alias) if (to === keptOut) alias.set(from, out);
        keptOutputs[i] = out;
      }
    });
    renamedOutputs.set(kept, keptOutputs);
    removed.add(node);
  }
  if (removed.size === 0) return graph;
  const rerouted = replaceUses(graph, alias);
  const keptIndex = new Map(graph.nodes.map((n, i) => [n, i]));
  return produce(rerouted, (d) => {
    for (const [kept, outputs] of renamedOutputs) d.nodes[keptIndex.get(kept)!].outputs = castDraft(outputs);
    d.nodes = d.nodes.filter((_n, i) => !removed.has(graph.nodes[i]));
    d.valueInfo = d.valueInfo.filter((v) => !alias.has(v.name));
  });
}
