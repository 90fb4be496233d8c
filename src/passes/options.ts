// Pass options as data: a schema with types, defaults and descriptions, validated the same way whether the
// values come from code, the command line (strings) or a YAML config.

export type OptionSpec = OptionKind & {
  /** Other keys a YAML config or code may use for this option (e.g. PaddleSlim's `T` for `temperature`). */
  readonly aliases?: readonly string[];
};

type OptionKind =
  | { readonly type: 'number'; readonly default: number; readonly min?: number; readonly max?: number; readonly description: string }
  | { readonly type: 'integer'; readonly default: number; readonly min?: number; readonly max?: number; readonly description: string }
  | { readonly type: 'boolean'; readonly default: boolean; readonly description: string }
  | { readonly type: 'string'; readonly default: string; readonly description: string }
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly default: string; readonly description: string }
  | { readonly type: 'list'; readonly default: readonly string[]; readonly description: string }
  /** A value only code can pass (e.g. an async iterable of calibration feeds); not settable from the CLI or YAML. */
  | { readonly type: 'data'; readonly default: undefined; readonly description: string };

export type OptionsSchema = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> =
  S extends { type: 'number' | 'integer' } ? number :
  S extends { type: 'boolean' } ? boolean :
  S extends { type: 'list' } ? readonly string[] :
  S extends { type: 'data' } ? unknown :
  S extends { type: 'enum'; values: readonly (infer V)[] } ? V : string;

export type OptionsOf<S extends OptionsSchema> = { readonly [K in keyof S]: ValueOf<S[K]> };

export class OptionError extends Error {}

/** Validates one value; strings (from the CLI) are parsed to the option's type. */
export function parseOption(pass: string, key: string, spec: OptionSpec, raw: unknown): unknown {
  const fail = (expected: string): never => {
    throw new OptionError(`option ${key} of pass ${pass} expects ${expected}, got ${JSON.stringify(raw)}`);
  };
  switch (spec.type) {
    case 'number': case 'integer': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) return fail('a number');
      if (spec.type === 'integer' && !Number.isInteger(n)) return fail('an integer');
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        return fail(`a number in [${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}]`);
      }
      return n;
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === '') return true;
      if (raw === 'false' || raw === '0') return false;
      return fail('true or false');
    case 'string':
      return typeof raw === 'string' ? raw : fail('a string');
    case 'enum':
      return typeof raw === 'string' && spec.values.includes(raw) ? raw : fail(`one of ${spec.values.join(', ')}`);
    case 'list':
      if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter(Boolean);
      if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return [...raw];
      return fail('a list of strings');
    case 'data':
      return typeof raw === 'object' && raw !== null ? raw : fail('a value given in code (it cannot be set from the command line or a config)');
  }
}

/** Defaults merged with `given`; unknown keys are an error naming the known ones. */
export function resolveOptions(pass: string, schema: OptionsSchema, given: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) out[key] = spec.default;
  const canonical = new Map(Object.entries(schema).flatMap(([key, spec]) => (spec.aliases ?? []).map((a) => [a, key] as const)));
  const seen = new Map<string, string>();
  for (const [givenKey, raw] of Object.entries(given)) {
    if (raw === undefined) continue;
    const key = schema[givenKey] ? givenKey : canonical.get(givenKey) ?? givenKey;
    if (seen.has(key)) throw new OptionError(`pass ${pass} got option ${key} twice (as ${seen.get(key)} and ${givenKey})`);
    seen.set(key, givenKey);
    const spec = schema[key];
    if (!spec) {
      const known = Object.keys(schema);
      throw new OptionError(`pass ${pass} has no option '${key}'${known.length ? ` (options: ${known.join(', ')})` : ' (it takes no options)'}`);
    }
    out[key] = parseOption(pass, key, spec, raw);
  }
  return out;
}
