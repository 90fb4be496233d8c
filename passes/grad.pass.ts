// grad: appends the reverse-mode gradient of a scalar loss with respect to chosen graph inputs or initializers
// (all float initializers by default), one new output `<w>.grad` per value. Existing outputs are untouched.
import { isFloatType } from '../src/ir/dtype.js';
import { definePass } from '../src/passes/pass.js';
import { exact, outputsSuperset } from '../src/passes/contract.js';
import { differentiate } from './grad/differentiate.js';

export { differentiate, gradName, GradientError } from './grad/differentiate.js';

export const grad = definePass({
  name: 'grad',
  description: 'append the backward graph of a scalar loss: one <w>.grad output per differentiated weight or input',
  options: {
    loss: { type: 'string', default: 'loss', description: 'the scalar float value to differentiate' },
    wrt: { type: 'list', default: [], description: 'graph inputs or initializers to differentiate against (empty: all float initializers)' },
  },
  contract: outputsSuperset(exact),
  run: {
    kind: 'transform',
    transform(model, options, ctx) {
      const wrt = options.wrt.length ? options.wrt
        : [...model.graph.initializers].filter(([, t]) => isFloatType(t.dataType)).map(([name]) => name);
      const out = differentiate(model, { loss: options.loss, wrt });
      ctx.note('gradients', wrt.length);
      ctx.note('backward nodes', out.graph.nodes.length - model.graph.nodes.length);
      return out;
    },
  },
});
