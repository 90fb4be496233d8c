// Our static mode in the quantization bench: compiled once (calibration is most of its time), and the check that
// onnxruntime runs the result fully fused.
import { loadModel } from '../../src/io/load.js';
import { saveModel } from '../../src/io/save.js';
import { compile } from '../../src/passes/compile.js';
import { quant } from '../../passes/index.js';
import { randomInputIds } from '../../test/helpers/transformer.js';

export interface StaticRun {
  /** compile([quant({ mode: 'static' })]) alone, calibration included (not load and save). */
  readonly compileMs: number;
  readonly notes: Record<string, number | string>;
}

/** quant({ mode: 'static' }) of `fp32File` into `outFile`, calibrated on `batches` batches of random input_ids. */
export async function quantizeStaticFile(
  fp32File: string, outFile: string, shape: { vocab: number; batch: number; seq: number; batches: number; seed: number },
): Promise<StaticRun> {
  const calib = Array.from({ length: shape.batches }, (_, i) => ({ input_ids: randomInputIds(shape.vocab, shape.batch, shape.seq, 2000 + shape.seed * 100 + i) }));
  const model = loadModel(fp32File);
  const t0 = performance.now();
  const { model: out, reports } = await compile(model, [quant({ mode: 'static', calib_data: calib })]);
  const compileMs = performance.now() - t0;
  saveModel(out, outFile);
  return { compileMs, notes: { ...reports[0].notes } };
}

/**
 * What onnxruntime should run for a static BERT: one QAttention per layer, the other three linear layers as integer
 * kernels, one QuantizeLinear per activation they read, no Q/DQ left around float ops (only the embedding tables'
 * DequantizeLinear), no float MatMul/Gemm/Softmax.
 */
export function staticFusion(ops: ReadonlyMap<string, number>, notes: Record<string, number | string>, layers: number): { ok: boolean; summary: string } {
  const n = (k: string): number => ops.get(k) ?? 0;
  const linears = n('com.microsoft.QGemm') + n('com.microsoft.MatMulIntegerToFloat');
  const float = ['MatMul', 'Gemm', 'Softmax', 'Transpose'].filter((k) => n(k) > 0);
  const checks: Array<[string, boolean]> = [
    [`QAttention ${n('com.microsoft.QAttention')} of ${layers}`, n('com.microsoft.QAttention') === layers],
    [`integer linear kernels ${linears} of ${3 * layers}`, linears === 3 * layers],
    [`QuantizeLinear ${n('QuantizeLinear')} (${4 * layers} expected)`, n('QuantizeLinear') === 4 * layers],
    [`DequantizeLinear ${n('DequantizeLinear')} (embedding tables ${notes['quant/gather-weight'] ?? 0})`, n('DequantizeLinear') === Number(notes['quant/gather-weight'] ?? 0)],
    [`float left: ${float.length ? float.map((k) => `${k} ${n(k)}`).join(', ') : 'none'}`, float.length === 0],
  ];
  return { ok: checks.every(([, ok]) => ok), summary: checks.map(([s]) => s).join('; ') };
}
