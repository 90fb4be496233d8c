// Small benchmark toolkit: timings around a forced GC, medians, size formatting, a plain-text table.

const gc = (globalThis as { gc?: () => void }).gc;

/** Whether `--expose-gc` is on (without it, timings include collecting the previous run's garbage). */
export const hasGc = (): boolean => gc !== undefined;

export function collect(): void {
  gc?.();
  gc?.();
}

/** Milliseconds `fn` takes, after a full GC so one sample does not pay for the last one's garbage. */
export function timeMs<T>(fn: () => T): { ms: number; value: T } {
  collect();
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const MB = 1024 * 1024;

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`;
}

export function fmtMB(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

/** Rows of cells as an aligned text table (first row is the header). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export interface Step {
  /** Untimed preparation (e.g. removing the previous output). */
  readonly before?: () => void;
  readonly run: () => unknown;
}

/**
 * Runs each named step `reps` times, rotating the order every rep so the steps share drifting machine noise,
 * after `warmup` untimed rounds (JIT, first-touch page faults of a fresh heap, file-system caches).
 */
export function interleaved(reps: number, steps: Readonly<Record<string, Step>>, warmup = 1): Record<string, number[]> {
  const names = Object.keys(steps);
  for (let r = 0; r < warmup; r++) for (const step of Object.values(steps)) { step.before?.(); step.run(); collect(); }
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < names.length; i++) {
      const step = steps[names[(i + r) % names.length]];
      step.before?.();
      samples[names[(i + r) % names.length]].push(timeMs(step.run).ms);
    }
  }
  return samples;
}

/** `--name N` from the command line, or `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** `--name FILE.onnx` from the command line, or undefined when absent; anything but an .onnx path is refused. */
export function onnxFileArg(name: string, what: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const file = process.argv[i + 1];
  if (!file?.endsWith('.onnx')) throw new Error(`--${name} needs ${what} .onnx file, got ${file}`);
  return file;
}
