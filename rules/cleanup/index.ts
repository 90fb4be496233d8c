// The cleanup rule family: local simplifications that never change outputs.
import { RuleSet } from '../../src/rewrite/rule.js';
import { removeIdentity } from './remove-identity.js';
import { removeDropout } from './remove-dropout.js';
import { foldConstant } from './fold-constant.js';
import { foldShape } from './fold-shape.js';
import { mergeSplitRepeat } from './merge-split-repeat.js';

export { removeIdentity, removeDropout, foldConstant, foldShape, mergeSplitRepeat };

export function cleanupRules(options: { fold: boolean; foldMaxElements: number }): RuleSet {
  return new RuleSet('cleanup', [
    removeIdentity,
    removeDropout,
    mergeSplitRepeat,
    ...(options.fold ? [foldConstant(options.foldMaxElements), foldShape] : []),
  ]);
}
