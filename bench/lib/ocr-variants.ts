// Measuring PP-OCRv4 rec variants side by side (quant-ocr, qat-ocr): each saved, scored on the evaluation lines, and
// timed interleaved on one rendered 48×320 line, so the ratios compare like for like within one run.
import { statSync } from 'node:fs';
import path from 'node:path';
import { saveModel, type Model } from '../../src/index.js';
import { recAccuracy } from './distill-ocr-model.js';
import { renderLine, type TextLine } from './ocr.js';
import { interleavedLatency, openSession, ort } from './latency.js';
import { median, table } from './measure.js';

export interface RecVariant {
  readonly label: string;
  readonly model: Model;
}

export interface RecScore {
  readonly accuracy: number;
  readonly exact: number;
  readonly bytes: number;
}

/** Saves each variant under `dir` (`files`: label → path), scores it, then times all of them interleaved (`runs` rounds, 2 threads). */
export async function measureRecVariants<V extends RecVariant>(variants: readonly V[], lines: readonly TextLine[], dict: readonly string[],
  dir: string, runs: number): Promise<{ results: (V & RecScore)[]; samples: Record<string, number[]>; files: Record<string, string> }> {
  const files: Record<string, string> = {};
  const results: (V & RecScore)[] = [];
  for (const v of variants) {
    files[v.label] = path.join(dir, `${v.label.replace(/\W+/g, '-')}.onnx`);
    saveModel(v.model, files[v.label]);
    const { accuracy, exact } = await recAccuracy(v.model, lines, dict);
    results.push({ ...v, accuracy, exact, bytes: statSync(files[v.label]).size });
  }
  const sessions = Object.fromEntries(await Promise.all(variants.map(async (v) => [v.label, await openSession(files[v.label])] as const)));
  const probe = renderLine('PaddleOCR 识别速度测试 12345', 7);
  const feeds = { x: new ort.Tensor('float32', probe.input.toFloat32(), [...probe.input.dims]) };
  return { results, files, samples: await interleavedLatency(sessions, feeds, { runs, warmup: 3 }) };
}

/** The side-by-side table: accuracy and size against the first variant, latency medians and their ratio. */
export function recVariantTable(results: readonly (RecVariant & RecScore & { compileMs: number })[], samples: Record<string, number[]>,
  compileHeader = 'compile'): string {
  const base = results[0];
  const rows = [['model', 'char accuracy', 'vs fp32 (points)', 'exact lines', 'bytes', 'size ratio', 'latency', 'latency ratio', compileHeader]];
  for (const r of results) {
    rows.push([
      r.label, `${(r.accuracy * 100).toFixed(2)}%`, r === base ? '' : ((r.accuracy - base.accuracy) * 100).toFixed(2),
      `${(r.exact * 100).toFixed(1)}%`, String(r.bytes), (r.bytes / base.bytes).toFixed(3),
      `${median(samples[r.label]).toFixed(2)} ms`, (median(samples[r.label]) / median(samples[base.label])).toFixed(3),
      r === base ? '' : `${(r.compileMs / 1000).toFixed(1)} s`,
    ]);
  }
  return table(rows);
}
