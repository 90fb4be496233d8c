// The parameter update of one optimizer step, emitted as ONNX nodes: gradients, weights and moments in, updated
// weights and moments out. Any runtime that can run inference can then apply it (see step-graph.ts).
// Semantics follow PyTorch: AdamW with decoupled weight decay and bias correction, SGD with (undampened) momentum
// and L2 weight decay added to the gradient. The learning rate and the step count are scalar graph inputs, so a
// schedule is fed per step without rebuilding anything.
import { DataType } from '../ir/dtype.js';
import type { GraphExtension } from '../ir/extend.js';
import { Tensor } from '../ir/tensor.js';

export interface AdamWSpec {
  readonly kind: 'adamw';
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled: p ← p·(1 − lr·wd) before the Adam update. 0 gives plain Adam. */
  readonly weightDecay?: number;
}

export interface SgdSpec {
  readonly kind: 'sgd';
  /** 0 gives plain SGD (the momentum buffer is still carried, to keep one state layout). */
  readonly momentum?: number;
  /** L2: g ← g + wd·p. */
  readonly weightDecay?: number;
}

export type OptimizerSpec = AdamWSpec | SgdSpec;

export type StateRole = 'm' | 'v' | 'momentum';

/** Per-parameter state tensors an optimizer carries from step to step (each shaped like the parameter). */
export function stateRolesOf(spec: OptimizerSpec): readonly StateRole[] {
  return spec.kind === 'adamw' ? ['m', 'v'] : ['momentum'];
}

export function resolveAdamW(spec: AdamWSpec): Required<AdamWSpec> {
  return { kind: 'adamw', beta1: spec.beta1 ?? 0.9, beta2: spec.beta2 ?? 0.999, eps: spec.eps ?? 1e-8, weightDecay: spec.weightDecay ?? 0 };
}

export function resolveSgd(spec: SgdSpec): Required<SgdSpec> {
  return { kind: 'sgd', momentum: spec.momentum ?? 0, weightDecay: spec.weightDecay ?? 0 };
}

/** One parameter as the update sees it: value names in the graph being extended. */
export interface ParamRef {
  readonly name: string;
  readonly value: string;
  readonly grad: string;
  readonly dims: readonly number[];
}

export interface StateSlot {
  readonly role: StateRole;
  /** Graph input holding the state before the step (`<param>.<role>`, unless that name was taken). */
  readonly input: string;
  /** Graph output holding it after the step (`<input>.next`, unless taken). */
  readonly next: string;
}

export interface ParamUpdate {
  /** Graph output holding the updated parameter (`<param>.next`, unless taken). */
  readonly next: string;
  readonly state: readonly StateSlot[];
}

export interface UpdateHyper {
  /** Scalar float input: the learning rate of this step. */
  readonly lr: string;
  /** Scalar float input: the 1-based step count (AdamW bias correction). */
  readonly step: string;
  /** Clip gradients to this global L2 norm before the update. */
  readonly clipNorm?: number;
}

export interface EmittedUpdate {
  readonly params: ReadonlyMap<string, ParamUpdate>;
  /** Graph output holding the global gradient norm before clipping (`grad_norm`; present when clipping). */
  readonly gradNorm?: string;
}

/**
 * Appends the update of every parameter in `params` to `ext`: one state input per parameter and role, and graph
 * outputs for the updated parameters and state.
 */
export function emitUpdate(ext: GraphExtension, params: readonly ParamRef[], spec: OptimizerSpec, hyper: UpdateHyper): EmittedUpdate {
  const k = (hint: string, value: number): string => ext.constant(hint, Tensor.scalar(DataType.FLOAT, value));
  let grads = params.map((p) => p.grad);
  let gradNorm: string | undefined;
  if (hyper.clipNorm !== undefined) {
    if (!(hyper.clipNorm > 0)) throw new Error(`clipNorm must be positive, got ${hyper.clipNorm}`);
    ({ grads, norm: gradNorm } = clipByGlobalNorm(ext, grads, hyper.clipNorm, k));
  }
  const stateInput = (p: ParamRef, role: StateRole): string => ext.input(`${p.name}.${role}`, DataType.FLOAT, p.dims);
  // The last op of each result writes straight into its documented output name.
  const output = (hint: string, dims: readonly number[]) => (op: string, inputs: string[]): string => {
    const [name] = ext.node(op, inputs, {}, { outputNames: [ext.fresh(hint)] });
    ext.output(name, DataType.FLOAT, dims);
    return name;
  };
  const out = new Map<string, ParamUpdate>();
  if (spec.kind === 'adamw') {
    const s = resolveAdamW(spec);
    const adam = adamScalars(ext, s, hyper, k);
    params.forEach((p, i) => {
      const m = stateInput(p, 'm'), v = stateInput(p, 'v');
      const named = { next: output(`${p.name}.next`, p.dims), m: output(`${m}.next`, p.dims), v: output(`${v}.next`, p.dims) };
      out.set(p.name, adamWUpdate(ext, p, grads[i], adam, m, v, named));
    });
  } else {
    const s = resolveSgd(spec);
    const momentum = k('sgd.momentum', s.momentum);
    const wd = s.weightDecay ? k('sgd.weight_decay', s.weightDecay) : undefined;
    params.forEach((p, i) => {
      const buf = stateInput(p, 'momentum');
      const g = wd ? ext.op('Add', [grads[i], ext.op('Mul', [p.value, wd])]) : grads[i];
      const bufNext = output(`${buf}.next`, p.dims)('Add', [ext.op('Mul', [buf, momentum]), g]);
      const next = output(`${p.name}.next`, p.dims)('Sub', [p.value, ext.op('Mul', [bufNext, hyper.lr])]);
      out.set(p.name, { next, state: [{ role: 'momentum', input: buf, next: bufNext }] });
    });
  }
  if (gradNorm) {
    const name = ext.fresh('grad_norm');
    ext.node('Identity', [gradNorm], {}, { outputNames: [name] });
    ext.output(name, DataType.FLOAT, []);
    gradNorm = name;
  }
  return { params: out, ...(gradNorm ? { gradNorm } : {}) };
}

type Constant = (hint: string, value: number) => string;

/** Constants and scalars every parameter's AdamW update shares (made once, computed once per step). */
interface AdamScalars {
  readonly beta1: string;
  readonly beta2: string;
  readonly oneMinusBeta1: string;
  readonly oneMinusBeta2: string;
  readonly eps: string;
  /** lr / (1 − β1^t) */
  readonly stepSize: string;
  /** sqrt(1 − β2^t) */
  readonly sqrtBias2: string;
  /** 1 − lr·wd, absent without weight decay. */
  readonly decay?: string;
}

function adamScalars(ext: GraphExtension, s: Required<AdamWSpec>, hyper: UpdateHyper, k: Constant): AdamScalars {
  const one = k('adamw.one', 1);
  const beta1 = k('adamw.beta1', s.beta1);
  const beta2 = k('adamw.beta2', s.beta2);
  const bias1 = ext.op('Sub', [one, ext.op('Pow', [beta1, hyper.step])]);
  const bias2 = ext.op('Sub', [one, ext.op('Pow', [beta2, hyper.step])]);
  const decay = s.weightDecay ? ext.op('Sub', [one, ext.op('Mul', [hyper.lr, k('adamw.weight_decay', s.weightDecay)])]) : undefined;
  return {
    beta1, beta2, oneMinusBeta1: k('adamw.one_minus_beta1', 1 - s.beta1), oneMinusBeta2: k('adamw.one_minus_beta2', 1 - s.beta2),
    eps: k('adamw.eps', s.eps), stepSize: ext.op('Div', [hyper.lr, bias1]), sqrtBias2: ext.op('Sqrt', [bias2]), ...(decay ? { decay } : {}),
  };
}

type Emit = (op: string, inputs: string[]) => string;

function adamWUpdate(
  ext: GraphExtension, p: ParamRef, grad: string, c: AdamScalars, m: string, v: string, named: { next: Emit; m: Emit; v: Emit },
): ParamUpdate {
  const mNext = named.m('Add', [ext.op('Mul', [m, c.beta1]), ext.op('Mul', [grad, c.oneMinusBeta1])]);
  const gg = ext.op('Mul', [grad, grad]);
  const vNext = named.v('Add', [ext.op('Mul', [v, c.beta2]), ext.op('Mul', [gg, c.oneMinusBeta2])]);
  const denom = ext.op('Add', [ext.op('Div', [ext.op('Sqrt', [vNext]), c.sqrtBias2]), c.eps]);
  const decayed = c.decay ? ext.op('Mul', [p.value, c.decay]) : p.value;
  const next = named.next('Sub', [decayed, ext.op('Mul', [ext.op('Div', [mNext, denom]), c.stepSize])]);
  return { next, state: [{ role: 'm', input: m, next: mNext }, { role: 'v', input: v, next: vNext }] };
}

/** g ← g · min(1, maxNorm / (‖g‖ + 1e-6)) over all gradients together (PyTorch's clip_grad_norm_). */
function clipByGlobalNorm(ext: GraphExtension, grads: readonly string[], maxNorm: number, k: Constant): { grads: string[]; norm: string } {
  const squares = grads.map((g) => ext.op('ReduceSumSquare', [g], { keepdims: 0 }));
  const total = squares.length === 1 ? squares[0] : ext.op('Sum', squares);
  const norm = ext.op('Sqrt', [total]);
  const ratio = ext.op('Div', [k('clip.max_norm', maxNorm), ext.op('Add', [norm, k('clip.eps', 1e-6)])]);
  const scale = ext.op('Min', [ratio, k('clip.one', 1)]);
  return { grads: grads.map((g) => ext.op('Mul', [g, scale])), norm };
}
