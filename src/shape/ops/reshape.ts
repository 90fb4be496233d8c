// Ops that rearrange dims without touching data: Reshape, Flatten, Squeeze/Unsqueeze, Transpose, Expand, Tile,
// DepthToSpace/SpaceToDepth. Values pass through the pure rearrangements, so shape arithmetic survives them.
import { attrInt, attrInts } from '../../ir/model.js';
import type { Dim } from '../../ir/types.js';
import { type InferContext, type OpRule, type RuleSet, type Value, numbersOf, withShape } from '../context.js';
import { broadcastShapes, divDims, divideProducts, isStatic, mulDims, normalizeAxis, productOf } from '../dims.js';

/** The input's value unchanged (the op only changes the shape). */
const passValue = (ctx: InferContext): Value | undefined => ctx.value(0);

/** Dims unknown but the rank is known: the length of a 1-D axes/shape input. */
function unknownDims(length: Dim): Dim[] | undefined {
  return typeof length === 'number' ? new Array(length).fill(undefined) : undefined;
}

function reshapeShape(ctx: InferContext): Dim[] | undefined {
  const input = ctx.input(0)?.shape;
  const target = ctx.opset < 5 ? attrInts(ctx.node, 'shape') : ctx.value(1);
  if (!target) return unknownDims(ctx.input(1)?.shape?.[0]);
  const allowZero = attrInt(ctx.node, 'allowzero', 0) === 1;
  const out = target.map((d, i) => (d === 0 && !allowZero ? input?.[i] : d));
  const inferred = out.indexOf(-1);
  if (inferred >= 0) out[inferred] = input ? divideProducts(input, out.filter((_, i) => i !== inferred)) : undefined;
  return out;
}

function flattenShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  let axis = attrInt(ctx.node, 'axis', 1);
  if (axis < 0) axis += xs.length;
  return [productOf(xs.slice(0, axis)), productOf(xs.slice(axis))];
}

/** Axes of Squeeze/Unsqueeze: an attribute before opset 13, the optional second input from 13. */
function axesOf(ctx: InferContext): { axes?: number[]; given: boolean } {
  if (ctx.opset < 13) {
    const axes = attrInts(ctx.node, 'axes');
    return { axes, given: axes !== undefined };
  }
  if (!ctx.hasInput(1)) return { given: false };
  return { axes: numbersOf(ctx.value(1)), given: true };
}

function squeezeShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  const { axes, given } = axesOf(ctx);
  if (!given) return xs.every(isStatic) ? xs.filter((d) => d !== 1) : undefined;
  if (!axes) return unknownDims(typeof ctx.input(1)?.shape?.[0] === 'number' ? xs.length - (ctx.input(1)!.shape![0] as number) : undefined);
  const drop = new Set(axes.map((a) => normalizeAxis(a, xs.length)));
  return xs.filter((_, i) => !drop.has(i));
}

function unsqueezeShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  const { axes } = axesOf(ctx);
  if (!xs || !axes) return undefined;
  const rank = xs.length + axes.length;
  const inserted = new Set(axes.map((a) => normalizeAxis(a, rank)));
  const rest = [...xs];
  return Array.from({ length: rank }, (_, i) => (inserted.has(i) ? 1 : rest.shift()));
}

function transposeShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  const perm = attrInts(ctx.node, 'perm') ?? xs.map((_, i) => xs.length - 1 - i);
  return perm.map((p) => xs[p]);
}

function expandShape(ctx: InferContext): Dim[] | undefined {
  const target = ctx.value(1);
  const xs = ctx.input(0)?.shape;
  if (!target) {
    const n = ctx.input(1)?.shape?.[0];
    return xs && typeof n === 'number' ? unknownDims(Math.max(n, xs.length)) : undefined;
  }
  return broadcastShapes([xs, target]);
}

function tileShape(ctx: InferContext): Dim[] | undefined {
  const xs = ctx.input(0)?.shape;
  if (!xs) return undefined;
  if (ctx.opset < 6) {
    // Tile-1 repeats one axis: inputs (input, tiles, axis).
    const [tiles, axis] = [ctx.value(1)?.[0], numbersOf(ctx.value(2))?.[0]];
    const a = axis === undefined ? undefined : normalizeAxis(axis, xs.length);
    return a === undefined ? unknownDims(xs.length) : xs.map((d, i) => (i === a ? mulDims(d, tiles) : d));
  }
  const repeats = ctx.value(1);
  return repeats ? xs.map((d, i) => mulDims(d, repeats[i])) : unknownDims(xs.length);
}

/** DepthToSpace (`down` false) and SpaceToDepth (`down` true) with blocksize b. */
function blockShape(down: boolean): OpRule {
  return {
    infer: (ctx) => {
      const xs = ctx.input(0)?.shape;
      const b = attrInt(ctx.node, 'blocksize', 1);
      if (!xs || xs.length < 3) return [withShape(ctx.input(0), undefined)];
      const [n, c, ...spatial] = xs;
      const shape = down
        ? [n, mulDims(c, b ** spatial.length), ...spatial.map((d) => divDims(d, b))]
        : [n, divDims(c, b ** spatial.length), ...spatial.map((d) => mulDims(d, b))];
      return [withShape(ctx.input(0), shape)];
    },
  };
}

const shaped = (shape: (ctx: InferContext) => Dim[] | undefined, value?: OpRule['value']): OpRule => ({
  infer: (ctx) => [withShape(ctx.input(0), shape(ctx))],
  value,
});

export const reshapeRules: RuleSet = {
  Reshape: shaped(reshapeShape, passValue),
  Flatten: shaped(flattenShape, passValue),
  Squeeze: shaped(squeezeShape, passValue),
  Unsqueeze: shaped(unsqueezeShape, passValue),
  Transpose: shaped(transposeShape),
  Expand: shaped(expandShape, (ctx, out) => {
    const v = ctx.value(0);
    const n = out?.shape && numbersOf(out.shape as Value)?.reduce((a, b) => a * b, 1);
    return v?.length === 1 && n !== undefined ? new Array(n).fill(v[0]) : undefined;
  }),
  Tile: shaped(tileShape),
  DepthToSpace: blockShape(false),
  SpaceToDepth: blockShape(true),
};
