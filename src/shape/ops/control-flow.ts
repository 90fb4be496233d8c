// Control flow: If (the branch a constant condition selects, else what both branches agree on), Loop and Scan
// (bodies inferred with their carried values generalised until the types stop changing).
import { attrInt, attrInts, getAttribute, type Graph } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import type { Dim, TensorType } from '../../ir/types.js';
import { type InferContext, type OutputTypes, type RuleSet, numbersOf, tensorType } from '../context.js';
import { normalizeAxis, unifyDim } from '../dims.js';

function graphAttr(ctx: InferContext, name: string): Graph | undefined {
  const a = getAttribute(ctx.node, name);
  return a?.type === 'graph' ? a.value : undefined;
}

/** What two possible types of one value have in common (dims that differ become unknown). */
export function joinTypes(a: TensorType | undefined, b: TensorType | undefined): TensorType | undefined {
  if (!a || !b) return undefined;
  const elemType = a.elemType === b.elemType ? a.elemType : DataType.UNDEFINED;
  const shape = a.shape && b.shape && a.shape.length === b.shape.length ? a.shape.map((d, i) => (d === b.shape![i] ? d : undefined)) : undefined;
  return tensorType(elemType, shape);
}

const sameTypes = (a: readonly (TensorType | undefined)[], b: readonly (TensorType | undefined)[]): boolean =>
  a.every((t, i) => JSON.stringify(t) === JSON.stringify(b[i]));

/**
 * Runs a body whose first `carried` inputs (after `fixed`) feed back from its outputs [offset, offset + carried):
 * widens the carried types until one more iteration keeps them. Returns the body outputs and the carried types.
 */
function iterate(ctx: InferContext, body: Graph, fixed: readonly (TensorType | undefined)[], initial: readonly (TensorType | undefined)[],
  rest: readonly (TensorType | undefined)[], offset: number): { outs: OutputTypes; carried: (TensorType | undefined)[] } {
  let carried = [...initial];
  for (let round = 0; ; round++) {
    const outs = ctx.subgraph(body, [...fixed, ...carried, ...rest]);
    const next = carried.map((t, i) => joinTypes(t, outs[offset + i]));
    if (sameTypes(next, carried) || round >= 3) return { outs, carried: next };
    carried = next;
  }
}

function ifRule(ctx: InferContext): OutputTypes {
  const cond = numbersOf(ctx.value(0));
  const thenBranch = graphAttr(ctx, 'then_branch');
  const elseBranch = graphAttr(ctx, 'else_branch');
  if (!thenBranch || !elseBranch) return [];
  if (cond?.length === 1) return ctx.subgraph(cond[0] ? thenBranch : elseBranch, []);
  const a = ctx.subgraph(thenBranch, []);
  const b = ctx.subgraph(elseBranch, []);
  return a.map((t, i) => joinTypes(t, b[i]));
}

function loopRule(ctx: InferContext): OutputTypes {
  const body = graphAttr(ctx, 'body');
  if (!body) return [];
  const initial = Array.from({ length: ctx.inputCount - 2 }, (_, i) => ctx.input(2 + i));
  const { outs, carried } = iterate(ctx, body, [tensorType(DataType.INT64, []), tensorType(DataType.BOOL, [])], initial, [], 1);
  // The trip count is M only when no condition can stop the loop early.
  const trip: Dim = !ctx.hasInput(1) ? ctx.value(0)?.[0] : undefined;
  const scans = outs.slice(1 + carried.length).map((t) => t && tensorType(t.elemType, t.shape && [trip, ...t.shape]));
  return [...carried, ...scans];
}

function scanRule(ctx: InferContext): OutputTypes {
  const body = graphAttr(ctx, 'body');
  if (!body) return [];
  const m = attrInt(ctx.node, 'num_scan_inputs', 0);
  const batched = ctx.opset < 9; // Scan-8 has a leading batch axis and an optional sequence_lens first input.
  const first = batched ? 1 : 0;
  const n = ctx.inputCount - first - m;
  const states = Array.from({ length: n }, (_, i) => ctx.input(first + i));
  const scans = Array.from({ length: m }, (_, i) => ctx.input(first + n + i));
  const inputAxes = batched ? scans.map(() => 1) : attrInts(ctx.node, 'scan_input_axes') ?? scans.map(() => 0);
  let length: Dim;
  const slices = scans.map((t, i) => {
    const shape = t?.shape;
    const axis = shape ? normalizeAxis(inputAxes[i], shape.length) : undefined;
    if (!shape || axis === undefined) return t && tensorType(t.elemType);
    length = i === 0 ? shape[axis] : unifyDim(length, shape[axis]);
    return tensorType(t!.elemType, shape.filter((_, k) => k !== axis && !(batched && k === 0)));
  });
  const batch = batched ? [...states, ...scans].find((t) => t?.shape)?.shape?.[0] : undefined;
  const unbatched = batched ? states.map((t) => t && tensorType(t.elemType, t.shape?.slice(1))) : states;
  const { outs, carried } = iterate(ctx, body, [], unbatched, slices, 0);
  const outputAxes = attrInts(ctx.node, 'scan_output_axes');
  const scanOuts = outs.slice(n).map((t, k) => {
    if (!t?.shape) return t && tensorType(t.elemType);
    if (batched) return tensorType(t.elemType, [batch, length, ...t.shape]);
    const axis = normalizeAxis(outputAxes?.[k] ?? 0, t.shape.length + 1) ?? 0;
    return tensorType(t.elemType, [...t.shape.slice(0, axis), length, ...t.shape.slice(axis)]);
  });
  const finals = batched ? carried.map((t) => t && tensorType(t.elemType, t.shape && [batch, ...t.shape])) : carried;
  return [...finals, ...scanOuts];
}

export const controlFlowRules: RuleSet = {
  If: { infer: ifRule },
  Loop: { infer: loopRule },
  Scan: { infer: scanRule },
};
