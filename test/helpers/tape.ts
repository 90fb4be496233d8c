// Random graphs as op tapes: each step applies an op to values made by earlier steps, so every generated graph
// is valid by construction and shrinks well. Values are float tensors of one shape [2, 3] (elementwise ops keep
// it); shape-arithmetic steps (Shape → Gather → Concat → Reshape) and redundancies (Identity, Constant nodes,
// duplicate initializers, inference Dropout) give cleanup something to do.
import fc from 'fast-check';
import { DataType, GraphBuilder, makeModel, Tensor, type Model } from '../../src/index.js';

export const SHAPE = [2, 3] as const;

export type TapeStep =
  | { readonly kind: 'binary'; readonly op: 'Add' | 'Mul' | 'Sub' | 'Max'; readonly a: number; readonly b: number }
  | { readonly kind: 'unary'; readonly op: 'Relu' | 'Neg' | 'Abs' | 'Identity' | 'Sigmoid'; readonly a: number }
  | { readonly kind: 'weight'; readonly values: readonly number[]; readonly asConstantNode: boolean; readonly duplicateOf?: number }
  | { readonly kind: 'reshapeRoundTrip'; readonly a: number }
  | { readonly kind: 'dropout'; readonly a: number };

const float = fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true });

export const tapeStep: fc.Arbitrary<TapeStep> = fc.oneof(
  fc.record({ kind: fc.constant('binary' as const), op: fc.constantFrom('Add' as const, 'Mul' as const, 'Sub' as const, 'Max' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('unary' as const), op: fc.constantFrom('Relu' as const, 'Neg' as const, 'Abs' as const, 'Identity' as const, 'Sigmoid' as const), a: fc.nat() }),
  fc.record({ kind: fc.constant('weight' as const), values: fc.array(float, { minLength: 6, maxLength: 6 }), asConstantNode: fc.boolean(), duplicateOf: fc.option(fc.nat(), { nil: undefined }) }),
  fc.record({ kind: fc.constant('reshapeRoundTrip' as const), a: fc.nat() }),
  fc.record({ kind: fc.constant('dropout' as const), a: fc.nat() }),
);

export const tape = fc.array(tapeStep, { minLength: 1, maxLength: 24 });

/** Builds the tape into a model with one input `x` [2,3] and, as outputs, the last value plus a random earlier one. */
export function buildTape(steps: readonly TapeStep[], opset = 17): Model {
  const b = new GraphBuilder('tape');
  const values: string[] = [b.input('x', DataType.FLOAT, [...SHAPE])];
  const weights: Float32Array[] = [];
  const pick = (i: number): string => values[i % values.length];
  for (const s of steps) {
    switch (s.kind) {
      case 'binary': values.push(b.op(s.op, [pick(s.a), pick(s.b)])); break;
      case 'unary': values.push(b.op(s.op, [pick(s.a)])); break;
      case 'dropout': values.push(b.op('Dropout', [pick(s.a)])); break;
      case 'weight': {
        const data = s.duplicateOf !== undefined && weights.length ? weights[s.duplicateOf % weights.length] : Float32Array.from(s.values);
        weights.push(data);
        const t = Tensor.fromArray(DataType.FLOAT, [...SHAPE], data);
        values.push(s.asConstantNode ? b.op('Constant', [], { value: t }) : b.initializer('w', t));
        break;
      }
      case 'reshapeRoundTrip': {
        // Flatten through shape arithmetic and back: Reshape(Reshape(x, [-1]), Concat(Gather(Shape(x), 0), [3])).
        const x = pick(s.a);
        const flat = b.op('Reshape', [x, b.initializer('minus_one', Tensor.fromArray(DataType.INT64, [1], BigInt64Array.of(-1n)))]);
        const shape = b.op('Shape', [x]);
        const rows = b.op('Gather', [shape, b.initializer('zero', Tensor.fromArray(DataType.INT64, [1], BigInt64Array.of(0n)))], { axis: 0 });
        const target = b.op('Concat', [rows, b.initializer('three', Tensor.fromArray(DataType.INT64, [1], BigInt64Array.of(3n)))], { axis: 0 });
        values.push(b.op('Reshape', [flat, target]));
        break;
      }
    }
  }
  const last = values[values.length - 1];
  b.output(last === values[0] ? b.op('Identity', [last]) : last, DataType.FLOAT, [...SHAPE]);
  return makeModel(b.build(), { opset });
}

/** The input feed for tape models. */
export function tapeFeed(seed: number): Record<string, Tensor> {
  const data = new Float32Array(6);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32) * 8 - 4;
  }
  return { x: Tensor.fromArray(DataType.FLOAT, [...SHAPE], data) };
}
