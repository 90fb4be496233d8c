// `not_quant_pattern`: nodes kept in float, by name substring or /regex/ (PaddleSlim's vocabulary).
import type { Node } from '../../src/ir/model.js';
import { OptionError } from '../../src/passes/options.js';

export function exclusionPredicate(patterns: readonly string[]): (node: Node) => boolean {
  const tests = patterns.map((p) => {
    const re = /^\/(.*)\/([a-z]*)$/.exec(p);
    if (!re) return (name: string) => name.includes(p);
    try {
      const regex = new RegExp(re[1], re[2]);
      return (name: string) => regex.test(name);
    } catch (e) {
      throw new OptionError(`not_quant_pattern ${p} is not a valid regular expression: ${(e as Error).message}`);
    }
  });
  return (node) => tests.some((t) => t(node.name));
}
