// The passes that ship with onnx-slim, by name (what `--passes` and YAML configs refer to).
import type { PassFactory } from '../src/passes/pass.js';
import type { OptionsSchema } from '../src/passes/options.js';
import { cleanup } from './cleanup.pass.js';
import { quant } from './quant.pass.js';
import { fp16 } from './fp16.pass.js';
import { opset } from './opset.pass.js';
import { prune } from './prune.pass.js';
import { distill } from './distill.pass.js';
import { grad } from './grad.pass.js';

export { cleanup, quant, fp16, opset, prune, distill, grad };

export const PASSES: ReadonlyMap<string, PassFactory<OptionsSchema>> = new Map<string, PassFactory<OptionsSchema>>([
  ['cleanup', cleanup as unknown as PassFactory<OptionsSchema>],
  ['quant', quant as unknown as PassFactory<OptionsSchema>],
  ['fp16', fp16 as unknown as PassFactory<OptionsSchema>],
  ['opset', opset as unknown as PassFactory<OptionsSchema>],
  ['prune', prune as unknown as PassFactory<OptionsSchema>],
  ['distill', distill as unknown as PassFactory<OptionsSchema>],
  ['grad', grad as unknown as PassFactory<OptionsSchema>],
]);
