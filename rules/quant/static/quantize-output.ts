import { defineRule, type Rule } from '../../../src/rewrite/rule.js';
import { op } from '../../../src/rewrite/pattern.js';
import type { Tensor } from '../../../src/ir/tensor.js';
import type { Node } from '../../../src/ir/model.js';
import { type StaticQuantData, qdq, quantizerInitializers } from './data.js';

/**
 * A value quantized where it is made: Producer → y becomes Producer → y_float → Q → DQ → y, so every reader
 * (graph outputs included) reads the dequantized y and the producer's only reader is the Q — what onnxruntime
 * needs to fuse the producer with it (QLinearConv, QGemm/QLinearMatMul with an integer output, QLinear*, or the
 * dropped pair around a pass-through op).
 */
export function quantizeOutput(data: StaticQuantData, producerOps: readonly string[]): Rule {
  return defineRule({
    name: 'quant/static-quantize-output',
    description: 'a quantizer right after the node that makes a quantized value',
    pattern: op(producerOps, undefined, { domain: '*' }),
    check: (m) => (m.root.outputs.some((o) => data.atProducer.has(o)) ? true : 'none of its outputs is quantized here'),
    rewrite: (m, b) => {
      const nodes: Node[] = [];
      const initializers = new Map<string, Tensor>();
      const outputs = m.root.outputs.map((o) => {
        const q = data.atProducer.has(o) ? data.quantizers.get(o) : undefined;
        if (!q) return o;
        const raw = b.fresh(`${o}_float`);
        const pair = qdq(b, raw, q, o);
        nodes.push(...pair.nodes);
        for (const [k, t] of quantizerInitializers(q)) initializers.set(k, t);
        return raw;
      });
      return { nodes: [{ ...m.root, outputs }, ...nodes], initializers };
    },
  });
}
