// The calibration algorithms by PaddleSlim name, as data: how to make an observer from options and how to read
// one back from its serialized state. Aliases map other spellings (minmax, kl, hist_percent) to these names.
import type { OptionsSchema } from '../../passes/options.js';
import { type Observer, type ObserverState, ObserverStateError } from './observer.js';
import { AbsMaxObserver } from './abs-max.js';
import { MovingAverageAbsMaxObserver } from './moving-average-abs-max.js';
import { HistObserver } from './hist.js';
import { KLObserver } from './kl.js';
import { MseObserver } from './mse.js';
import { DEFAULT_BINS } from './histogram.js';

export { type CalibRange, type Observer, type ObserverState, ObserverStateError } from './observer.js';
export { AbsMaxObserver } from './abs-max.js';
export { MovingAverageAbsMaxObserver } from './moving-average-abs-max.js';
export { HistObserver } from './hist.js';
export { KLObserver } from './kl.js';
export { MseObserver } from './mse.js';
export { AbsHistogram, HistogramObserver } from './histogram.js';

/** Every option any algorithm reads; each takes the ones it knows and ignores the rest. */
export interface ObserverOptions {
  readonly bins?: number;
  readonly histPercent?: number;
  readonly quantBins?: number;
  readonly bits?: number;
  readonly rate?: number;
}

export interface CalibAlgorithm {
  readonly name: AlgoName;
  readonly description: string;
  /** The options it reads, for pass option schemas (PaddleSlim names in the descriptions). */
  readonly options: OptionsSchema;
  create(options?: ObserverOptions): Observer;
  deserialize(state: ObserverState): Observer;
}

export type AlgoName = 'abs_max' | 'moving_average_abs_max' | 'hist' | 'KL' | 'mse';

const bins = { type: 'integer', default: DEFAULT_BINS, min: 2, max: 1 << 24, description: 'histogram bins over |x| (PaddleSlim: bins)' } as const;

export const CALIB_ALGORITHMS: Readonly<Record<AlgoName, CalibAlgorithm>> = {
  abs_max: {
    name: 'abs_max', description: 'min and max of every value seen', options: {},
    create: () => new AbsMaxObserver(),
    deserialize: (s) => AbsMaxObserver.deserialize(s),
  },
  moving_average_abs_max: {
    name: 'moving_average_abs_max', description: 'moving average of the per-batch abs max (PaddleSlim QAT scale)',
    options: { rate: { type: 'number', default: 0.9, min: 0, max: 1, description: 'moving rate (PaddleSlim: moving_rate)' } },
    create: (o = {}) => new MovingAverageAbsMaxObserver({ rate: o.rate }),
    deserialize: (s) => MovingAverageAbsMaxObserver.deserialize(s),
  },
  hist: {
    name: 'hist', description: 'percentile of |x| from a histogram',
    options: { bins, histPercent: { type: 'number', default: 0.99999, min: 0, max: 1, description: 'share of values kept (PaddleSlim: hist_percent)' } },
    create: (o = {}) => new HistObserver({ bins: o.bins, histPercent: o.histPercent }),
    deserialize: (s) => HistObserver.deserialize(s),
  },
  KL: {
    name: 'KL', description: 'threshold minimizing KL divergence to the quantized histogram (TensorRT entropy calibration)',
    options: { bins, quantBins: { type: 'integer', default: 128, min: 2, description: 'quantized levels on the |x| side: 128 int8, 255 uint8' } },
    create: (o = {}) => new KLObserver({ bins: o.bins, quantBins: o.quantBins }),
    deserialize: (s) => KLObserver.deserialize(s),
  },
  mse: {
    name: 'mse', description: 'threshold minimizing the squared quantization error over the histogram',
    options: { bins, bits: { type: 'integer', default: 8, min: 2, max: 16, description: 'quantized bits (signed symmetric)' } },
    create: (o = {}) => new MseObserver({ bins: o.bins, bits: o.bits }),
    deserialize: (s) => MseObserver.deserialize(s),
  },
};

const ALIASES: Readonly<Record<string, AlgoName>> = {
  minmax: 'abs_max', min_max: 'abs_max', absmax: 'abs_max', kl: 'KL', hist_percent: 'hist', moving_average: 'moving_average_abs_max',
};

/** The canonical name of `name` (case-insensitive for aliases), or a one-line error listing the known ones. */
export function resolveAlgo(name: string): AlgoName {
  if (name in CALIB_ALGORITHMS) return name as AlgoName;
  const alias = ALIASES[name.toLowerCase()] ?? (Object.keys(CALIB_ALGORITHMS) as AlgoName[]).find((k) => k.toLowerCase() === name.toLowerCase());
  if (alias) return alias;
  throw new Error(`unknown calibration algorithm '${name}' (known: ${Object.keys(CALIB_ALGORITHMS).join(', ')}; aliases: ${Object.keys(ALIASES).join(', ')})`);
}

export function createObserver(algo: string, options: ObserverOptions = {}): Observer {
  return CALIB_ALGORITHMS[resolveAlgo(algo)].create(options);
}

/** Reads back any observer's `serialize()` output (e.g. after JSON.parse in another process). */
export function deserializeObserver(state: ObserverState): Observer {
  const algo = typeof state?.algo === 'string' ? state.algo : undefined;
  if (!algo || !(algo in CALIB_ALGORITHMS)) throw new ObserverStateError(`not an observer state (algo ${JSON.stringify(state?.algo)})`);
  return CALIB_ALGORITHMS[algo as AlgoName].deserialize(state);
}
