import { defineRule, type Rule } from '../../src/rewrite/rule.js';
import { op } from '../../src/rewrite/pattern.js';
import type { Node } from '../../src/ir/model.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { evaluateNode, FOLDABLE_OPS } from '../../src/eval/index.js';

/**
 * A node whose inputs are all constant becomes initializers holding its outputs, when the evaluator computes
 * the op exactly and no tensor involved has more than `maxElements` elements (shape arithmetic, not weights).
 */
export function foldConstant(maxElements: number): Rule {
  const folded = new WeakMap<Node, Tensor[]>();
  return defineRule({
    name: 'cleanup/fold-constant',
    description: 'evaluates small all-constant nodes ahead of time',
    pattern: op(FOLDABLE_OPS, undefined, { where: (n) => n.inputs.some((i) => i !== '') }),
    check: (m, ctx) => {
      const inputs: (Tensor | undefined)[] = [];
      for (const name of m.root.inputs) {
        if (name === '') { inputs.push(undefined); continue; }
        const t = ctx.constant(name);
        if (!t) return `input '${name}' is not constant`;
        inputs.push(t);
      }
      const outputs = evaluateNode(m.root, inputs, ctx.opset() ?? 1, { maxElements });
      if (!outputs) return `outside what the evaluator folds exactly (or over ${maxElements} elements)`;
      folded.set(m.root, outputs);
      return true;
    },
    rewrite: (m) => ({
      initializers: new Map(m.root.outputs.map((name, i) => [name, folded.get(m.root)![i]] as const).filter(([name]) => name !== '')),
    }),
  });
}
