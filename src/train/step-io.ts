// The names by which a step graph (or a bare update graph) takes and returns each trainable parameter and its
// optimizer state: what the trainer feeds and reads back every step.
import type { StateRole } from './optimizer.js';

export interface StateIO {
  readonly role: StateRole;
  readonly input: string;
  readonly next: string;
}

export interface ParamIO {
  /** The parameter's name (its initializer name in the model it came from). */
  readonly name: string;
  readonly dims: readonly number[];
  /** Graph input taking its value before the step. */
  readonly input: string;
  /** Graph output holding its value after the step. */
  readonly next: string;
  readonly state: readonly StateIO[];
}
