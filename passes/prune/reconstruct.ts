// Least-squares compensation: every sink (a consumer that lost input channels) gets new kept weights and a bias
// shift that best reproduce its unpruned pre-activation output on calibration data (passes/prune/lstsq.ts).
// Sequential (the default, as in ThiNet and He et al.): sinks are solved in stages along the graph, each stage
// reading its inputs from the pruned model with the earlier stages already reconstructed, run side by side with the
// unpruned model for the targets, so a sink also corrects the error that piled up before it. One-shot reads every
// sink's inputs from the unpruned model in one run.
import { castDraft, produce } from 'immer';
import { attrFloat, type Graph, type Model, type Node } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { graphIndex, usesOf } from '../../src/ir/analysis.js';
import { freshNamer, valueNames } from '../../src/rewrite/rename.js';
import { makeTensorType } from '../../src/ir/types.js';
import { streamValues, type ValueSink } from '../../src/calib/collect.js';
import type { CalibrationData } from '../../src/calib/data.js';
import { mergeTeacher } from '../distill/merge.js';
import { compensationSinks, type Sink } from './compensate-sinks.js';
import { foldShifts, type CompensationPlan } from './compensate.js';
import { inputReader, outputReader } from './features.js';
import { FanOut, PairedMoments, ridgeSolve } from './lstsq.js';
import { crossValidatedRidge, FoldedMoments } from './ridge-cv.js';

export interface ReconstructOptions {
  /** λ as a multiple of the mean of E[s²] over a sink's kept features; 0: chosen per sink by cross-validation. */
  readonly ridge: number;
  readonly sequential: boolean;
}

/** Conv positions sampled per batch and sink: SqueezeNet's 13×13 maps are read whole, its 55×55 ones a third. */
const MAX_POSITIONS = 1024;

interface SinkSystem {
  readonly sink: Sink;
  readonly kernel: readonly number[];
  /** keptOutputs × (kept channels × taps): the kept weights as they were, Gemm's alpha folded in (what the ridge pulls toward). */
  readonly prior: Float64Array;
  /** The bias in the sink's output, per kept output (beta·C for Gemm, 0 for MatMul: its bias Add comes after). */
  readonly bias: Float64Array;
  readonly moments: FoldedMoments;
}

/** The sink's system, or undefined when its output is not W x + a per-output bias (a Gemm C per row). */
function systemOf(graph: Graph, sink: Sink): SinkSystem | undefined {
  const w = graph.initializers.get(sink.weight)!;
  const data = w.toFloat32();
  const node = sink.node;
  const kernel = node.opType === 'Conv' ? w.dims.slice(2) : [];
  const taps = kernel.reduce((a, b) => a * b, 1);
  const channels = w.dims[sink.weightAxis];
  const outputs = w.dims[1 - sink.weightAxis];
  const [alpha, beta] = node.opType === 'Gemm' ? [attrFloat(node, 'alpha', 1), attrFloat(node, 'beta', 1)] : [1, 1];
  const hasBias = node.opType !== 'MatMul' && !!node.inputs[2];
  const b = hasBias ? graph.initializers.get(node.inputs[2])?.toFloat32() : undefined;
  if (hasBias && (!b || (b.length !== 1 && b.length !== outputs))) return undefined;
  const bias = Float64Array.from(sink.keptOutputs, (o) => (b ? beta * b[b.length === 1 ? 0 : o] : 0));
  const features = channels * taps;
  const ns = sink.kept.length * taps;
  const prior = new Float64Array(sink.keptOutputs.length * ns);
  sink.keptOutputs.forEach((o, i) => {
    sink.kept.forEach((c, j) => {
      for (let t = 0; t < taps; t++) {
        const f = c * taps + t;
        // [O, C, taps...] for Conv and Gemm transB; [C, O] for MatMul and Gemm.
        prior[i * ns + j * taps + t] = alpha * (sink.weightAxis === 1 ? data[o * features + f] : data[f * outputs + o]);
      }
    });
  });
  return { sink, kernel, prior, bias, moments: new FoldedMoments(sink.keptOutputs.length, ns) };
}

/** The observers of one sink: its unpruned output (named `target`) and its input (named `source`). */
function observersOf(s: SinkSystem, target: string, source: string, oneShot: boolean): Array<readonly [string, ValueSink]> {
  const { node, axis, kept, keptOutputs } = s.sink;
  const pair = new PairedMoments(s.moments, outputReader(node, keptOutputs, MAX_POSITIONS),
    // One-shot reads the unpruned input and picks the kept channels; the pruned model has no others.
    inputReader(node, axis, s.kernel, MAX_POSITIONS, oneShot ? kept : undefined));
  return [[target, pair.target], [source, pair.source]];
}

/** Stage of each sink: 1 + the most sinks on any path into it, so a stage only reads sinks of earlier stages. */
function stagesOf(graph: Graph, sinks: readonly Sink[]): Sink[][] {
  const bySink = new Map(sinks.map((s) => [s.node, s]));
  const depth = new Map<string, number>();
  const stages: Sink[][] = [];
  for (const node of graph.nodes) {
    const inDepth = Math.max(0, ...usesOf(node).map((x) => depth.get(x) ?? 0));
    const sink = bySink.get(node);
    const d = sink ? inDepth + 1 : inDepth;
    if (sink) (stages[d - 1] ??= []).push(sink);
    for (const o of node.outputs) depth.set(o, d);
  }
  return stages.filter(Boolean);
}

/** The sink's solved weights in its pruned tensor's layout, its bias shift (in its bias's own units) and the λ used. */
function solved(s: SinkSystem, current: Tensor, fixedRidge: number): { weight: Tensor; shift: Float32Array; ridge: number } {
  const moments = s.moments.total();
  const { targets: outputs, sources: features } = moments;
  const ridge = fixedRidge > 0 ? fixedRidge : crossValidatedRidge(s.moments, s.prior);
  const x = ridgeSolve(moments, s.prior, ridge);
  const n = features + 1;
  const node = s.sink.node;
  const [alpha, beta] = node.opType === 'Gemm' ? [attrFloat(node, 'alpha', 1), attrFloat(node, 'beta', 1)] : [1, 1];
  const data = new Float32Array(outputs * features);
  const shift = new Float32Array(outputs);
  for (let i = 0; i < outputs; i++) {
    for (let f = 0; f < features; f++) {
      data[s.sink.weightAxis === 1 ? i * features + f : f * outputs + i] = x[i * n + f] / alpha;
    }
    shift[i] = (x[i * n + features] - s.bias[i]) / beta;
  }
  if (current.size !== data.length) throw new Error(`reconstruction: '${s.sink.weight}' holds ${current.size} values, the solve gave ${data.length}`);
  return { weight: Tensor.fromArray(DataType.FLOAT, current.dims, data), shift, ridge };
}

/** `graph` with the solved sinks' weights replaced (a weight other nodes also read is copied) and bias shifts folded. */
function applySolved(graph: Graph, systems: readonly SinkSystem[], ridge: number, legacyInputs: boolean, ridges: number[]): Graph {
  const index = graphIndex(graph);
  const byOutput = new Map(graph.nodes.map((n) => [n.outputs[0], n]));
  const inits = new Map<string, Tensor>();
  const rewired = new Map<Node, Node>();
  const shifts = new Map<Node, Float32Array>();
  const fresh = freshNamer(new Set(valueNames(graph)));
  for (const s of systems) {
    const node = byOutput.get(s.sink.node.outputs[0])!;
    const name = node.inputs[1];
    const { weight, shift, ridge: used } = solved(s, graph.initializers.get(name)!, ridge);
    ridges.push(used);
    const shared = (index.consumers.get(name) ?? []).length > 1 || inits.has(name);
    const to = shared ? fresh(`${name}_reconstructed`) : name;
    inits.set(to, weight);
    if (to !== name) rewired.set(node, { ...node, inputs: node.inputs.map((x, i) => (i === 1 ? to : x)) });
    shifts.set(s.sink.node, shift);
  }
  const weighted = produce(graph, (d) => {
    const ds = d.initializers as unknown as Map<string, Tensor>;
    for (const [name, t] of inits) ds.set(name, t);
    if (rewired.size) d.nodes = castDraft(graph.nodes.map((n) => rewired.get(n) ?? n));
  });
  return foldShifts(weighted, shifts, legacyInputs).graph;
}

/** `model` computing only `values` (its outputs, float), for a calibration run that needs nothing else. */
function observing(model: Model, values: readonly string[]): Model {
  const g = model.graph;
  const live = new Set(values);
  const nodes: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((o) => live.has(o))) continue;
    nodes.push(n);
    for (const u of usesOf(n)) live.add(u);
  }
  nodes.reverse();
  return produce(model, (d) => {
    d.graph.nodes = castDraft(nodes);
    d.graph.outputs = castDraft(values.map((name) => ({ name, type: makeTensorType(DataType.FLOAT) })));
    d.graph.valueInfo = castDraft(g.valueInfo.filter((v) => live.has(v.name)));
  });
}

/** Streams `data` into every observer of `model`, several observers of one value fanned out. */
async function observe(model: Model, observers: ReadonlyArray<readonly [string, ValueSink]>, data: CalibrationData): Promise<void> {
  const byValue = new Map<string, ValueSink[]>();
  for (const [v, o] of observers) byValue.set(v, [...(byValue.get(v) ?? []), o]);
  const sinks = new Map([...byValue].map(([v, list]) => [v, list.length === 1 ? list[0] : new FanOut(list)] as const));
  await streamValues(observing(model, [...sinks.keys()]), sinks, data, { onProgress: false });
}

/**
 * `pruned` (the main graph of `original` pruned by `plan`) with every sink reconstructed by least squares on `data`
 * (read once one-shot, once per stage sequentially). `sinks`: consumers that lost channels; `compensated`: those solved;
 * `ridges`: the λ each solved sink used.
 */
export async function reconstruct(original: Model, pruned: Graph, plan: CompensationPlan, data: CalibrationData, options: ReconstructOptions):
  Promise<{ graph: Graph; sinks: number; compensated: number; stages: number; ridges: number[] }> {
  const sinks = compensationSinks(original.graph, plan.dependencies, plan.choice);
  const legacyInputs = Number(original.irVersion) < 4;
  const stages = options.sequential ? stagesOf(original.graph, sinks) : [sinks];
  let graph = pruned, compensated = 0;
  const ridges: number[] = [];
  for (const stage of stages) {
    const systems = stage.map((s) => systemOf(original.graph, s)).filter((s): s is SinkSystem => s !== undefined);
    if (systems.length === 0) continue;
    if (!options.sequential) {
      await observe(original, systems.flatMap((s) => observersOf(s, s.sink.node.outputs[0], s.sink.value, true)), data);
    } else {
      // The pruned model so far is the student; the unpruned one rides along under prefixed names for the targets.
      const { model, teacherNames } = mergeTeacher({ ...original, graph }, original);
      await observe(model, systems.flatMap((s) => observersOf(s, teacherNames.get(s.sink.node.outputs[0])!, s.sink.value, false)), data);
    }
    graph = applySolved(graph, systems, options.ridge, legacyInputs, ridges);
    compensated += systems.length;
  }
  return { graph, sinks: sinks.length, compensated, stages: stages.length, ridges };
}
