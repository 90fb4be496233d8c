// Distilling pruned PP-OCRv4 rec end to end at toy size: a few AdamW steps on one synthetic batch lower the KL to
// the fp32 teacher, and the exported student keeps the model's inputs and outputs (dynamic width included) and runs
// in onnxruntime-node. The bench (bench/distill-ocr.bench.ts) does the real training on rendered lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType } from '../src/ir/dtype.js';
import { Tensor } from '../src/ir/tensor.js';
import { runModel } from '../src/runtime/ort.js';
import { buildStepGraph } from '../src/train/step-graph.js';
import { train } from '../src/train/trainer.js';
import { exportTrained } from '../src/train/export.js';
import { distillRec, loadRecFp32, meanFrameKl, pruneRec, REC_INPUT } from '../bench/lib/distill-ocr-model.js';
import { rng } from './helpers/feeds.js';
import { channelPairs, keptName, matchPrunedChannels, withChannelViews } from '../bench/lib/distill-ocr-channels.js';
import { ratiosByLoss } from '../bench/lib/distill-ocr-sensitivity.js';
import { makeValueInfo } from '../src/ir/builder.js';

/** Dark strokes on white, normalized like the model's input ((x/255 − 0.5) / 0.5 puts white at 1). */
function syntheticLines(batch: number, width: number, seed: number): Tensor {
  const next = rng(seed);
  const data = new Float32Array(batch * 3 * 48 * width).fill(1);
  for (let b = 0; b < batch; b++) {
    for (let stroke = 0; stroke < width / 6; stroke++) {
      const x0 = Math.floor(next() * (width - 4)), y0 = 10 + Math.floor(next() * 24), w = 1 + Math.floor(next() * 4), h = 2 + Math.floor(next() * 12);
      for (let c = 0; c < 3; c++) for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) data[((b * 3 + c) * 48 + y) * width + x] = -1;
    }
  }
  return Tensor.fromArray(DataType.FLOAT, [batch, 3, 48, width], data);
}

test('distilling pruned PP-OCRv4 rec lowers the KL and exports a runnable model with the same interface', async () => {
  const fp32 = await loadRecFp32();
  const pruned = await pruneRec(fp32, 0.125);
  const [batch, width] = [2, 64];
  const distill = distillRec(pruned, fp32, { batch, width, T: 1 });
  const step = buildStepGraph(distill.model, { loss: distill.loss, trainable: distill.trainable, optimizer: { kind: 'adamw', weightDecay: 0.01 } });
  assert.deepEqual(step.dataInputs, [REC_INPUT]);
  const feed = { [REC_INPUT]: syntheticLines(batch, width, 7) };
  const result = await train({ step, batches: [feed, feed, feed], lr: 1e-4, threads: 2, progress: 'off' });
  assert.equal(result.steps, 3);
  // losses[i] is the KL before update i+1: the third is measured after two AdamW updates on the same batch.
  assert.ok(result.losses[2] < 0.9 * result.losses[0], `KL ${result.losses[0]} → ${result.losses[2]} should drop`);

  const student = exportTrained(pruned, result.params);
  assert.deepEqual(student.graph.inputs.map((v) => v.name), pruned.graph.inputs.map((v) => v.name));
  assert.deepEqual(student.graph.outputs, pruned.graph.outputs);
  // Another width than trained on: the exported model kept the symbolic width.
  const out = Object.values(await runModel(student, { [REC_INPUT]: syntheticLines(1, 96, 8) }, { optimization: 'all', threads: 2 }))[0];
  assert.deepEqual(out.dims, [1, 12, 6625]);
  assert.ok(out.toFloat32().every(Number.isFinite));
});

test('pruned feature maps align with the teacher\'s kept channels, in order; the teacher\'s Gather views reproduce them', async () => {
  const fp32 = await loadRecFp32();
  const pruned = await pruneRec(fp32, 0.125);
  const feeds = [7, 8].map((seed) => ({ [REC_INPUT]: syntheticLines(1, 64, seed) }));
  const views = await matchPrunedChannels(pruned, fp32, feeds, 2);
  assert.ok(views.length >= 5, `${views.length} views`);
  for (const v of views) assert.ok(v.channels.every((c, i) => i === 0 || c > v.channels[i - 1]) && v.correlation >= 0.8 && v.variance > 0);
  // Before the first pruned consumer the student computes exactly the teacher's kept channels.
  const first = views[0];
  assert.ok(first.correlation > 0.9999, `${first.correlation}`);
  const probe = (m: typeof fp32, value: string): typeof fp32 => ({ ...m, graph: { ...m.graph, outputs: [makeValueInfo(value, DataType.FLOAT)] } });
  const kept = Object.values(await runModel(probe(withChannelViews(fp32, views), keptName(first.value)), feeds[0]))[0];
  const own = Object.values(await runModel(probe(pruned, first.value), feeds[0]))[0];
  assert.deepEqual(kept.dims, own.dims);
  const [a, b] = [kept.toFloat32(), own.toFloat32()];
  assert.ok(a.every((x, i) => Math.abs(x - b[i]) < 1e-4), 'the Gather view is the student\'s map');
  const pairs = channelPairs(views, 2);
  assert.deepEqual(pairs[0], { student: first.value, teacher: keptName(first.value), loss: 'mse', weight: 2 / (views.length * first.variance) });
});

test('ratiosByLoss: ratios where each loss curve meets the lowest threshold that removes the budget', async () => {
  const curves = new Map([
    ['a', [{ ratio: 0.25, loss: 0.01 }, { ratio: 0.5, loss: 0.1 }]],
    // b's loss falls back at 0.5: the curve never falls, so 0.5 counts at the loss of 0.25.
    ['b', [{ ratio: 0.25, loss: 0.04 }, { ratio: 0.5, loss: 0.03 }]],
  ]);
  const removedBy = async (ratios: ReadonlyMap<string, number>): Promise<number> => 100 * (ratios.get('a')! + ratios.get('b')!);
  // Loss t ≤ 0.01: a at 25·t/0.01 %, b at 25·t/0.04 %: removed = 2500 t + 625 t = 3125 t; 25 parameters at t = 0.008.
  const low = await ratiosByLoss(curves, 25, removedBy, 40);
  assert.ok(Math.abs(low.threshold - 0.008) < 1e-9, `threshold ${low.threshold}`);
  assert.ok(Math.abs(low.ratios.get('a')! - 0.2) < 1e-9 && Math.abs(low.ratios.get('b')! - 0.05) < 1e-9);
  assert.ok(low.removed >= 25 && low.removed < 25 + 1e-6);
  // Past t = 0.04, b sits at 0.5 (its curve is flat from 0.25 on) and a climbs toward 0.5 by t = 0.1.
  const high = await ratiosByLoss(curves, 95, removedBy, 40);
  assert.ok(Math.abs(high.ratios.get('b')! - 0.5) < 1e-9 && Math.abs(high.ratios.get('a')! - 0.45) < 1e-6);
  await assert.rejects(ratiosByLoss(curves, 1000, removedBy), /removes 100 parameters, fewer than 1000/);
});

test('meanFrameKl: per-frame KL(p ‖ q) averaged over frames, zero for equal outputs', () => {
  const probs = (rows: number[][]): Tensor => Tensor.fromArray(DataType.FLOAT, [1, rows.length, rows[0].length], Float32Array.from(rows.flat()));
  const p = probs([[0.5, 0.5], [1, 0]]);
  assert.equal(meanFrameKl(p, p), 0);
  // Frame 1: 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75); frame 2: 1 · ln(1/0.5); p = 0 adds nothing.
  const expected = (0.5 * Math.log(2) + 0.5 * Math.log(2 / 3) + Math.log(2)) / 2;
  assert.ok(Math.abs(meanFrameKl(p, probs([[0.25, 0.75], [0.5, 0.5]])) - expected) < 1e-6);
  // A class the pruned model puts at exactly zero costs ln(p / 1e-12), not infinity.
  assert.ok(Number.isFinite(meanFrameKl(p, probs([[1, 0], [1, 0]]))));
  assert.throws(() => meanFrameKl(p, probs([[1, 0]])), /the lines differ/);
});
