// onnxruntime's Python quantizer (onnxruntime.quantization) as a subprocess: the peer the quantization bench
// compares onnx-slim's `quant` with. Optional: when Python or the package is missing (and a local
// `pip install --target .tmp/py` does not bring it), callers get a reason to print and skip the peer lines.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export interface PythonQuantizer {
  /** The interpreter (`$PYTHON` or python3). */
  readonly python: string;
  /** bench/py/quantize.py. */
  readonly script: string;
  /** Environment for the subprocess (PYTHONPATH pointing at .tmp/py when the package was installed there). */
  readonly env: NodeJS.ProcessEnv;
  readonly ortVersion: string;
  /** Where the package came from: the interpreter's own site-packages or `.tmp/py`. */
  readonly source: 'system' | 'local';
}

export type Availability = { readonly ok: true; readonly quantizer: PythonQuantizer } | { readonly ok: false; readonly reason: string };

/** What quantize.py reports (seconds, measured inside Python). */
export interface QuantizerRun {
  /** Wall time of the subprocess, Python's start and imports included. */
  readonly wallMs: number;
  readonly importS: number;
  /** The quantize_dynamic / quantize_static call alone (its load, calibration and save included). */
  readonly quantizeS: number;
  readonly totalS: number;
}

const lastLine = (s: string): string => s.trim().split('\n').filter(Boolean).pop() ?? '';

function failure(r: ReturnType<typeof spawnSync>, what: string): string {
  if (r.error) return `${what}: ${r.error.message}`;
  const err = lastLine(String(r.stderr ?? '')) || lastLine(String(r.stdout ?? ''));
  return `${what} exited with ${r.status ?? r.signal}${err ? `: ${err}` : ''}`;
}

function check(python: string, script: string, env: NodeJS.ProcessEnv): { version: string } | { reason: string } {
  const r = spawnSync(python, [script, 'check'], { env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { reason: failure(r, `${python} -c "import onnxruntime.quantization"`) };
  try {
    return { version: String((JSON.parse(lastLine(r.stdout)) as { onnxruntime: string }).onnxruntime) };
  } catch {
    return { reason: `quantize.py check printed no JSON: ${lastLine(r.stdout)}` };
  }
}

/**
 * Finds onnxruntime.quantization: first as the interpreter has it, then in `<repo>/.tmp/py` (installed there with
 * `python3 -m pip install --target .tmp/py onnxruntime onnx` if it is missing; nothing outside the repo changes).
 */
export function findPythonQuantizer(repoRoot: string, log: (line: string) => void = () => {}): Availability {
  const python = process.env.PYTHON ?? 'python3';
  const script = path.join(repoRoot, 'bench', 'py', 'quantize.py');
  const first = check(python, script, process.env);
  if ('version' in first) return { ok: true, quantizer: { python, script, env: process.env, ortVersion: first.version, source: 'system' } };

  const target = path.join(repoRoot, '.tmp', 'py');
  const env = { ...process.env, PYTHONPATH: [target, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  let local = check(python, script, env);
  if ('reason' in local) {
    log(`onnxruntime.quantization not importable (${first.reason}); trying ${python} -m pip install --target .tmp/py onnxruntime onnx`);
    mkdirSync(target, { recursive: true });
    const pip = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--target', target, 'onnxruntime', 'onnx'],
      { encoding: 'utf8', timeout: 600_000, maxBuffer: 16 << 20 });
    if (pip.status !== 0) return { ok: false, reason: `${first.reason}; ${failure(pip, 'pip install --target .tmp/py onnxruntime onnx')}` };
    local = check(python, script, env);
    if ('reason' in local) return { ok: false, reason: local.reason };
  }
  return { ok: true, quantizer: { python, script, env, ortVersion: local.version, source: 'local' } };
}

/** Runs `quantize.py <args>`; throws with the reason when it fails. */
export function runQuantizer(q: PythonQuantizer, args: readonly string[], timeoutMs = 600_000): QuantizerRun {
  const t0 = performance.now();
  const r = spawnSync(q.python, [q.script, ...args], { env: q.env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(failure(r, `quantize.py ${args[0]}`));
  const report = JSON.parse(lastLine(r.stdout)) as Omit<QuantizerRun, 'wallMs'>;
  return { wallMs, importS: report.importS, quantizeS: report.quantizeS, totalS: report.totalS };
}
