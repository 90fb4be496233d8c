// opset: upgrades the default-domain opset (Paddle exports at 9, old zoo models at 7) to a target, by an adapter
// table of every version boundary of every op (passes/opset/adapters.ts): compatible boundaries are bumped,
// changed signatures and semantics are rewritten by the opset rules, anything else stops with an error naming the
// op and versions. Other domains are left alone; If/Loop/Scan bodies are upgraded too. Outputs stay bitwise equal.
import { definePass } from '../src/passes/pass.js';
import { allclose, exact } from '../src/passes/contract.js';
import { MAX_TARGET } from './opset/adapters.js';
import { upgradeOpset } from './opset/upgrade.js';

export { MAX_TARGET as MAX_OPSET_TARGET } from './opset/adapters.js';
export { OpsetUpgradeError, upgradeOpset } from './opset/upgrade.js';

export const opset = definePass({
  name: 'opset',
  description: `upgrade the default-domain opset (up to ${MAX_TARGET}) without changing outputs`,
  options: {
    target: { type: 'integer', default: 13, min: 1, max: MAX_TARGET, description: 'default-domain opset to upgrade to (models at or above it are left as they are)' },
    allow_kernel_rounding: {
      type: 'boolean', default: false,
      description: 'also cross version changes where onnxruntime\'s newer kernel rounds differently (AveragePool-19 on 2-D/3-D): outputs allclose instead of bitwise equal',
    },
  },
  // Every rewrite is exact; the only inexact crossings are opt-in: a newer onnxruntime kernel for the same math
  // (a different summation order: a few float32 ulps per averaged value, grown by what follows; 1e-4 relative).
  contract: (o) => (o.allow_kernel_rounding ? allclose(1e-4, 1e-5) : exact),
  configSections: ['Opset'],
  run: {
    kind: 'transform',
    transform(model, options, ctx) {
      const r = upgradeOpset(model, options.target, { onMiss: ctx.driver.onMiss, allowKernelRounding: options.allow_kernel_rounding });
      if (r.model === model) {
        ctx.note('opset', r.from === undefined ? 'no default-domain import' : `${r.from} (kept)`);
        return model;
      }
      ctx.note('opset', `${r.from} -> ${options.target}`);
      if (r.model.irVersion !== model.irVersion) ctx.note('ir_version', `${model.irVersion} -> ${r.model.irVersion}`);
      ctx.note('version steps needing no change', r.bumped);
      if (r.rounded) ctx.note('nodes on a kernel that rounds differently', r.rounded);
      for (const [rule, n] of r.fired) ctx.note(rule, n);
      return r.model;
    },
  },
});
