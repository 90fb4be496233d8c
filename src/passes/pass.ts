// A pass is declared as data: name, options schema, either a rule set for the driver or an
// analysis + transform function, and the equivalence contract its property tests check.
import type { Model } from '../ir/model.js';
import type { RuleSet } from '../rewrite/rule.js';
import type { DriverOptions } from '../rewrite/driver.js';
import type { Contract } from './contract.js';
import { type OptionsOf, type OptionsSchema, resolveOptions } from './options.js';

/** What a running pass can report and use besides the model. */
export interface PassContext {
  /** Adds a figure to this pass's report (e.g. "constants folded": 12). */
  note(key: string, value: number | string): void;
  /** True under --verify / in tests: passes may run extra internal checks. */
  readonly verify: boolean;
  readonly driver: DriverOptions;
}

export type PassRun<O> =
  | { readonly kind: 'rules'; readonly rules: RuleSet; readonly maxSweeps?: number }
  | { readonly kind: 'transform'; transform(model: Model, options: O, ctx: PassContext): Model | Promise<Model> };

export interface PassSpec<S extends OptionsSchema = OptionsSchema> {
  readonly name: string;
  readonly description: string;
  readonly options: S;
  readonly contract: Contract | ((options: OptionsOf<S>) => Contract);
  /** Sections of a YAML config (`Compress: {Section: {...}}`) whose keys are this pass's options. */
  readonly configSections?: readonly string[];
  readonly run: PassRun<OptionsOf<S>>;
}

/** A pass with its options resolved: what `compile` runs. */
export interface Pass {
  readonly spec: PassSpec;
  readonly options: Readonly<Record<string, unknown>>;
}

export interface PassFactory<S extends OptionsSchema> {
  (options?: Partial<OptionsOf<S>>): Pass;
  readonly spec: PassSpec<S>;
}

export function definePass<const S extends OptionsSchema>(spec: PassSpec<S>): PassFactory<S> {
  const factory = (options: Partial<OptionsOf<S>> = {}): Pass => ({
    spec: spec as unknown as PassSpec,
    options: Object.freeze(resolveOptions(spec.name, spec.options, options as Record<string, unknown>)),
  });
  return Object.assign(factory, { spec });
}

export function contractOf(pass: Pass): Contract {
  const c = pass.spec.contract;
  return typeof c === 'function' ? c(pass.options as never) : c;
}
