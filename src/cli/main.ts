#!/usr/bin/env node
// The onnx-slim command line. Every failure is one line `onnx-slim: <reason>` on stderr and a non-zero exit;
// outputs are written to a temporary file and renamed, so a failed run never leaves a partial file.
import { Command, CommanderError } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadModel } from '../io/load.js';
import { saveModel } from '../io/save.js';
import { compile, formatReport } from '../passes/compile.js';
import type { Pass } from '../passes/pass.js';
import { OptionError } from '../passes/options.js';
import { PASSES } from '../../passes/index.js';
import { readConfig } from './config.js';
import { UsageError } from './errors.js';
import { formatSummary, summarize } from './inspect.js';
import { extractPassOptions } from './pass-options.js';
import { describeError } from './describe-error.js';
import { type BenchFlags, dimArg, intArg, runBench } from './bench.js';
import { type AnalyzeFlags, runAnalyze } from './analyze.js';
import { distillCommand } from './distill.js';

const VERSION = '0.1.0';

interface CompileFlags {
  output: string;
  passes?: string;
  config?: string;
  verify?: boolean;
  printIrAfter?: string;
  externalData?: boolean | string;
  json?: boolean;
  quiet?: boolean;
}

function buildPasses(flags: CompileFlags, cliOptions: ReadonlyMap<string, Record<string, unknown>>): Pass[] {
  const config = flags.config ? readConfig(flags.config, PASSES) : undefined;
  const names = flags.passes !== undefined
    ? flags.passes.split(',').map((s) => s.trim()).filter(Boolean)
    : config?.passes.length ? [...config.passes] : ['cleanup'];
  if (names.length === 0) throw new UsageError('--passes names no pass');
  for (const name of [...names, ...cliOptions.keys()]) {
    if (!PASSES.has(name)) throw new UsageError(`unknown pass '${name}' (passes: ${[...PASSES.keys()].join(', ')})`);
  }
  for (const name of cliOptions.keys()) {
    if (!names.includes(name)) throw new UsageError(`options for pass '${name}' were given but it is not in --passes`);
  }
  return names.map((name) => PASSES.get(name)!({ ...config?.options.get(name), ...cliOptions.get(name) } as never));
}

async function runCompile(input: string, flags: CompileFlags, cliOptions: ReadonlyMap<string, Record<string, unknown>>): Promise<void> {
  const passes = buildPasses(flags, cliOptions);
  const outDir = path.dirname(path.resolve(flags.output));
  if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
  const model = loadModel(input);
  const log = (text: string): void => { if (!flags.quiet && !flags.json) process.stdout.write(text + '\n'); };
  log(`onnx-slim ${VERSION}: ${input} -> ${flags.output}`);
  const { model: out, reports } = await compile(model, passes, {
    verify: flags.verify,
    printIrAfter: flags.printIrAfter?.split(',').map((s) => s.trim()),
    onPass: (r) => log(formatReport(r)),
  });
  const hadExternal = [...model.graph.initializers.values()].some((t) => t.isExternal);
  const external = typeof flags.externalData === 'string' ? { location: flags.externalData } : flags.externalData || hadExternal;
  saveModel(out, flags.output, { externalData: external });
  if (flags.json) process.stdout.write(JSON.stringify({ input, output: flags.output, passes: reports }, null, 2) + '\n');
}

function program(cliOptions: ReadonlyMap<string, Record<string, unknown>>): Command {
  const cmd = new Command('onnx-slim')
    .description('Make ONNX models smaller and faster: declarative graph-rewrite passes on an immutable IR.')
    .version(VERSION)
    .showSuggestionAfterError(false);
  cmd.command('compile')
    .description('run passes over a model and write the result')
    .argument('<input>', 'model to compile (.onnx)')
    .requiredOption('-o, --output <file>', 'where to write the compiled model')
    .option('--passes <list>', `comma-separated passes, in order (available: ${[...PASSES.keys()].join(', ')}; default: from --config, else cleanup)`)
    .option('--config <file>', 'YAML config (PaddleSlim vocabulary: Compress: { Cleanup: {...}, ... })')
    .option('--verify', 'verify the model before and after every pass')
    .option('--print-ir-after <passes>', "print the IR after these passes ('*' for all)")
    .option('--external-data [location]', 'store weights in an external data file (default <output>.data)')
    .option('--json', 'print the per-pass report as JSON')
    .option('-q, --quiet', 'print nothing on success')
    .addHelpText('after', `\nPass options: --<pass>-<option> <value>, e.g. --cleanup-fold-max-elements 1024.\n${passOptionsHelp()}`)
    .action(async (input: string, flags: CompileFlags) => runCompile(input, flags, cliOptions));
  cmd.command('inspect')
    .description('opsets, inputs/outputs with shapes, op histogram, parameter count and bytes of a model')
    .argument('<input>', 'model to inspect (.onnx)')
    .option('--json', 'print as JSON')
    .option('--dim <name=size>', 'size of a symbolic input dimension for the FLOPs estimate (repeatable; others count as 1)', dimArg)
    .action((input: string, flags: { json?: boolean; dim?: Record<string, number> }) => {
      const summary = summarize(loadModel(input), input, flags.dim);
      process.stdout.write((flags.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)) + '\n');
    });
  cmd.command('bench')
    .description('compare model B with model A: size, onnxruntime latency, and how close B\'s outputs stay to A\'s')
    .argument('<a>', 'reference model (.onnx), e.g. the original')
    .argument('<b>', 'model to compare (.onnx), e.g. the compiled one; same inputs and outputs as A')
    .option('--inputs <dir>', 'inputs in the calibration formats (test_data_set_* folders or <input>.npy files); default: seeded random feeds')
    .option('--batch-num <n>', 'use at most this many feeds from --inputs', intArg(1))
    .option('--samples <n>', 'generated feeds to compare on (default 1)', intArg(1))
    .option('--seed <n>', 'seed of the generated feeds (default 1)', intArg(0))
    .option('--dim <name=size>', 'size of a symbolic input dimension in generated feeds (repeatable; others are 1)', dimArg)
    .option('--runs <n>', 'timed runs per model (the median and p90 are reported)', intArg(1), 20)
    .option('--warmup <n>', 'untimed runs per model first', intArg(0), 3)
    .option('--threads <n>', 'onnxruntime intra-op threads', intArg(1), 2)
    .option('--json', 'print as JSON (non-finite figures as the strings "Infinity", "-Infinity", "NaN")')
    .action(async (a: string, b: string, flags: BenchFlags) => runBench(a, b, flags));
  cmd.command('analyze')
    .description('per-layer quantization sensitivity: SQNR and cosine of every float value both models compute by name, worst first')
    .argument('<fp32>', 'the float model (.onnx)')
    .argument('<quant>', 'its quantized version (.onnx)')
    .option('--calib <dir>', 'calibration data (test_data_set_* folders or <input>.npy files); required')
    .option('--batch-num <n>', 'use at most this many batches', intArg(1))
    .option('--top <n>', 'show the N worst layers (default 20; JSON: all)', intArg(1))
    .option('--json', 'print as JSON (infinite SQNR as the string "Infinity")')
    .action(async (fp32: string, quant: string, flags: AnalyzeFlags) => runAnalyze(fp32, quant, flags));
  cmd.addCommand(distillCommand());
  cmd.command('passes')
    .description('list the passes and their options')
    .action(() => { process.stdout.write(passOptionsHelp() + '\n'); });
  return cmd;
}

function passOptionsHelp(): string {
  const lines: string[] = [];
  for (const [name, factory] of PASSES) {
    lines.push(`${name}: ${factory.spec.description}`);
    for (const [key, spec] of Object.entries(factory.spec.options)) {
      if (spec.type === 'data') continue; // given in code only
      const values = spec.type === 'enum' ? ` (${spec.values.join('|')})` : '';
      lines.push(`  --${name}-${key.replace(/_/g, '-')} <${spec.type}>${values}  ${spec.description} [default: ${JSON.stringify(spec.default)}]`);
    }
  }
  return lines.join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    // Pass options (and their short forms such as --calib) belong to compile alone.
    const { rest, options } = argv[0] === 'compile' ? extractPassOptions(argv, PASSES) : { rest: [...argv], options: new Map<string, Record<string, unknown>>() };
    const cmd = program(options);
    cmd.exitOverride();
    cmd.configureOutput({ writeErr: () => {} });
    for (const sub of cmd.commands) { sub.exitOverride(); sub.configureOutput({ writeErr: () => {} }); }
    await cmd.parseAsync(rest, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      process.stderr.write(`onnx-slim: ${e.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    const usage = e instanceof UsageError || e instanceof OptionError;
    process.stderr.write(`onnx-slim: ${describeError(e)}\n`);
    if (process.env.ONNX_SLIM_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return usage ? 2 : 1;
  }
}

// A closed pipe (`onnx-slim inspect m.onnx | head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); });
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
