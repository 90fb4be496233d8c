// A training model from an inference model: the same graph plus a loss head (new inputs such as labels, and the nodes
// computing a scalar loss), with the loss exposed as the graph output `loss`. Heads come from passes/distill/losses.ts
// or are written inline; this only wires one in.
import { castDraft, produce } from 'immer';
import '../rewrite/immer-setup.js';
import { DataType } from '../ir/dtype.js';
import { GraphExtension } from '../ir/extend.js';
import type { Model } from '../ir/model.js';

export interface TrainingModel {
  readonly model: Model;
  /** The scalar loss output. */
  readonly loss: string;
}

/** `head` appends its inputs and nodes through `ext` and returns the loss value; it becomes the output `loss`. */
export function withLossHead(model: Model, head: (ext: GraphExtension) => string): TrainingModel {
  const ext = new GraphExtension(model.graph, 'loss/');
  const value = head(ext);
  const [loss] = ext.node('Identity', [value], {}, { outputNames: [ext.fresh('loss')] });
  ext.output(loss, DataType.FLOAT, []);
  const graph = ext.apply();
  return { model: produce(model, (d) => { d.graph = castDraft(graph); }), loss };
}
