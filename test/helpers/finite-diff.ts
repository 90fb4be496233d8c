// Gradient checking: analytic gradients from a differentiated model run in onnxruntime, against central finite
// differences of the forward model's loss, perturbing one element at a time (all of them, or a sample); and the
// one-op scenarios the property tests build (loss = Σ op(x) ⊙ W).
import { produce, castDraft } from 'immer';
import type { Model } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { GraphBuilder, makeModel, makeValueInfo } from '../../src/ir/builder.js';
import { inferModelTypes } from '../../src/shape/index.js';
import { assertValid } from '../../src/ir/verify.js';
import { rng } from '../../src/runtime/feeds.js';
import { differentiate, gradName } from '../../passes/grad/differentiate.js';
import { createSession, runModel } from '../../src/runtime/ort.js';

export interface Tolerance {
  /** Perturbation of one element (central differences: f(x+eps) - f(x-eps) over 2eps). */
  readonly eps: number;
  readonly rtol: number;
  readonly atol: number;
}

/** float64 graphs: FD error ~1e-10, so a wrong factor or a missing term fails by orders of magnitude. */
export const DOUBLE_TOLERANCE: Tolerance = { eps: 1e-6, rtol: 1e-6, atol: 1e-8 };
/** float32 graphs (ops onnxruntime only runs in float32): larger steps, percent-level agreement. */
export const FLOAT_TOLERANCE: Tolerance = { eps: 1e-2, rtol: 1e-2, atol: 2e-3 };

/**
 * The model with the initializers `names` turned into plain graph inputs, so feeds can set them (onnxruntime-node
 * does not let a feed override an initializer, even one also declared as an input).
 */
export function exposeAsInputs(model: Model, names: readonly string[]): Model {
  const have = new Set(model.graph.inputs.map((v) => v.name));
  return produce(model, (d) => {
    const inits = d.graph.initializers as unknown as Map<string, Tensor>;
    for (const n of names) {
      const t = model.graph.initializers.get(n);
      if (!t) continue;
      inits.delete(n);
      if (!have.has(n)) d.graph.inputs.push(castDraft(makeValueInfo(n, t.dataType, t.dims)));
    }
  });
}

const toNumbers = (t: Tensor): Float64Array => Float64Array.from(t.toArray() as ArrayLike<number>);

function withValue(t: Tensor, i: number, value: number): Tensor {
  const arr = t.dataType === DataType.DOUBLE ? Float64Array.from(t.toArray() as Float64Array) : Float32Array.from(t.toArray() as Float32Array);
  arr[i] = value;
  return Tensor.fromArray(t.dataType, t.dims, arr);
}

/**
 * d loss / d feeds[name][i] by central differences, for each i in `indices` (default: every element). `forward`
 * must read `name` as a graph input. Returns the differences in `indices` order.
 */
export async function finiteDifferences(
  forward: Model, feeds: Readonly<Record<string, Tensor>>, loss: string, name: string, eps: number, indices?: readonly number[],
): Promise<Float64Array> {
  const session = await createSession(forward);
  const base = feeds[name];
  const picks = indices ?? Array.from({ length: base.size }, (_, i) => i);
  const out = new Float64Array(picks.length);
  const lossAt = async (v: Tensor): Promise<number> => toNumbers((await runModel(session, { ...feeds, [name]: v }))[loss])[0];
  const values = base.toArray() as Float64Array;
  for (let k = 0; k < picks.length; k++) {
    const i = picks[k];
    const plus = await lossAt(withValue(base, i, values[i] + eps));
    const minus = await lossAt(withValue(base, i, values[i] - eps));
    out[k] = (plus - minus) / (2 * eps);
  }
  await session.release();
  return out;
}

/** Where analytic and numeric gradients disagree beyond `tol`, else undefined. */
export function gradientMismatch(label: string, analytic: ArrayLike<number>, numeric: ArrayLike<number>, tol: Tolerance): string | undefined {
  if (analytic.length !== numeric.length) return `${label}: ${analytic.length} analytic vs ${numeric.length} numeric entries`;
  for (let i = 0; i < analytic.length; i++) {
    const a = analytic[i], n = numeric[i];
    if (!(Math.abs(a - n) <= tol.atol + tol.rtol * Math.max(Math.abs(a), Math.abs(n)))) {
      return `${label}[${i}]: analytic ${a} vs finite difference ${n} (analytic ${Array.from(analytic).map((v) => v.toPrecision(4)).join(',')}; numeric ${Array.from(numeric).map((v) => v.toPrecision(4)).join(',')})`;
    }
  }
  return undefined;
}

export { toNumbers };

// ---- One-op gradient scenarios (the property tests' harness) ----


export interface ScenarioInput {
  readonly name: string;
  readonly dims: readonly number[];
  readonly values: ArrayLike<number>;
  /** Differentiate with respect to it (else it is a fixed input). */
  readonly grad?: boolean;
  /** Element type; the scenario's by default. */
  readonly dataType?: DataType;
}

export interface Scenario {
  readonly dtype: DataType.FLOAT | DataType.DOUBLE;
  readonly inputs: readonly ScenarioInput[];
  /** Builds the op(s) under test over the inputs (by name); returns the value the loss reads. */
  readonly build: (b: GraphBuilder, x: Readonly<Record<string, string>>) => string;
  /** A different forward graph whose true gradient the rule must match (the straight-through estimator's surrogate). */
  readonly reference?: (b: GraphBuilder, x: Readonly<Record<string, string>>) => string;
  readonly opset?: number;
  readonly tolerance?: Tolerance;
  /** Seeds the loss weights. */
  readonly seed: number;
}

/** Loss = Σ out ⊙ W with fixed random weights W, so every output element's gradient matters and differs. */
function lossModel(s: Scenario, build: Scenario['build']): { model: Model; loss: string } {
  const b = new GraphBuilder('grad_case');
  const names: Record<string, string> = {};
  for (const i of s.inputs) names[i.name] = b.input(i.name, i.dataType ?? s.dtype, i.dims);
  const out = build(b, names);
  const probe = makeModel(b.build(), { opset: s.opset ?? 17 });
  const shape = inferModelTypes(probe).types.get(out)?.shape;
  if (!shape || !shape.every((d): d is number => typeof d === 'number')) throw new Error(`no static shape for '${out}'`);
  const next = rng(s.seed);
  const n = shape.reduce((a, c) => a * c, 1);
  const w = s.dtype === DataType.DOUBLE ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 + next();
  const weighted = b.op('Mul', [out, b.initializer('loss_weights', Tensor.fromArray(s.dtype, shape, w))]);
  const loss = b.op('ReduceSum', [weighted], { keepdims: 0 }, { name: 'loss' });
  b.output(loss, s.dtype, []);
  return { model: makeModel(b.build(), { opset: s.opset ?? 17 }), loss };
}

export function feedsOf(s: Scenario): Record<string, Tensor> {
  return Object.fromEntries(s.inputs.map((i) => {
    const t = i.dataType ?? s.dtype;
    const values = t === DataType.DOUBLE ? Float64Array.from(i.values) : t === DataType.FLOAT ? Float32Array.from(i.values)
      : t === DataType.INT64 ? BigInt64Array.from(Array.from(i.values, (v) => BigInt(v))) : t === DataType.BOOL ? Uint8Array.from(i.values) : Int32Array.from(i.values);
    return [i.name, Tensor.fromArray(t, i.dims, values)];
  }));
}

/** Differentiates the scenario and compares every gradient with finite differences; returns what disagreed. */
export async function scenarioMismatch(s: Scenario): Promise<string | undefined> {
  const { model, loss } = lossModel(s, s.build);
  const wrt = s.inputs.filter((i) => i.grad).map((i) => i.name);
  const diff = differentiate(model, { loss, wrt });
  assertValid(diff);
  const feeds = feedsOf(s);
  const got = await runModel(diff, feeds);
  const before = await runModel(model, feeds);
  if (toNumbers(before[loss])[0] !== toNumbers(got[loss])[0]) return `the loss changed: ${toNumbers(before[loss])} -> ${toNumbers(got[loss])}`;
  const reference = s.reference ? lossModel(s, s.reference) : { model, loss };
  const tol = s.tolerance ?? (s.dtype === DataType.DOUBLE ? DOUBLE_TOLERANCE : FLOAT_TOLERANCE);
  for (const w of wrt) {
    const g = got[gradName(w)];
    if (!g) return `no gradient output for '${w}'`;
    if (g.dims.join(',') !== feeds[w].dims.join(',')) return `${w}: gradient shape [${g.dims}] vs [${feeds[w].dims}]`;
    const numeric = await finiteDifferences(reference.model, feeds, reference.loss, w, tol.eps);
    const bad = gradientMismatch(w, toNumbers(g), numeric, tol);
    if (bad) return bad;
  }
  return undefined;
}
