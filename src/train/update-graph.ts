// The optimizer update on its own, as a model: parameters, their gradients, optimizer state, `lr` and `step` in;
// updated parameters and state out. For runtimes that compute gradients elsewhere, and to test the update alone.
import { DataType } from '../ir/dtype.js';
import { GraphExtension } from '../ir/extend.js';
import { makeGraph, makeModel } from '../ir/builder.js';
import type { Model } from '../ir/model.js';
import { emitUpdate, type OptimizerSpec, type ParamRef } from './optimizer.js';
import type { ParamIO } from './step-io.js';

export interface UpdateModel {
  readonly model: Model;
  readonly params: readonly (ParamIO & { readonly gradInput: string })[];
  readonly lr: string;
  readonly step: string;
  /** Output holding the gradient norm before clipping (with `clipNorm`). */
  readonly gradNorm?: string;
}

export function buildUpdateModel(
  params: readonly { readonly name: string; readonly dims: readonly number[] }[], optimizer: OptimizerSpec, clipNorm?: number,
): UpdateModel {
  const ext = new GraphExtension(makeGraph({ name: 'update', nodes: [], inputs: [], outputs: [] }), 'update/');
  const lr = ext.input('lr', DataType.FLOAT, []);
  const step = ext.input('step', DataType.FLOAT, []);
  const refs: ParamRef[] = params.map((p) => ({
    name: p.name, dims: p.dims, value: ext.input(p.name, DataType.FLOAT, p.dims), grad: ext.input(`${p.name}.grad`, DataType.FLOAT, p.dims),
  }));
  const update = emitUpdate(ext, refs, optimizer, { lr, step, ...(clipNorm === undefined ? {} : { clipNorm }) });
  const io = refs.map((p) => ({ name: p.name, dims: p.dims, input: p.value, gradInput: p.grad, ...update.params.get(p.name)! }));
  const model = makeModel(ext.apply(), { opset: 17 });
  return { model, params: io, lr, step, ...(update.gradNorm ? { gradNorm: update.gradNorm } : {}) };
}
