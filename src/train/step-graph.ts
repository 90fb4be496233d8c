// One training step as a plain ONNX inference graph: forward, backward (differentiate) and the optimizer update.
// Trainable initializers become graph inputs, each with its optimizer state (`<w>.m`, `<w>.v` or `<w>.momentum`);
// the outputs are the loss, every updated parameter (`<w>.next`) and state (`<w>.m.next`, ...). Frozen initializers
// stay initializers. Feeding each step's outputs back as the next step's inputs trains the model in any runtime
// that can run inference.
import { castDraft, produce } from 'immer';
import '../rewrite/immer-setup.js';
import { DataType } from '../ir/dtype.js';
import { GraphExtension } from '../ir/extend.js';
import type { Model, ValueInfo } from '../ir/model.js';
import { makeValueInfo } from '../ir/builder.js';
import type { Tensor } from '../ir/tensor.js';
import { differentiate } from '../../passes/grad/differentiate.js';
import { emitUpdate, type OptimizerSpec } from './optimizer.js';
import type { ParamIO } from './step-io.js';

export interface StepGraphOptions {
  /** The scalar loss value (a graph output or any value of the graph). */
  readonly loss: string;
  /** Float initializers to train; every other initializer stays frozen. */
  readonly trainable: readonly string[];
  readonly optimizer: OptimizerSpec;
  /** Clip gradients to this global L2 norm (adds a `grad_norm` output). */
  readonly clipNorm?: number;
  /** Values to expose as extra outputs of each step (e.g. logits for a training metric). */
  readonly keepOutputs?: readonly string[];
}

export interface StepGraph {
  readonly model: Model;
  readonly loss: string;
  /** Scalar float inputs: this step's learning rate, and its 1-based count. */
  readonly lr: string;
  readonly step: string;
  readonly params: readonly ParamIO[];
  readonly gradNorm?: string;
  /** Inputs each batch feeds (everything but parameters, state, lr and step). */
  readonly dataInputs: readonly string[];
  readonly keepOutputs: readonly string[];
  /** The trainable parameters' values in the model the step graph was built from. */
  readonly initial: ReadonlyMap<string, Tensor>;
  readonly optimizer: OptimizerSpec;
}

export class StepGraphError extends Error {}

export function buildStepGraph(model: Model, options: StepGraphOptions): StepGraph {
  const { loss, trainable, optimizer } = options;
  const initial = trainableInitializers(model, trainable);
  const lifted = liftToInputs(model, initial);
  const withGrads = differentiate(lifted, { loss, wrt: trainable });
  // differentiate appends one gradient output per wrt value, last and in wrt order.
  const gradOutputs = withGrads.graph.outputs.slice(-trainable.length).map((v) => v.name);

  const ext = new GraphExtension(withGrads.graph, 'train/');
  const lr = ext.input('lr', DataType.FLOAT, []);
  const step = ext.input('step', DataType.FLOAT, []);
  const refs = trainable.map((name, i) => ({ name, value: name, grad: gradOutputs[i], dims: initial.get(name)!.dims }));
  const update = emitUpdate(ext, refs, optimizer, { lr, step, ...(options.clipNorm === undefined ? {} : { clipNorm: options.clipNorm }) });
  const extended = ext.apply();

  // Outputs: the loss, the update's outputs (already declared by emitUpdate), then what the caller keeps. The
  // model's own outputs and the raw gradients are dropped: nothing reads them back.
  const declared = new Map<string, ValueInfo>(extended.outputs.map((v) => [v.name, v]));
  const asOutput = (name: string): ValueInfo => declared.get(name) ?? makeValueInfo(name, DataType.FLOAT);
  const updateOutputs = extended.outputs.slice(withGrads.graph.outputs.length);
  const keepOutputs = [...(options.keepOutputs ?? [])].filter((n) => n !== loss);
  const defined = new Set([...model.graph.nodes.flatMap((n) => n.outputs), ...model.graph.inputs.map((v) => v.name)]);
  for (const name of keepOutputs) if (!defined.has(name)) throw new StepGraphError(`keepOutputs: '${name}' is not a value of the model`);
  const outputs = [asOutput(loss), ...updateOutputs, ...keepOutputs.map(asOutput)];
  const graph = produce(extended, (d) => { d.outputs = castDraft(outputs); });

  const params: ParamIO[] = refs.map((r) => ({ name: r.name, dims: r.dims, input: r.value, ...update.params.get(r.name)! }));
  const fedByTrainer = new Set([lr, step, ...params.flatMap((p) => [p.input, ...p.state.map((s) => s.input)])]);
  return {
    model: produce(withGrads, (d) => { d.graph = castDraft(graph); }),
    loss, lr, step, params, keepOutputs, initial, optimizer,
    ...(update.gradNorm ? { gradNorm: update.gradNorm } : {}),
    dataInputs: graph.inputs.map((v) => v.name).filter((n) => !fedByTrainer.has(n) && !graph.initializers.has(n)),
  };
}

function trainableInitializers(model: Model, trainable: readonly string[]): Map<string, Tensor> {
  if (trainable.length === 0) throw new StepGraphError('nothing to train: the trainable list is empty');
  const out = new Map<string, Tensor>();
  for (const name of trainable) {
    const t = model.graph.initializers.get(name);
    if (!t) throw new StepGraphError(`trainable '${name}' is not an initializer of the model`);
    if (t.dataType !== DataType.FLOAT) throw new StepGraphError(`trainable '${name}' is ${DataType[t.dataType]}; only float32 parameters can be trained`);
    if (out.has(name)) throw new StepGraphError(`trainable '${name}' is listed twice`);
    out.set(name, t);
  }
  return out;
}

/** The model with each of `params` a graph input instead of an initializer. */
function liftToInputs(model: Model, params: ReadonlyMap<string, Tensor>): Model {
  const declared = new Set(model.graph.inputs.map((v) => v.name));
  return produce(model, (d) => {
    const inits = d.graph.initializers as unknown as Map<string, Tensor>;
    for (const [name, t] of params) {
      inits.delete(name);
      // Before IR 4 initializers were also listed as inputs; then the declaration is already there.
      if (!declared.has(name)) d.graph.inputs.push(castDraft(makeValueInfo(name, DataType.FLOAT, t.dims)));
    }
  });
}
