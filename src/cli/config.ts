// YAML configs in the PaddleSlim / PaddleFleetX vocabulary: pass sections either at the top level (ACT style)
// or under `Compress:` (FleetX style), e.g.
//   Global: { passes: [cleanup] }
//   Compress:
//     Cleanup: { fold_max_elements: 1024 }
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { PassFactory } from '../passes/pass.js';
import type { OptionsSchema } from '../passes/options.js';
import { UsageError } from './errors.js';

export interface CompileConfig {
  /** Pass names in order (from Global.passes, else the order of the sections). */
  readonly passes: readonly string[];
  /** Options per pass name. */
  readonly options: ReadonlyMap<string, Record<string, unknown>>;
  /** Sections the caller accepted besides the passes' (`extraSections`), as written. */
  readonly extra: ReadonlyMap<string, unknown>;
}

/** Sections a config may carry that no shipped pass reads yet: named so the error is precise. */
const NOT_YET = new Set(['QuantAware', 'HyperParameterOptimization', 'TrainConfig']);

export function readConfig(file: string, passes: ReadonlyMap<string, PassFactory<OptionsSchema>>, extraSections: readonly string[] = []): CompileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read config ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new UsageError(`config ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`config ${file} must be a mapping of sections`);
  const root = doc as Record<string, unknown>;
  const sectionOwner = new Map<string, string>();
  for (const [name, factory] of passes) {
    for (const s of factory.spec.configSections ?? []) sectionOwner.set(s, name);
  }
  const sections: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(root)) {
    if (key === 'Global') continue;
    if (key === 'Compress') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`config ${file}: Compress must be a mapping of sections`);
      sections.push(...Object.entries(value as Record<string, unknown>));
    } else {
      sections.push([key, value]);
    }
  }
  const options = new Map<string, Record<string, unknown>>();
  const extra = new Map<string, unknown>();
  const order: string[] = [];
  for (const [section, value] of sections) {
    if (extraSections.includes(section)) { extra.set(section, value); continue; }
    const pass = sectionOwner.get(section);
    if (!pass) {
      const known = [...sectionOwner.keys()].join(', ');
      throw new UsageError(NOT_YET.has(section)
        ? `config ${file}: section ${section} is not supported by this version of onnx-slim (supported: ${known})`
        : `config ${file}: unknown section ${section} (known: Global, Compress, ${known})`);
    }
    if (value !== null && (typeof value !== 'object' || Array.isArray(value))) throw new UsageError(`config ${file}: section ${section} must be a mapping of options`);
    options.set(pass, { ...(options.get(pass) ?? {}), ...((value as Record<string, unknown> | null) ?? {}) });
    if (!order.includes(pass)) order.push(pass);
  }
  const global = root.Global as Record<string, unknown> | undefined;
  const listed = global?.passes;
  if (listed !== undefined && !(Array.isArray(listed) && listed.every((p) => typeof p === 'string'))) {
    throw new UsageError(`config ${file}: Global.passes must be a list of pass names`);
  }
  return { passes: (listed as string[] | undefined) ?? order, options, extra };
}
