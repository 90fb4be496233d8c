// `--<pass>-<option> <value>` flags: taken out of argv before commander sees it, validated against the
// pass's option schema (kebab-case on the command line, snake_case in the schema and YAML).
import type { PassFactory } from '../passes/pass.js';
import type { OptionsSchema } from '../passes/options.js';
import { resolveOptions } from '../passes/options.js';
import { UsageError } from './errors.js';

/** Short flags the issue-level CLI contract names, mapped to `--<pass>-<option>`. */
const ALIASES: Readonly<Record<string, string>> = {
  '--calib': '--quant-calib',
  '--bits': '--quant-weight-bits',
  '--block-size': '--quant-block-size',
  '--skip-sensitive': '--quant-skip-sensitive',
  '--teacher': '--distill-teacher',
  '--loss': '--distill-loss',
  '--temperature': '--distill-temperature',
};

export function extractPassOptions(argv: readonly string[], passes: ReadonlyMap<string, PassFactory<OptionsSchema>>): {
  rest: string[]; options: Map<string, Record<string, unknown>>;
} {
  const rest: string[] = [];
  const options = new Map<string, Record<string, unknown>>();
  const names = [...passes.keys()].sort((a, b) => b.length - a.length);
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const token = ALIASES[flag] ? `${ALIASES[flag]}${inline !== undefined ? `=${inline}` : ''}` : argv[i];
    const m = /^--([a-z0-9-]+?)(?:=(.*))?$/s.exec(token);
    const pass = m && names.find((n) => m[1].startsWith(`${n}-`));
    if (!m || !pass) { rest.push(token); continue; }
    const key = m[1].slice(pass.length + 1).replace(/-/g, '_');
    const schema = passes.get(pass)!.spec.options;
    const spec = schema[key];
    if (!spec) {
      const known = Object.keys(schema).map((k) => `--${pass}-${k.replace(/_/g, '-')}`);
      throw new UsageError(`unknown option --${m[1]}${known.length ? ` (options of ${pass}: ${known.join(', ')})` : ` (${pass} takes no options)`}`);
    }
    let value: string | undefined = m[2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (spec.type === 'boolean') {
        if (next === 'true' || next === 'false') { value = next; i++; } else value = 'true';
      } else {
        if (next === undefined || next.startsWith('--')) throw new UsageError(`option --${m[1]} needs a value`);
        value = next;
        i++;
      }
    }
    const given = { ...(options.get(pass) ?? {}), [key]: value };
    resolveOptions(pass, schema, given); // validates now, so the error names the flag the user typed
    options.set(pass, given);
  }
  return { rest, options };
}
