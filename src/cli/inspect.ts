// `onnx-slim inspect`: what a model is made of.
import { statSync } from 'node:fs';
import type { Graph, Model } from '../ir/model.js';
import { subgraphsOf } from '../ir/model.js';
import { modelStats } from '../ir/analysis.js';
import { formatType } from '../ir/types.js';
import { type FlopsEstimate, estimateFlops, formatFlops } from '../analysis/flops.js';

export interface ModelSummary {
  readonly file: string;
  readonly fileBytes: number;
  readonly irVersion: number;
  readonly producer: string;
  readonly opsets: Record<string, number>;
  readonly inputs: Array<{ name: string; type: string }>;
  readonly outputs: Array<{ name: string; type: string }>;
  readonly nodes: number;
  readonly initializers: number;
  readonly parameters: number;
  readonly weightBytes: number;
  readonly externalTensors: number;
  readonly subgraphs: number;
  readonly functions: number;
  /** Op type (domain-qualified outside ai.onnx) → count, subgraphs included, most frequent first. */
  readonly ops: Record<string, number>;
  /** Estimated FLOPs of one run, symbolic dims taken as 1 (see analysis/flops.ts). */
  readonly flops: FlopsEstimate;
}

/** `dims`: sizes for symbolic input dimensions in the FLOPs estimate (others count as 1). */
export function summarize(model: Model, file: string, dims: Readonly<Record<string, number>> = {}): ModelSummary {
  const ops = new Map<string, number>();
  let subgraphs = 0;
  let externalTensors = 0;
  const visit = (g: Graph): void => {
    for (const t of g.initializers.values()) if (t.isExternal) externalTensors++;
    for (const n of g.nodes) {
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      ops.set(key, (ops.get(key) ?? 0) + 1);
      for (const s of subgraphsOf(n)) { subgraphs++; visit(s); }
    }
  };
  visit(model.graph);
  const stats = modelStats(model);
  const initializerNames = new Set(model.graph.initializers.keys());
  return {
    file, fileBytes: statSync(file).size,
    irVersion: Number(model.irVersion),
    producer: [model.rest.producer_name, model.rest.producer_version].filter((x) => typeof x === 'string' && x).join(' '),
    opsets: Object.fromEntries(model.opsetImport.map((o) => [o.domain || 'ai.onnx', o.version])),
    inputs: model.graph.inputs.filter((v) => !initializerNames.has(v.name)).map((v) => ({ name: v.name, type: formatType(v.type) })),
    outputs: model.graph.outputs.map((v) => ({ name: v.name, type: formatType(v.type) })),
    nodes: stats.nodes, initializers: stats.initializers, parameters: stats.parameters, weightBytes: stats.weightBytes,
    externalTensors, subgraphs, functions: model.functions.length,
    ops: Object.fromEntries([...ops].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    flops: estimateFlops(model, { dims }),
  };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;

export function formatSummary(s: ModelSummary): string {
  const lines = [
    `${s.file}  ${mb(s.fileBytes)}  ir ${s.irVersion}${s.producer ? `  producer ${s.producer}` : ''}`,
    `opsets      ${Object.entries(s.opsets).map(([d, v]) => `${d} ${v}`).join(', ')}`,
    ...s.inputs.map((v) => `input       ${v.name}: ${v.type}`),
    ...s.outputs.map((v) => `output      ${v.name}: ${v.type}`),
    `nodes       ${s.nodes}${s.subgraphs ? ` (${s.subgraphs} subgraphs)` : ''}${s.functions ? `, ${s.functions} functions` : ''}`,
    `weights     ${s.initializers} initializers, ${s.parameters.toLocaleString('en-US')} parameters, ${mb(s.weightBytes)}${s.externalTensors ? `, ${s.externalTensors} external` : ''}`,
    `flops       ${formatFlops(s.flops)}`,
    'ops',
    ...Object.entries(s.ops).map(([op, n]) => `  ${String(n).padStart(6)}  ${op}`),
  ];
  return lines.join('\n');
}
