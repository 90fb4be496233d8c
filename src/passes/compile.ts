// The pass manager: runs passes in order, verifies around each under `verify`, reports per pass its time and
// nodes / initializers / bytes before → after, and prints the IR after the passes asked for.
import { performance } from 'node:perf_hooks';
import type { Model } from '../ir/model.js';
import { modelStats } from '../ir/analysis.js';
import { modelToProto } from '../ir/convert.js';
import { messageSize } from '../proto/codec.js';
import { messageSpec } from '../proto/schema.js';
import { assertValid, VerifyError } from '../ir/verify.js';
import { printModel } from '../ir/print.js';
import { applyRules, provenanceOf, type DriverOptions } from '../rewrite/driver.js';
import type { Pass, PassContext } from './pass.js';

export interface ModelFigures {
  readonly nodes: number;
  readonly initializers: number;
  readonly parameters: number;
  /** Serialized size of the model (weights included). */
  readonly bytes: number;
}

export interface PassReport {
  readonly pass: string;
  readonly ms: number;
  readonly changed: boolean;
  readonly before: ModelFigures;
  readonly after: ModelFigures;
  /** Figures the pass noted (rules fired, constants folded, ...). */
  readonly notes: Readonly<Record<string, number | string>>;
}

export interface CompileOptions {
  /** Verify the model before the first pass and after each pass. */
  readonly verify?: boolean;
  /** Pass names after which to print the IR ('*' for all). */
  readonly printIrAfter?: readonly string[];
  /** Where IR dumps go (default: stdout). */
  readonly print?: (text: string) => void;
  readonly onPass?: (report: PassReport) => void;
  readonly driver?: DriverOptions;
}

export interface CompileResult {
  readonly model: Model;
  readonly reports: readonly PassReport[];
}

export class PassError extends Error {}

export function modelFigures(model: Model): ModelFigures {
  const s = modelStats(model);
  return { nodes: s.nodes, initializers: s.initializers, parameters: s.parameters, bytes: messageSize(modelToProto(model), messageSpec('ModelProto')) };
}

function verifyAt(model: Model, where: string): void {
  try {
    assertValid(model);
  } catch (e) {
    if (e instanceof VerifyError) throw new PassError(`${where}: ${e.message}`);
    throw e;
  }
}

export async function compile(model: Model, passes: readonly Pass[], options: CompileOptions = {}): Promise<CompileResult> {
  const reports: PassReport[] = [];
  const print = options.print ?? ((text: string) => process.stdout.write(text + '\n'));
  if (options.verify) verifyAt(model, 'input model');
  let current = model;
  let figures = modelFigures(current);
  for (const pass of passes) {
    const notes: Record<string, number | string> = {};
    const ctx: PassContext = { note: (k, v) => { notes[k] = v; }, verify: !!options.verify, driver: options.driver ?? {} };
    const start = performance.now();
    let next: Model;
    const run = pass.spec.run;
    if (run.kind === 'rules') {
      const { model: out, stats } = applyRules(current, run.rules, { ...ctx.driver, maxSweeps: run.maxSweeps ?? ctx.driver.maxSweeps });
      for (const [rule, n] of stats.applied) notes[rule] = n;
      next = out;
    } else {
      next = await run.transform(current, pass.options as never, ctx);
    }
    const ms = performance.now() - start;
    if (options.verify) verifyAt(next, `after pass ${pass.spec.name}`);
    const after = next === current ? figures : modelFigures(next);
    const report: PassReport = { pass: pass.spec.name, ms, changed: next !== current, before: figures, after, notes };
    reports.push(report);
    options.onPass?.(report);
    if (options.printIrAfter?.some((p) => p === '*' || p === pass.spec.name)) {
      print(`// IR after ${pass.spec.name}\n${printModel(next, { annotate: (n) => { const r = provenanceOf(n); return r && `by ${r}`; } })}`);
    }
    current = next;
    figures = after;
  }
  return { model: current, reports };
}

export function formatReport(r: PassReport): string {
  const arrow = (a: number, b: number): string => (a === b ? `${a}` : `${a} -> ${b}`);
  const entries = Object.entries(r.notes);
  const head = `${r.pass.padEnd(10)} ${r.ms.toFixed(1).padStart(8)} ms  nodes ${arrow(r.before.nodes, r.after.nodes)}  initializers ${arrow(r.before.initializers, r.after.initializers)}  bytes ${arrow(r.before.bytes, r.after.bytes)}`;
  // A few figures fit on the line; a per-group report (prune) reads better one entry per line.
  if (entries.length > 6) return [head, ...entries.map(([k, v]) => `    ${k}: ${v}`)].join('\n');
  const notes = entries.map(([k, v]) => `${k}=${v}`).join(' ');
  return `${head}${notes ? `  [${notes}]` : ''}`;
}
