// Channel dependency analysis on ONNX graphs (DepGraph / Torch-Pruning's idea, on a frozen graph instead of
// autograd traces). One walk in topological order: weight-bearing producers (MatMul, Gemm, Conv) open channel
// spaces; per-op transfer functions carry each value's channel layout to the node outputs, record which tensor
// axes hold which channels (weights, biases, BN and per-channel constants) and which shape constants must follow;
// values meeting in a residual Add, a SwiGLU Mul or Q·Kᵀ merge their spaces. Anything the transfers cannot follow
// poisons the spaces involved, which then stay whole and are reported.
import type { Graph, Model, Node } from '../../src/ir/model.js';
import { constantOf, graphIndex } from '../../src/ir/analysis.js';
import type { Tensor } from '../../src/ir/tensor.js';
import type { Dim } from '../../src/ir/types.js';
import { opsetVersion } from '../../src/ir/model.js';
import { inferGraphTypes } from '../../src/shape/index.js';
import { type AxisLayout, lengthOf, spacesOf, type ValueLayout } from './layout.js';
import { SpaceTable } from './spaces.js';
import { TRANSFERS } from './ops/index.js';

/** A tensor axis that holds channels: sliced when they go. */
export interface Slice {
  readonly tensor: string;
  readonly axis: number;
  readonly layout: AxisLayout;
  readonly reader: Node;
  /** Sliced but not weighed: running statistics say how big activations are, not how much a channel matters. */
  readonly statistic?: boolean;
}

/** Entry `position` of the 1-D shape constant read by `node` at `input` becomes the pruned length of `layout`. */
export interface ShapeEdit {
  readonly node: Node;
  readonly input: number;
  readonly position: number;
  readonly layout: AxisLayout;
}

/** Integer attribute `name` of `node` becomes the pruned length of `layout` (a depthwise conv's group). */
export interface AttributeEdit {
  readonly node: Node;
  readonly name: string;
  readonly layout: AxisLayout;
}

/** A node that opens a space: its output channels are its weight's rows or columns. */
export interface Source {
  readonly node: Node;
  readonly space: number;
  readonly length: number;
}

export interface DependencyAnalysis {
  readonly spaces: SpaceTable;
  readonly sources: readonly Source[];
  readonly slices: readonly Slice[];
  readonly edits: readonly ShapeEdit[];
  readonly attributeEdits: readonly AttributeEdit[];
  readonly layouts: ReadonlyMap<string, ValueLayout>;
}

/** What a transfer function sees and may record. */
export interface TransferContext {
  readonly node: Node;
  readonly graph: Graph;
  readonly spaces: SpaceTable;
  readonly opset: number;
  layout(value: string): ValueLayout | undefined;
  setLayout(value: string, layout: ValueLayout): void;
  dims(value: string): readonly Dim[] | undefined;
  /** An initializer that is not also a graph input (an overridable input is no weight; IR < 4 excepted). */
  initializer(name: string): Tensor | undefined;
  constant(name: string): Tensor | undefined;
  producer(name: string): Node | undefined;
  readers(name: string): readonly Node[];
  /** Opens a space of `length` channels produced by this node. */
  source(length: number): AxisLayout;
  slice(tensor: string, axis: number, layout: AxisLayout, options?: { statistic?: boolean }): void;
  edit(node: Node, input: number, position: number, layout: AxisLayout): void;
  editAttribute(name: string, layout: AxisLayout): void;
  /** Merges layouts that must shrink identically; a mismatch poisons them. Returns the merged layout. */
  unify(layouts: readonly AxisLayout[]): AxisLayout;
  /** Poisons the given layouts' spaces, or every layout this node reads. */
  poison(reason: string, layouts?: Iterable<AxisLayout>): void;
}

export type Transfer = (ctx: TransferContext) => void;

/** Ops that open spaces even when no input carries channels. */
const SOURCES = new Set(['MatMul', 'Gemm', 'Conv', 'ConvTranspose']);

const label = (n: Node): string => n.name || n.outputs[0];

export function analyzeDependencies(graph: Graph, model: Pick<Model, 'irVersion' | 'opsetImport'>): DependencyAnalysis {
  const spaces = new SpaceTable();
  const sources: Source[] = [];
  const slices: Slice[] = [];
  const edits: ShapeEdit[] = [];
  const attributeEdits: AttributeEdit[] = [];
  const layouts = new Map<string, ValueLayout>();
  const index = graphIndex(graph);
  const { types } = inferGraphTypes(graph, model.opsetImport, model.irVersion);
  const opset = opsetVersion(model) ?? 1;
  // Before IR 4 every initializer is also listed as a graph input: there, such inputs are still weights.
  const legacyInputs = Number(model.irVersion) < 4;

  const poisonLayouts = (reason: string, ls: Iterable<AxisLayout>): void => {
    for (const l of ls) for (const s of spacesOf(l)) spaces.poison(s, reason);
  };
  const layoutsRead = (node: Node): AxisLayout[] => node.inputs.flatMap((x) => [...(layouts.get(x)?.values() ?? [])]);

  for (const node of graph.nodes) {
    const reads = node.inputs.some((x) => layouts.has(x));
    const transfer = node.domain === '' || node.domain === 'ai.onnx' ? TRANSFERS[node.opType] : undefined;
    if (!transfer) {
      if (reads) poisonLayouts(`'${label(node)}' (${node.opType}) reads the channels; it is not understood`, layoutsRead(node));
      continue;
    }
    if (!reads && !SOURCES.has(node.opType)) continue;
    const ctx: TransferContext = {
      node, graph, spaces, opset,
      layout: (v) => layouts.get(v),
      setLayout: (v, l) => { if (v && l.size > 0) layouts.set(v, l); },
      dims: (v) => types.get(v)?.shape,
      initializer: (n) => (n && (legacyInputs || !index.graphInputs.has(n)) ? graph.initializers.get(n) : undefined),
      constant: (n) => (n ? constantOf(graph, n, model.irVersion) : undefined),
      producer: (n) => index.producer.get(n),
      readers: (n) => index.consumers.get(n) ?? [],
      source(length) {
        const space = spaces.create(length);
        sources.push({ node, space, length });
        return [{ space, length }];
      },
      slice: (tensor, axis, layout, options) => slices.push({ tensor, axis, layout, reader: node, statistic: options?.statistic }),
      edit: (at, input, position, layout) => edits.push({ node: at, input, position, layout }),
      editAttribute: (name, layout) => attributeEdits.push({ node, name, layout }),
      unify: (ls) => unify(spaces, ls, `'${label(node)}' (${node.opType})`),
      poison: (reason, ls) => poisonLayouts(`'${label(node)}' (${node.opType}) ${reason}`, ls ?? layoutsRead(node)),
    };
    transfer(ctx);
  }

  for (const [value, layout] of layouts) {
    if (index.graphOutputs.has(value)) poisonLayouts(`'${value}' is a graph output`, layout.values());
    for (const reader of index.consumers.get(value) ?? []) {
      if (!reader.inputs.includes(value)) poisonLayouts(`a subgraph of '${label(reader)}' reads '${value}'`, layout.values());
    }
  }
  checkSlices(graph, spaces, slices, index.consumers);
  return { spaces, sources, slices, edits, attributeEdits, layouts };
}

/** Segment-wise merge; layouts cut differently, or a space meeting channels that must stay, are poisoned. */
function unify(spaces: SpaceTable, ls: readonly AxisLayout[], where: string): AxisLayout {
  const [first, ...rest] = ls;
  for (const other of rest) {
    if (other.length !== first.length || other.some((s, i) => s.length !== first[i].length)) {
      for (const l of ls) for (const s of spacesOf(l)) spaces.poison(s, `${where} joins channels cut into different parts (${lengthOf(first)} vs ${lengthOf(other)})`);
      return first;
    }
    other.forEach((s, i) => {
      const f = first[i];
      if (s.space !== undefined && f.space !== undefined) spaces.union(f.space, s.space);
      else if (s.space !== undefined || f.space !== undefined) spaces.poison((s.space ?? f.space)!, `${where} joins them with channels that must stay`);
    });
  }
  return first;
}

/** A sliced tensor must be sliced the same way by every reader, and read only by nodes that know it is sliced. */
function checkSlices(graph: Graph, spaces: SpaceTable, slices: readonly Slice[], consumers: ReadonlyMap<string, readonly Node[]>): void {
  const byTensor = new Map<string, Slice[]>();
  for (const s of slices) byTensor.set(s.tensor, [...(byTensor.get(s.tensor) ?? []), s]);
  for (const [tensor, list] of byTensor) {
    const poisonAll = (reason: string): void => { for (const s of list) for (const sp of spacesOf(s.layout)) spaces.poison(sp, reason); };
    const readers = new Set(list.map((s) => s.reader));
    const stranger = (consumers.get(tensor) ?? []).find((n) => !readers.has(n));
    if (stranger) poisonAll(`'${tensor}' is also read by '${label(stranger)}'`);
    if (graph.outputs.some((o) => o.name === tensor)) poisonAll(`'${tensor}' is a graph output`);
    for (const a of list) {
      for (const b of list) {
        if (a.axis === b.axis && !sameLayout(spaces, a.layout, b.layout)) poisonAll(`'${tensor}' would be sliced two ways`);
      }
    }
  }
}

export function sameLayout(spaces: SpaceTable, a: AxisLayout, b: AxisLayout): boolean {
  return a.length === b.length && a.every((s, i) => s.length === b[i].length
    && (s.space === undefined ? b[i].space === undefined : b[i].space !== undefined && spaces.find(s.space) === spaces.find(b[i].space!)));
}
