// The two MNIST models trained from scratch by train-mnist.bench.ts, as inference models: `image` float
// [N,1,28,28] in [0,1] → `logits` [N,10]. He-initialized from a seed; biases zero.
import { DataType } from '../../src/ir/dtype.js';
import { GraphBuilder, makeModel } from '../../src/ir/builder.js';
import type { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { heNormal, normalSampler, zeros } from '../../src/train/init.js';
import { rng } from '../../src/train/shuffle.js';

export const IMAGE = 'image';
export const LOGITS = 'logits';
const BATCH = 'batch';

/** x·W + b; `out` names the result (GraphBuilder otherwise names values after their node). */
function dense(g: GraphBuilder, x: string, name: string, fanIn: number, fanOut: number, normal: () => number, out?: string): string {
  const w = g.initializer(`${name}.weight`, heNormal([fanIn, fanOut], fanIn, normal));
  const b = g.initializer(`${name}.bias`, zeros([fanOut]));
  return g.node('Add', [g.op('MatMul', [x, w]), b], {}, out ? { outputNames: [out] } : {})[0];
}

function flatten(g: GraphBuilder, x: string, features: number): string {
  return g.op('Reshape', [x, g.initializer('flat_shape', Tensor.fromArray(DataType.INT64, [2], BigInt64Array.of(-1n, BigInt(features))))]);
}

/** 784-256-10 with ReLU. */
export function buildMlp(seed: number): Model {
  const normal = normalSampler(rng(seed));
  const g = new GraphBuilder('mnist_mlp');
  const image = g.input(IMAGE, DataType.FLOAT, [BATCH, 1, 28, 28]);
  const hidden = g.op('Relu', [dense(g, flatten(g, image, 784), 'fc1', 784, 256, normal)]);
  return withLogits(g, dense(g, hidden, 'fc2', 256, 10, normal, LOGITS));
}

/** conv3×3(16)-relu-maxpool2, conv3×3(32)-relu-maxpool2, fc(1568→10). */
export function buildCnn(seed: number): Model {
  const normal = normalSampler(rng(seed));
  const g = new GraphBuilder('mnist_cnn');
  let x = g.input(IMAGE, DataType.FLOAT, [BATCH, 1, 28, 28]);
  let channels = 1;
  for (const [i, out] of [16, 32].entries()) {
    const w = g.initializer(`conv${i + 1}.weight`, heNormal([out, channels, 3, 3], channels * 9, normal));
    const b = g.initializer(`conv${i + 1}.bias`, zeros([out]));
    x = g.op('Conv', [x, w, b], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    x = g.op('MaxPool', [g.op('Relu', [x])], { kernel_shape: [2, 2], strides: [2, 2] });
    channels = out;
  }
  return withLogits(g, dense(g, flatten(g, x, channels * 7 * 7), 'fc', channels * 7 * 7, 10, normal, LOGITS));
}

/** The model with `logits` as its one output. */
function withLogits(g: GraphBuilder, value: string): Model {
  if (value !== LOGITS) throw new Error(`'${LOGITS}' is already taken in ${g.name}`);
  g.output(value, DataType.FLOAT, [BATCH, 10]);
  return makeModel(g.build(), { opset: 17 });
}
