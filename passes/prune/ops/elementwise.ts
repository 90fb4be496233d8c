// Elementwise ops: channels pass through; operands meet under numpy broadcasting. A per-channel constant operand
// is sliced with the channels; another activation with the same channels merges spaces (residual Add, SwiGLU Mul);
// an unrelated activation spanning the channel axis poisons them.
import type { Transfer, TransferContext } from '../analysis.js';
import type { AxisLayout } from '../layout.js';
import { passThrough } from './common.js';

/** An operand as the join sees it: its layout and dims (a batched MatMul passes only its batch axes). */
export interface Operand {
  readonly name: string;
  readonly layout?: ReadonlyMap<number, AxisLayout>;
  readonly dims?: readonly (number | string | undefined)[];
}

/** The layouts of the broadcast result; per-channel initializers are sliced, unrelated activations poison. */
export function broadcastJoin(ctx: TransferContext, operands: readonly Operand[]): Map<number, AxisLayout> {
  const out = new Map<number, AxisLayout>();
  if (operands.some((o) => o.dims === undefined)) { ctx.poison('has an operand of unknown rank'); return out; }
  const rank = Math.max(...operands.map((o) => o.dims!.length));
  for (let axis = 0; axis < rank; axis++) {
    const at = operands.map((o) => axis - (rank - o.dims!.length));
    const layouts = operands.flatMap((o, k) => (at[k] < 0 ? [] : [o.layout?.get(at[k])].filter((l): l is AxisLayout => l !== undefined)));
    if (layouts.length === 0) continue;
    const joined = ctx.unify(layouts);
    operands.forEach((o, k) => {
      if (at[k] < 0 || o.layout?.get(at[k]) || o.dims![at[k]] === 1) return;
      if (ctx.initializer(o.name)) ctx.slice(o.name, at[k], joined);
      else ctx.poison(ctx.constant(o.name) ? `reads '${o.name}', a constant that is not an initializer (run cleanup first)` : `mixes the channels with '${o.name}' (a residual or unrelated value)`, [joined]);
    });
    out.set(axis, joined);
  }
  return out;
}

const join: Transfer = (ctx) => {
  const operands = ctx.node.inputs.filter(Boolean).map((name) => ({ name, layout: ctx.layout(name), dims: ctx.dims(name) }));
  ctx.setLayout(ctx.node.outputs[0], broadcastJoin(ctx, operands));
};

const UNARY = ['Relu', 'Tanh', 'Sigmoid', 'Erf', 'Gelu', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Elu', 'Selu',
  'Softplus', 'Softsign', 'Neg', 'Abs', 'Exp', 'Log', 'Identity', 'Sqrt', 'Reciprocal', 'Mish', 'Celu',
  'ThresholdedRelu', 'Cast', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Not', 'IsNaN', 'IsInf', 'Swish'];

/** Clip's bounds and a per-tensor quantizer's scale and zero point are scalars: the data passes through. */
const scalarParams: Transfer = (ctx) => {
  const params = ctx.node.inputs.slice(1).filter(Boolean);
  if (params.some((p) => (ctx.dims(p) ?? [0]).some((d) => d !== 1))) { ctx.poison('has non-scalar parameters'); return; }
  passThrough(ctx);
};

export const ELEMENTWISE: Record<string, Transfer> = {
  ...Object.fromEntries(UNARY.map((op) => [op, (ctx: TransferContext) => passThrough(ctx)])),
  ...Object.fromEntries(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'PRelu', 'Equal',
    'Less', 'Greater', 'And', 'Or', 'Mod', 'BitShift'].map((op) => [op, join])),
  Clip: scalarParams,
  QuantizeLinear: scalarParams,
  DequantizeLinear: scalarParams,
  Dropout: (ctx) => passThrough(ctx),
  Shape: () => {},
  Size: () => {},
};
