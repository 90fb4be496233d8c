// `onnx-slim analyze FP32.onnx QUANT.onnx --calib DIR`: per-layer quantization sensitivity. Every float value
// both models compute under the same name (the quant passes keep the output names of the nodes they rewrite) is
// fetched from both as an extra output, batch by batch, and only running sums are kept per value, so memory is
// one batch's activations whatever the number of batches. `layerSensitivity` is the library form (the quant
// pass's `--skip-sensitive` keeps the worst layers float with it).
import { loadModel } from '../io/load.js';
import { calibrationData } from '../calib/data.js';
import { toJson } from '../runtime/compare.js';
import { layerSensitivity, type SensitivityResult } from '../quant/sensitivity.js';
import { fmtCos, fmtDb, fmtErr, table } from './bench.js';
import { UsageError } from './errors.js';

export { layerSensitivity, SensitivityError, type LayerSensitivity, type SensitivityOptions, type SensitivityResult } from '../quant/sensitivity.js';
export function formatSensitivity(r: SensitivityResult, top: number): string {
  const shown = r.layers.slice(0, top);
  const lines = [`${r.layers.length} value${r.layers.length === 1 ? '' : 's'} compared over ${r.batches} batch${r.batches === 1 ? '' : 'es'}, worst first${shown.length < r.layers.length ? ` (top ${shown.length})` : ''}`];
  lines.push(table([
    ['SQNR dB', 'input dB', 'cosine', 'max abs err', 'op', 'quantized as', 'node', 'value'],
    ...shown.map((l) => [fmtDb(l.sqnrDb), fmtDb(l.inputSqnrDb), fmtCos(l.cosine), fmtErr(l.maxAbsError), l.opType, l.rewritten ? l.quantOpType : '=', l.node || '-', l.value]),
  ], new Set([0, 1, 2, 3])));
  lines.push(`(input dB: the worst SQNR among the layer's inputs, so the drop to SQNR is what the layer adds; '=': the same node in both models)`);
  if (r.skipped.length) {
    const byReason = new Map<string, number>();
    for (const s of r.skipped) {
      const key = s.reason.startsWith('shape') ? 'shapes differ' : s.reason;
      byReason.set(key, (byReason.get(key) ?? 0) + 1);
    }
    lines.push(`skipped ${r.skipped.length}: ${[...byReason].map(([k, n]) => `${n} ${k}`).join(', ')}`);
    for (const s of r.skipped.filter((x) => x.reason.startsWith('shape'))) lines.push(`  ${s.value}: ${s.reason}`);
  }
  return lines.join('\n');
}

export interface AnalyzeFlags {
  calib?: string;
  batchNum?: number;
  top?: number;
  json?: boolean;
}

export async function runAnalyze(fp32File: string, quantFile: string, flags: AnalyzeFlags): Promise<void> {
  const calib = flags.calib;
  if (!calib) throw new UsageError("required option '--calib <dir>' not specified");
  const [fp32, quant] = [loadModel(fp32File), loadModel(quantFile)];
  const data = calibrationData(fp32, calib, { batchNum: flags.batchNum });
  const result = await layerSensitivity(fp32, quant, data);
  if (flags.json) {
    const layers = flags.top === undefined ? result.layers : result.layers.slice(0, flags.top);
    process.stdout.write(toJson({ fp32: fp32File, quant: quantFile, calib, ...result, layers }) + '\n');
  } else {
    process.stdout.write(formatSensitivity(result, flags.top ?? 20) + '\n');
  }
}
