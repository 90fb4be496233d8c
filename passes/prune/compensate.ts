// Mean-activation compensation: a removed channel is not only its weights' contribution but also the constant it
// carried (biases, affine and HardSwish offsets upstream), which its consumer still needs. Each removed channel's
// value at the consumer is replaced by its mean over calibration data, folded into the consumer's bias:
// bias' = bias + Σ_c W[:, c] · mean_c. Means come from the unpruned model (one onnxruntime run per batch).
import { castDraft, produce } from 'immer';
import { freshNamer } from '../../src/rewrite/rename.js';
import type { Graph, Model, Node } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { graphIndex } from '../../src/ir/analysis.js';
import { streamValues, type ValueSink } from '../../src/calib/collect.js';
import type { CalibrationData } from '../../src/calib/data.js';
import type { DependencyAnalysis } from './analysis.js';
import type { UnitChoice } from './transform.js';
import { biasShift, compensationSinks, type Sink } from './compensate-sinks.js';

/** Per-channel running mean of a value along one axis (over batch and every other position). */
class ChannelMean implements ValueSink {
  private sum?: Float64Array;
  private count = 0;
  constructor(private readonly axis: number) {}

  observe(values: Float32Array, dims: readonly number[]): void {
    const axis = this.axis < 0 ? dims.length + this.axis : this.axis;
    const channels = dims[axis];
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    this.sum ??= new Float64Array(channels);
    if (this.sum.length !== channels) throw new Error(`compensation: a batch has ${channels} channels where an earlier one had ${this.sum.length}`);
    for (let i = 0; i < values.length; i++) this.sum[Math.floor(i / inner) % channels] += values[i];
    this.count += values.length / channels;
  }

  means(): Float64Array {
    return this.sum!.map((s) => s / this.count);
  }
}

/** Means of every sink's input channels on the unpruned model; sinks reading one value share its observer. */
async function sinkMeans(model: Model, sinks: readonly Sink[], data: CalibrationData): Promise<Map<string, Float64Array>> {
  const observers = new Map<string, ChannelMean>();
  for (const s of sinks) if (!observers.has(s.value)) observers.set(s.value, new ChannelMean(s.axis));
  await streamValues(model, observers, data, { onProgress: false });
  return new Map([...observers].map(([v, o]) => [v, o.means()]));
}

/** `bias` (any rank, last axis the outputs or broadcast) plus `shift` along the last axis; undefined when it cannot hold it. */
function shiftedBias(bias: Tensor, shift: Float32Array): Tensor | undefined {
  if (bias.dataType !== DataType.FLOAT) return undefined;
  const old = bias.toFloat32();
  const n = shift.length;
  if (bias.dims.at(-1) === n) return Tensor.fromArray(DataType.FLOAT, bias.dims, old.map((v, i) => v + shift[i % n]));
  if (bias.size !== 1) return undefined;
  const dims = bias.dims.length === 0 ? [n] : [...bias.dims.slice(0, -1), n];
  return Tensor.fromArray(DataType.FLOAT, dims, shift.map((v) => v + old[0]));
}

/**
 * The pruned graph with every sink's bias shifted by its removed channels' mean contribution (sliced to the outputs
 * it kept): a Conv's B, a Gemm's C, a MatMul's bias Add — created when there is none. Returns how many sinks changed.
 */
export function foldShifts(pruned: Graph, shifts: ReadonlyMap<Node, Float32Array>, legacyInputs: boolean): { graph: Graph; compensated: number } {
  const index = graphIndex(pruned);
  const byOutput = new Map(pruned.nodes.map((n) => [n.outputs[0], n]));
  const taken = new Set([...pruned.initializers.keys(), ...pruned.nodes.flatMap((n) => n.outputs), ...pruned.inputs.map((v) => v.name)]);
  const fresh = freshNamer(taken);
  const inits = new Map<string, Tensor>();
  const nodes = new Map<Node, Node[]>();
  /** A bias initializer read by one node only keeps its name; a shared one is copied under a new name. Before IR 4
   *  every initializer is also a graph input: there it keeps its name when its declared shape still holds. */
  const rewriteBias = (name: string, t: Tensor): string => {
    const input = index.graphInputs.has(name);
    const sameDims = pruned.initializers.get(name)!.dims.join() === t.dims.join();
    const own = (index.consumers.get(name) ?? []).length === 1 && (!input || (legacyInputs && sameDims));
    const to = own ? name : fresh(`${name}_compensated`);
    inits.set(to, t);
    return to;
  };
  /** Shifts `node`'s bias; false when it has one it cannot shift (an activation, an odd shape). */
  const fold = (node: Node, shift: Float32Array): boolean => {
    if (node.opType !== 'MatMul') {
      const name = node.inputs[2];
      if (!name) {
        const to = fresh(`${node.outputs[0]}_bias`);
        inits.set(to, Tensor.fromArray(DataType.FLOAT, [shift.length], shift));
        nodes.set(node, [{ ...node, inputs: [...node.inputs, to] }]);
        return true;
      }
      const bias = pruned.initializers.get(name);
      const t = bias && shiftedBias(bias, shift);
      if (!t) return false;
      const to = rewriteBias(name, t);
      if (to !== name) nodes.set(node, [{ ...node, inputs: node.inputs.map((x, i) => (i === 2 ? to : x)) }]);
      return true;
    }
    // MatMul: its only reader an Add of an initializer bias → shift that bias; otherwise add one.
    const readers = index.consumers.get(node.outputs[0]) ?? [];
    const add = readers.length === 1 && readers[0].opType === 'Add' && !index.graphOutputs.has(node.outputs[0]) ? readers[0] : undefined;
    const biasName = add?.inputs.find((x) => x !== node.outputs[0]);
    const bias = biasName ? pruned.initializers.get(biasName) : undefined;
    const t = bias && bias.size === shift.length ? shiftedBias(bias, shift) : undefined;
    if (add && biasName && t) {
      const to = rewriteBias(biasName, t);
      if (to !== biasName) nodes.set(add, [{ ...add, inputs: add.inputs.map((x) => (x === biasName ? to : x)) }]);
      return true;
    }
    const product = fresh(`${node.outputs[0]}_unbiased`);
    const b = fresh(`${node.outputs[0]}_bias`);
    inits.set(b, Tensor.fromArray(DataType.FLOAT, [shift.length], shift));
    nodes.set(node, [
      { ...node, outputs: [product] },
      { name: fresh(`${node.name || node.outputs[0]}/compensation`), opType: 'Add', domain: '', inputs: [product, b], outputs: [node.outputs[0]], attributes: [] },
    ]);
    return true;
  };
  let compensated = 0;
  for (const [original, shift] of shifts) {
    const node = byOutput.get(original.outputs[0]);
    if (node && fold(node, shift)) compensated++;
  }
  if (inits.size === 0) return { graph: pruned, compensated: 0 };
  const graph = produce(pruned, (d) => {
    const ds = d.initializers as unknown as Map<string, Tensor>;
    for (const [name, t] of inits) ds.set(name, t);
    if (nodes.size) d.nodes = castDraft(pruned.nodes.flatMap((n) => nodes.get(n) ?? [n]));
  });
  return { graph, compensated };
}

export interface CompensationPlan {
  readonly dependencies: DependencyAnalysis;
  readonly choice: UnitChoice;
}

/**
 * `pruned` (the main graph of `original` pruned by `plan`) with mean-activation compensation from `data`.
 * `sinks`: consumers that lost channels; `compensated`: those whose bias now carries their means.
 */
export async function compensate(original: Model, pruned: Graph, plan: CompensationPlan, data: CalibrationData):
  Promise<{ graph: Graph; sinks: number; compensated: number }> {
  const sinks = compensationSinks(original.graph, plan.dependencies, plan.choice);
  if (sinks.length === 0) return { graph: pruned, sinks: 0, compensated: 0 };
  const means = await sinkMeans(original, sinks, data);
  const shifts = new Map<Node, Float32Array>();
  for (const s of sinks) {
    const full = biasShift(original.graph, s, means.get(s.value)!);
    shifts.set(s.node, Float32Array.from(s.keptOutputs, (o) => full[o]));
  }
  return { ...foldShifts(pruned, shifts, Number(original.irVersion) < 4), sinks: sinks.length };
}
