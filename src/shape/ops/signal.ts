// Signal processing: DFT (axis an attribute in opset 17, an input from 20), STFT, window functions,
// MelWeightMatrix.
import { attrInt } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type RuleSet, numbersOf, tensorType, withShape } from '../context.js';
import { normalizeAxis } from '../dims.js';

const scalar = (ctx: InferContext, i: number): number | undefined => numbersOf(ctx.value(i))?.[0];

function dftShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs || xs.length < 2) return undefined;
  const axisValue = ctx.opset < 20 ? attrInt(ctx.node, 'axis', 1) : ctx.hasInput(2) ? scalar(ctx, 2) : -2;
  const axis = axisValue === undefined ? undefined : normalizeAxis(axisValue, xs.length);
  const onesided = attrInt(ctx.node, 'onesided', 0) === 1;
  const inverse = attrInt(ctx.node, 'inverse', 0) === 1;
  const irfft = onesided && inverse;
  const out = [...xs.slice(0, -1), irfft ? 1 : 2];
  if (axis === undefined) return out.map((d, i) => (i === xs.length - 1 ? d : undefined));
  const dim = xs[axis];
  const given = ctx.hasInput(1) ? scalar(ctx, 1) : undefined;
  const length = given ?? (ctx.hasInput(1) ? undefined : irfft && typeof dim === 'number' ? 2 * (dim - 1) : dim);
  out[axis] = onesided && !inverse ? (typeof length === 'number' ? Math.floor(length / 2) + 1 : undefined) : length;
  return out;
}

function stftShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  const step = scalar(ctx, 1);
  const frameLength = ctx.hasInput(3) ? scalar(ctx, 3) : ctx.input(2)?.shape?.[0];
  if (!xs) return undefined;
  const len = xs[1];
  const frames = typeof len === 'number' && typeof frameLength === 'number' && step ? Math.floor((len - frameLength) / step) + 1 : undefined;
  const onesided = attrInt(ctx.node, 'onesided', 1) === 1;
  const bins = typeof frameLength === 'number' ? (onesided ? Math.floor(frameLength / 2) + 1 : frameLength) : undefined;
  return [xs[0], frames, bins, 2];
}

const window = { infer: (ctx: InferContext) => [tensorType(attrInt(ctx.node, 'output_datatype', DataType.FLOAT), [scalar(ctx, 0)])] };

export const signalRules: RuleSet = {
  DFT: { infer: (ctx) => [withShape(ctx.input(0), dftShape(ctx))] },
  STFT: { infer: (ctx) => [withShape(ctx.input(0), stftShape(ctx))] },
  HannWindow: window,
  HammingWindow: window,
  BlackmanWindow: window,
  MelWeightMatrix: {
    infer: (ctx) => {
      const bins = scalar(ctx, 0);
      const dft = scalar(ctx, 1);
      return [tensorType(attrInt(ctx.node, 'output_datatype', DataType.FLOAT), [dft === undefined ? undefined : Math.floor(dft / 2) + 1, bins])];
    },
  },
};
