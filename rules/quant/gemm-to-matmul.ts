import { defineRule, type Rule } from '../../src/rewrite/rule.js';
import type { Node } from '../../src/ir/model.js';
import { constant, op, v } from '../../src/rewrite/pattern.js';
import { attrFloat, attrInt } from '../../src/ir/model.js';
import { DataType } from '../../src/ir/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';

const transposed = new WeakMap<Tensor, Tensor>();

function transpose2d(t: Tensor): Tensor {
  let out = transposed.get(t);
  if (out) return out;
  const [rows, cols] = t.dims;
  const src = t.toFloat32();
  const dst = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
  out = Tensor.fromArray(DataType.FLOAT, [cols, rows], dst);
  transposed.set(t, out);
  return out;
}

/**
 * Gemm(A, B, C) with a constant B, alpha = beta = 1 and no transA → MatMul(A, B[ᵀ]) + C, so the MatMul
 * quantization rules cover fully connected layers exported as Gemm.
 */
export function gemmToMatMul(excluded: (node: Node) => boolean): Rule {
  return defineRule({
  name: 'quant/gemm-to-matmul',
  description: 'Gemm with a constant weight becomes MatMul (+ Add) for the MatMul quantization rules',
  pattern: op('Gemm', [v('a'), constant('b', (t) => t.dataType === DataType.FLOAT && t.dims.length === 2)]),
  check: (m) => {
    if (excluded(m.root)) return 'excluded by the configuration';
    if (attrFloat(m.root, 'alpha', 1) !== 1 || attrFloat(m.root, 'beta', 1) !== 1) return 'alpha or beta is not 1';
    if (attrInt(m.root, 'transA', 0) !== 0) return 'transA is set';
    return true;
  },
  rewrite: (m, b) => {
    const weight = attrInt(m.root, 'transB', 0) ? transpose2d(m.constants.b) : m.constants.b;
    const w = weight === m.constants.b ? m.values.b : b.constant(weight, `${m.values.b}_transposed`);
    const bias = m.root.inputs[2];
    if (!bias) return { nodes: [b.node('MatMul', [m.values.a, w], {}, { outputs: m.root.outputs }).node] };
    const product = b.node('MatMul', [m.values.a, w]);
    const sum = b.node('Add', [product.outputs[0], bias], {}, { outputs: m.root.outputs });
    return { nodes: [product.node, sum.node] };
  },
  });
}
