// The QAT starting point: the static QDQ model (static.ts) turned into a trainable "fake quant" model with the very
// same quantizers, so training starts exactly at the PTQ result:
//   weights  DQ(W_int8, s, 0)       → DQ(Q(W, s(W), 0), s(W), 0): W a float initializer (the dequantized codes),
//            s(W) = max|W| / 127 per channel computed in the graph, so the grid follows the trained weights and the
//            export re-quantizes with exactly the scales training saw. The STE rules (rules/grad/quant.ts) train W;
//            the DQ rule gives scales no gradient, so s(W) is a moving grid, not a learned one. (Where the static pass
//            widened a channel's scale so its int32 bias fits — rare — training uses the plain max|W|/127 grid.)
//   biases   DQ(b_int32, s_x·s_w)  → b float: int32 rounding is far below what training resolves; int32 again at export.
//   PACT     Q(x, s, 0) (uint8, range calibrated non-negative) → Q(Clip(x, 0, α), α/255, 0) with α trainable (initial
//            255·s): α learns through the Clip rule (Σ g where x ≥ α, rules/grad/activations.ts) and the scale follows
//            it in the graph without passing gradient back, as in the PACT paper. Quantizers behind pass-through ops
//            (MaxPool, Reshape, ...) that had the same scale read the same α/255, so onnxruntime still drops them.
// Activation quantizers without PACT keep their calibrated scales, frozen.
import type { Model, Node } from '../../src/ir/model.js';
import { attrInt, opsetVersion } from '../../src/ir/model.js';
import { graphIndex } from '../../src/ir/analysis.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { KERNEL_OPS, PASS_THROUGH_OPS } from '../../src/quant/placement.js';
import { GraphEdits } from './qat-graph.js';

export interface FakeWeight {
  /** Names the export gives the int8 codes, scale and zero point (the static pass's own). */
  readonly codes: string;
  readonly scale: string;
  readonly zeroPoint: string;
  /** Per-channel axis; undefined: one scale. */
  readonly axis?: number;
}

export interface FakeBias {
  readonly codes: string;
  readonly scale: string;
  /** The kernel (Conv/Gemm/MatMul) whose input and weight scales make the bias scale. */
  readonly kernel: string;
  readonly perChannel: boolean;
}

export interface FakeQuantModel {
  readonly model: Model;
  readonly weights: ReadonlyMap<string, FakeWeight>;
  readonly biases: ReadonlyMap<string, FakeBias>;
  /** PACT clip level → the activation scale value computed from it. */
  readonly alphas: ReadonlyMap<string, string>;
  /** Nodes only training needs (weight quantizers, scale arithmetic, PACT clips): the export removes them. */
  readonly aux: ReadonlySet<string>;
  readonly trainable: readonly string[];
}

export function toFakeQuant(qdq: Model, options: { pact: boolean }): FakeQuantModel {
  const g = qdq.graph;
  const index = graphIndex(g);
  const edits = new GraphEdits(qdq, 'qat/');
  const opset = opsetVersion(qdq) ?? 13;
  const init = (name: string | undefined): Tensor | undefined => (name ? g.initializers.get(name) : undefined);
  const readers = (v: string): readonly Node[] => index.consumers.get(v) ?? [];
  const weights = new Map<string, FakeWeight>(), biases = new Map<string, FakeBias>(), alphas = new Map<string, string>();
  const before = new Set(g.nodes.map((n) => n.name));
  const scalars = new Map<number, string>();
  const scalarOf = (v: number): string => {
    if (!scalars.has(v)) scalars.set(v, edits.constant('qat/const', Tensor.scalar(DataType.FLOAT, v)));
    return scalars.get(v)!;
  };

  for (const node of g.nodes) {
    if (node.opType !== 'DequantizeLinear') continue;
    const codes = init(node.inputs[0]);
    const users = readers(node.outputs[0]);
    if (codes?.dataType === DataType.INT8 && users.length > 0 && users.every((u) => KERNEL_OPS.includes(u.opType) && u.inputs[1] === node.outputs[0])) {
      fakeWeight(node, codes);
    } else if (codes?.dataType === DataType.INT32) {
      fakeBias(node, codes, users);
    }
  }
  if (options.pact) pact();

  function fakeWeight(dq: Node, codes: Tensor): void {
    const [codesName, scaleName, zpName] = dq.inputs;
    const scale = init(scaleName)!;
    const perChannel = scale.size > 1;
    const axis = perChannel ? attrInt(dq, 'axis', 1) : undefined;
    const w = edits.constant(codesName.replace(/_quantized$/, '') || 'qat/w', dequantized(codes, scale, axis));
    const rank = codes.dims.length;
    const others = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== (axis === undefined ? -1 : (axis + rank) % rank));
    const absMax = opset >= 18
      ? edits.insert(dq, 'ReduceMax', [edits.insert(dq, 'Abs', [w]), edits.constant('qat/axes', Tensor.fromArray(DataType.INT64, [others.length], BigInt64Array.from(others.map(BigInt))))], { keepdims: 0 })
      : edits.insert(dq, 'ReduceMax', [edits.insert(dq, 'Abs', [w])], { axes: others, keepdims: 0 });
    // The computed scale takes the initializer's name: Q and DQ keep reading one shared scale, as the STE rule wants.
    edits.deleteInit.add(scaleName);
    edits.insert(dq, 'Max', [edits.insert(dq, 'Div', [absMax, scalarOf(127)]), scalarOf(2 ** -100)], {}, scaleName);
    const q = edits.insert(dq, 'QuantizeLinear', [w, scaleName, zpName], axis === undefined ? {} : { axis });
    edits.replace(dq, { ...dq, inputs: [q, scaleName, zpName] });
    weights.set(w, { codes: codesName, scale: scaleName, zeroPoint: zpName, ...(axis === undefined ? {} : { axis }) });
  }

  function fakeBias(dq: Node, codes: Tensor, users: readonly Node[]): void {
    const scale = init(dq.inputs[1])!;
    const user = users[0];
    // The bias of a MatMul comes through the Add that follows it.
    const kernel = user?.opType === 'Add' ? index.producer.get(user.inputs[0] === dq.outputs[0] ? user.inputs[1] : user.inputs[0]) : user;
    if (users.length !== 1 || !kernel || !KERNEL_OPS.includes(kernel.opType)) return;
    const b = edits.constant(dq.inputs[0].replace(/_quantized$/, '') || 'qat/b', dequantized(codes, scale, scale.size > 1 ? 0 : undefined));
    edits.rename.set(dq.outputs[0], b);
    edits.drop(dq);
    biases.set(b, { codes: dq.inputs[0], scale: dq.inputs[1], kernel: kernel.name, perChannel: scale.size > 1 });
  }

  function pact(): void {
    const original = new Map<string, number>(); // PACT scale name → its calibrated value
    for (const q of g.nodes) {
      if (q.opType !== 'QuantizeLinear' || g.initializers.has(q.inputs[0])) continue;
      const [x, scaleName, zpName] = q.inputs;
      const scale = init(scaleName), zp = init(zpName);
      if (!scale || scale.size !== 1 || zp?.dataType !== DataType.UINT8 || Number(zp.toArray()[0]) !== 0) continue;
      const s = scale.toFloat32()[0];
      const shared = sharedScale(x, s);
      if (shared) {
        edits.rename.set(scaleName, shared); // its Q and DQ both read the PACT scale
        continue;
      }
      const alpha = edits.constant(`${scaleName}_pact_alpha`, Tensor.scalar(DataType.FLOAT, 255 * s));
      const clipped = edits.insert(q, 'Clip', [x, scalarOf(0), alpha]);
      edits.deleteInit.add(scaleName);
      edits.insert(q, 'Div', [alpha, scalarOf(255)], {}, scaleName);
      edits.replace(q, { ...q, inputs: [clipped, scaleName, zpName] });
      alphas.set(alpha, scaleName);
      original.set(scaleName, s);
    }
    // A quantizer of a pass-through op's output with its input's (PACT) scale: that scale's name, else undefined.
    function sharedScale(x: string, s: number): string | undefined {
      const p = index.producer.get(x);
      if (!p || !PASS_THROUGH_OPS.includes(p.opType)) return undefined;
      const dq = index.producer.get(p.inputs[0]);
      const name = dq?.opType === 'DequantizeLinear' ? (edits.rename.get(dq.inputs[1]) ?? dq.inputs[1]) : undefined;
      return name !== undefined && original.get(name) === s ? name : undefined;
    }
  }

  const model = edits.apply();
  const aux = new Set(model.graph.nodes.filter((n) => !before.has(n.name)).map((n) => n.name));
  return { model, weights, biases, alphas, aux, trainable: [...weights.keys(), ...biases.keys(), ...alphas.keys()] };
}

/** codes · scale (per `axis`, or one scale), the zero point being 0 for int8 weights and int32 biases. */
function dequantized(codes: Tensor, scale: Tensor, axis: number | undefined): Tensor {
  const q = codes.toFloat32(), s = scale.toFloat32();
  const out = new Float32Array(q.length);
  const inner = axis === undefined ? q.length : codes.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channels = axis === undefined ? 1 : codes.dims[axis];
  for (let i = 0; i < q.length; i++) out[i] = q[i] * s[axis === undefined ? 0 : Math.floor(i / inner) % channels];
  return Tensor.fromArray(DataType.FLOAT, codes.dims, out);
}
