// Convolution. dX is the transposed convolution of g with the same weights (output_padding restores the input size
// the forward stride rounded away); dW correlates X with g, computed as a Conv with batch and channel axes swapped
// and stride and dilation exchanged (groups become a grouped Conv over (group, batch) channels); dB sums g.
import { attrInt, attrInts, attrString } from '../../src/ir/model.js';
import { range, type GradContext, type GradRule } from './rule.js';

export interface ConvGeometry {
  readonly inSpatial: readonly number[];
  readonly kernel: readonly number[];
  readonly strides: number[];
  readonly dilations: number[];
  /** [begin..., end...] as ONNX lays them out. */
  readonly pads: number[];
  readonly outSpatial: number[];
}

/** Kernel, strides, dilations and explicit pads of a Conv/pool node over static spatial dims (auto_pad resolved). */
export function convGeometry(ctx: GradContext, kernel: readonly number[]): ConvGeometry {
  const x = ctx.inputs[0];
  const inSpatial = (ctx.staticShape(x) ?? staticSpatial(ctx, x)).slice(2);
  const s = inSpatial.length;
  const strides = attrInts(ctx.node, 'strides') ?? Array(s).fill(1);
  const dilations = attrInts(ctx.node, 'dilations') ?? Array(s).fill(1);
  const autoPad = attrString(ctx.node, 'auto_pad', 'NOTSET');
  const ceil = attrInt(ctx.node, 'ceil_mode', 0) === 1;
  let pads = attrInts(ctx.node, 'pads') ?? Array(2 * s).fill(0);
  if (autoPad === 'VALID') pads = Array(2 * s).fill(0);
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = Array(2 * s).fill(0);
    inSpatial.forEach((n, i) => {
      const out = Math.ceil(n / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - n);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + s] = total - pads[i];
    });
  }
  const round = ceil ? Math.ceil : Math.floor;
  const outSpatial = inSpatial.map((n, i) => round((n + pads[i] + pads[i + s] - (kernel[i] - 1) * dilations[i] - 1) / strides[i]) + 1);
  return { inSpatial, kernel, strides, dilations, pads, outSpatial };
}

/** Spatial dims must be static (the batch may be symbolic): the transposed convolution's output size depends on them. */
function staticSpatial(ctx: GradContext, x: string): number[] {
  const dims = ctx.dims(x) ?? ctx.fail(`the shape of '${x}' is unknown`);
  return dims.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : ctx.fail(`dim ${i} of '${x}' is not static`)));
}

/** output_padding that makes a transposed convolution of the forward output come back to the input size. */
export function outputPadding(geo: ConvGeometry): number[] {
  const s = geo.inSpatial.length;
  return geo.inSpatial.map((n, i) => n - ((geo.outSpatial[i] - 1) * geo.strides[i] + (geo.kernel[i] - 1) * geo.dilations[i] + 1 - geo.pads[i] - geo.pads[i + s]));
}

export const conv: GradRule = {
  op: 'Conv',
  backward: (ctx) => {
    const [x, w, b] = ctx.inputs, g = ctx.grads[0]!, e = ctx.emit;
    const wShape = ctx.staticShape(w) ?? ctx.fail(`the weight shape of '${w}' is not static`);
    const kernel = attrInts(ctx.node, 'kernel_shape') ?? wShape.slice(2);
    const geo = convGeometry(ctx, kernel);
    const group = attrInt(ctx.node, 'group', 1);
    const s = kernel.length;
    const swap01 = [1, 0, ...range(s + 2, 2)];
    const dx = (): string => e.op('ConvTranspose', [g, w], {
      group, kernel_shape: [...kernel], strides: geo.strides, dilations: geo.dilations, pads: geo.pads, output_padding: outputPadding(geo),
    });
    const dw = (): string => {
      const channels = typeof ctx.dims(x)?.[1] === 'number' ? (ctx.dims(x)![1] as number) : ctx.fail('the input channel count is not static');
      // [N, C, *] → [C/G, G·N, *]: each group's input channels as batch, (group, sample) pairs as channels.
      const xs = group === 1 ? e.op('Transpose', [x], { perm: swap01 })
        : e.op('Reshape', [
          e.op('Transpose', [e.op('Reshape', [x, ctx.ints([0, group, channels / group, ...geo.inSpatial])])], { perm: [2, 1, 0, ...range(s + 3, 3)] }),
          ctx.ints([channels / group, -1, ...geo.inSpatial]),
        ]);
      const gs = e.op('Transpose', [g], { perm: swap01 });
      let corr = e.op('Conv', [xs, gs], { group, strides: geo.dilations, dilations: geo.strides, pads: geo.pads });
      // The correlation can run past the kernel where the forward stride dropped a remainder: keep the kernel window.
      const reach = geo.inSpatial.map((n, i) => Math.floor((n + geo.pads[i] + geo.pads[i + s] - (geo.outSpatial[i] - 1) * geo.strides[i] - 1) / geo.dilations[i]) + 1);
      if (reach.some((r, i) => r !== kernel[i])) corr = e.op('Slice', [corr, ctx.ints(Array(s).fill(0)), ctx.ints(kernel), ctx.ints(range(s + 2, 2))]);
      return e.op('Transpose', [corr], { perm: swap01 });
    };
    return [
      ctx.needsGrad(0) ? dx() : undefined,
      ctx.needsGrad(1) ? dw() : undefined,
      b && ctx.needsGrad(2) ? ctx.reduceSum(g, [0, ...range(s + 2, 2)], false) : undefined,
    ];
  },
};

export const convRules: readonly GradRule[] = [conv];
