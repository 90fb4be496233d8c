// Training progress on stderr: a cli-progress bar on a terminal, one line every so many steps otherwise (logs and
// CI keep no carriage-return redraws), or nothing.
import cliProgress from 'cli-progress';

export type ProgressMode = 'auto' | 'bar' | 'log' | 'off';

export interface StepReport {
  /** Steps done so far (1 after the first). */
  readonly step: number;
  /** Steps planned, when known. */
  readonly totalSteps?: number;
  /** 0-based. */
  readonly epoch: number;
  readonly loss: number;
  /** Exponential moving average of the loss (less noisy to watch). */
  readonly smoothedLoss: number;
  readonly lr: number;
  /** Training samples per second so far (evaluation time excluded). */
  readonly samplesPerSec: number;
  readonly gradNorm?: number;
}

export interface ProgressSink {
  step(r: StepReport): void;
  note(line: string): void;
  stop(): void;
}

export function progressSink(mode: ProgressMode, totalSteps: number | undefined, logEvery: number): ProgressSink {
  const resolved = mode === 'auto' ? (process.stderr.isTTY && totalSteps !== undefined ? 'bar' : 'log') : mode;
  if (resolved === 'off') return { step: () => {}, note: () => {}, stop: () => {} };
  if (resolved === 'bar' && totalSteps !== undefined) return barSink(totalSteps);
  return logSink(logEvery);
}

const fmtLoss = (x: number): string => (Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(4) : x.toExponential(2));

function barSink(total: number): ProgressSink {
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: 'train |{bar}| {value}/{total} steps | epoch {epoch} | loss {loss} | lr {lr} | {rate} samples/s | eta {eta_formatted} {note}',
    hideCursor: true, etaBuffer: 50, fps: 5,
  }, cliProgress.Presets.shades_classic);
  let note = '';
  bar.start(total, 0, { epoch: 1, loss: '-', lr: '-', rate: '-', note });
  return {
    step: (r) => bar.update(r.step, { epoch: r.epoch + 1, loss: fmtLoss(r.smoothedLoss), lr: r.lr.toExponential(2), rate: Math.round(r.samplesPerSec), note }),
    // Redrawing would erase a printed line, so notes ride along at the end of the bar.
    note: (line) => { note = `| ${line}`; bar.update({ note }); },
    stop: () => bar.stop(),
  };
}

function logSink(every: number): ProgressSink {
  return {
    step: (r) => {
      if (r.step % every !== 0 && r.step !== r.totalSteps) return;
      const of = r.totalSteps === undefined ? '' : `/${r.totalSteps}`;
      const norm = r.gradNorm === undefined ? '' : `  grad-norm ${r.gradNorm.toFixed(3)}`;
      process.stderr.write(`train step ${r.step}${of}  epoch ${r.epoch + 1}  loss ${fmtLoss(r.smoothedLoss)}  lr ${r.lr.toExponential(2)}  ${Math.round(r.samplesPerSec)} samples/s${norm}\n`);
    },
    note: (line) => process.stderr.write(`train ${line}\n`),
    stop: () => {},
  };
}
