// Hidden-state distillation pairs (TinyBERT, Sheared-LLaMA): where pruning keeps the residual stream's width
// (heads and FFN units go, the model dim stays), every normalized residual value has the same shape in student and
// teacher, so each can learn the teacher's by MSE beside the logits' KL. Each pair is weighted by 1 / the teacher
// value's variance, so a layer whose stream is 10× larger does not weigh 100× more; `weight` is shared out among them.
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { constantOf, graphIndex } from '../ir/analysis.js';
import { streamValues } from '../calib/collect.js';
import type { DistillPair } from '../../passes/distill.pass.js';

/** The values an RMSNorm reads (x of Pow(x, 2) in exported graphs): the residual stream before each block and the final norm. */
export function rmsNormInputs(model: Model): string[] {
  const g = model.graph;
  const squared = g.nodes.filter((n) => n.opType === 'Pow' && constantOf(g, n.inputs[1])?.toFloat32()[0] === 2);
  return [...new Set(squared.map((n) => n.inputs[0]))];
}

/**
 * The values a LayerNorm reads: the X of LayerNormalization nodes and of exported decompositions (x − ReduceMean(x)
 * feeding the variance), as in SVTR/BERT-style blocks, where the residual stream keeps its width under pruning.
 */
export function layerNormInputs(model: Model): string[] {
  const g = model.graph;
  const meanOf = new Map(g.nodes.filter((n) => n.opType === 'ReduceMean').map((n) => [n.outputs[0], n.inputs[0]]));
  const centred = g.nodes.filter((n) => n.opType === 'Sub' && meanOf.get(n.inputs[1]) === n.inputs[0]).map((n) => n.inputs[0]);
  const fused = g.nodes.filter((n) => n.opType === 'LayerNormalization').map((n) => n.inputs[0]);
  const read = new Set([...centred, ...fused]);
  return [...g.inputs.map((i) => i.name), ...g.nodes.flatMap((n) => n.outputs)].filter((v) => read.has(v)); // graph order
}

/** Variance of each value over every element the feeds produce (one session run per feed). */
export async function valueVariances(model: Model, values: readonly string[], feeds: ReadonlyArray<Record<string, Tensor>>, threads = 1): Promise<number[]> {
  const sums = values.map(() => ({ n: 0, sum: 0, squares: 0 }));
  const sinks = new Map(values.map((v, i) => [v, {
    observe: (xs: Float32Array) => { const s = sums[i]; for (const x of xs) { s.n++; s.sum += x; s.squares += x * x; } },
  }]));
  await streamValues(model, sinks, feeds, { onProgress: false, session: { threads } });
  return sums.map(({ n, sum, squares }) => squares / n - (sum / n) ** 2);
}

/** MSE pairs on `values` (same name in both models), weighted `weight / (count · variance)`. */
export function hiddenStatePairs(values: readonly string[], variances: readonly number[], weight: number): DistillPair[] {
  return values.map((v, i) => {
    if (!(variances[i] > 0)) throw new Error(`the teacher's '${v}' has variance ${variances[i]}: it cannot normalize an MSE pair`);
    return { student: v, teacher: v, loss: 'mse', weight: weight / (values.length * variances[i]) };
  });
}

/**
 * MSE pairs on the residual stream both models have under the same names (the teacher's LayerNorm and RMSNorm
 * inputs that the student also defines, as a pruned copy does), weighted by the teacher's variances over `feeds`.
 */
export async function residualStreamPairs(student: Model, teacher: Model, feeds: ReadonlyArray<Record<string, Tensor>>, weight: number, threads = 1): Promise<DistillPair[]> {
  const { producer, graphInputs } = graphIndex(student.graph);
  const values = [...new Set([...layerNormInputs(teacher), ...rmsNormInputs(teacher)])].filter((v) => producer.has(v) || graphInputs.has(v));
  return values.length ? hiddenStatePairs(values, await valueVariances(teacher, values, feeds, threads), weight) : [];
}
