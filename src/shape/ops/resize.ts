// Resampling: Resize (scales or sizes; inputs moved across opsets 10/11/13, axes and aspect policy from 18),
// Upsample, GridSample, AffineGrid.
import { attrFloats, attrInts, attrString } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type RuleSet, numbersOf, tensorType, withShape } from '../context.js';
import { normalizeAxis } from '../dims.js';

/** floor(size * scale), where the scale is read as the float32 the model stores. */
const scaled = (d: Dim, scale: number): Dim => (typeof d === 'number' ? Math.floor(d * scale) : scale === 1 ? d : undefined);

function resizeShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  const scalesAt = ctx.opset < 11 ? 1 : 2;
  const sizes = ctx.opset >= 11 && ctx.hasInput(3) ? ctx.value(3) : undefined;
  const scales = ctx.hasInput(scalesAt) ? numbersOf(ctx.value(scalesAt)) : undefined;
  const axes = (attrInts(ctx.node, 'axes') ?? xs.map((_, i) => i)).map((a) => normalizeAxis(a, xs.length));
  if (axes.includes(undefined)) return undefined;
  const out = [...xs];
  if (sizes && sizes.length > 0) {
    const policy = attrString(ctx.node, 'keep_aspect_ratio_policy', 'stretch');
    if (policy === 'stretch') {
      axes.forEach((a, i) => { out[a!] = sizes[i]; });
      return out;
    }
    const ratios = axes.map((a, i) => {
      const [s, d] = [sizes[i], xs[a!]];
      return typeof s === 'number' && typeof d === 'number' ? s / d : undefined;
    });
    if (ratios.includes(undefined)) return xs.map(() => undefined);
    const scale = policy === 'not_larger' ? Math.min(...(ratios as number[])) : Math.max(...(ratios as number[]));
    // round_int: nearest, halfway cases up.
    axes.forEach((a) => { out[a!] = Math.floor(scale * (xs[a!] as number) + 0.5); });
    return out;
  }
  if (scales && scales.length > 0) {
    axes.forEach((a, i) => { out[a!] = scaled(xs[a!], scales[i]); });
    return out;
  }
  return xs.map(() => undefined);
}

function upsampleShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  // Upsample-1 (experimental) scaled by height_scale/width_scale; 7 by a scales attribute; 9 by an input.
  const scales = ctx.opset < 7 ? undefined : ctx.opset < 9 ? attrFloats(ctx.node, 'scales') : numbersOf(ctx.value(1));
  return scales ? xs.map((d, i) => scaled(d, Math.fround(scales[i]))) : xs.map(() => undefined);
}

export const resizeRules: RuleSet = {
  Resize: { infer: (ctx) => [withShape(ctx.input(0), resizeShape(ctx))] },
  Upsample: { infer: (ctx) => [withShape(ctx.input(0), upsampleShape(ctx))] },
  // GridSample: [N, C, grid's spatial dims...]; the grid is [N, spatial..., r].
  GridSample: {
    infer: (ctx) => {
      const xs = ctx.input(0)?.shape;
      const grid = ctx.input(1)?.shape;
      return [withShape(ctx.input(0), xs && grid ? [xs[0], xs[1], ...grid.slice(1, -1)] : undefined)];
    },
  },
  // AffineGrid: theta [N, r, r+1] and size [N, C, spatial...] give a grid [N, spatial..., r].
  AffineGrid: {
    infer: (ctx) => {
      const size = ctx.value(1);
      const theta = ctx.input(0);
      const shape = size && size.length >= 3 ? [size[0], ...size.slice(2), size.length - 2] : undefined;
      return [tensorType(theta?.elemType ?? DataType.UNDEFINED, shape)];
    },
  },
};
