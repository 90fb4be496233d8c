// What onnxruntime actually runs: compile a session with all optimizations and read back the model it saved.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createSession, loadModel, type Model } from '../../src/index.js';
import { SCRATCH_DIR } from './paths.js';

let counter = 0;

/** Op histogram (domain-qualified outside ai.onnx) of the model onnxruntime optimized from `model`. */
export async function fusedOps(model: Model): Promise<Record<string, number>> {
  const dir = path.join(SCRATCH_DIR, 'ort-fusion');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `optimized-${process.pid}-${counter++}.onnx`);
  try {
    await createSession(model, { optimization: 'all', optimizedModelFilePath: file });
    const ops: Record<string, number> = {};
    for (const n of loadModel(file).graph.nodes) {
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      ops[key] = (ops[key] ?? 0) + 1;
    }
    return ops;
  } finally {
    rmSync(file, { force: true });
  }
}
