// The distill command's settings from a PaddleSlim-style YAML config: Compress.Distillation (resolved through the
// distill pass's own option schema, so Teacher, distillation_loss_type, T and node are aliases there) and
// TrainConfig (epochs, train_iter, eval_iter, learning_rate, optimizer_builder, origin_metric), e.g.
//   Compress:
//     Distillation: { Teacher: fp32.onnx, distillation_loss_type: kl_div, T: 2, node: [logits] }
//   TrainConfig:
//     epochs: 3
//     learning_rate: 0.001          # or { learning_rate: 0.001, type: CosineAnnealingDecay, ... }
//     optimizer_builder: { optimizer: { type: AdamW }, weight_decay: 0.01 }
//     ema_decay: 0.999              # optional: keep a moving average of the weights (PaddleDetection's name)
import { PASSES } from '../../passes/index.js';
import { readConfig } from './config.js';
import { UsageError } from './errors.js';

export type OptimizerKind = 'adamw' | 'sgd' | 'momentum';

export interface TrainSettings {
  readonly epochs?: number;
  readonly trainIter?: number;
  readonly evalIter?: number;
  readonly lr?: number;
  readonly optimizer?: OptimizerKind;
  readonly weightDecay?: number;
  /** Decay of a moving average of the weights, evaluated and kept in place of the last step's. */
  readonly emaDecay?: number;
  /** The original model's metric, reported next to the distilled one. */
  readonly originMetric?: number;
}

export interface DistillConfig {
  /** The distill pass's options (snake_case, aliases resolved later by the pass schema). */
  readonly distillation: Record<string, unknown>;
  readonly train: TrainSettings;
}

const TRAIN_KEYS = new Set(['epochs', 'train_iter', 'eval_iter', 'learning_rate', 'optimizer_builder', 'ema_decay', 'origin_metric']);
const OPTIMIZERS: Readonly<Record<string, OptimizerKind>> = { adamw: 'adamw', sgd: 'sgd', momentum: 'momentum' };

export function readDistillConfig(file: string): DistillConfig {
  const config = readConfig(file, PASSES, ['TrainConfig']);
  const other = [...config.options.keys()].filter((p) => p !== 'distill');
  if (other.length) throw new UsageError(`config ${file}: the distill command reads Distillation and TrainConfig only, not the ${other.join(', ')} pass`);
  const raw = config.extra.get('TrainConfig') ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`config ${file}: TrainConfig must be a mapping`);
  return { distillation: config.options.get('distill') ?? {}, train: trainSettings(file, raw as Record<string, unknown>) };
}

function trainSettings(file: string, raw: Record<string, unknown>): TrainSettings {
  const where = (key: string): string => `config ${file}: TrainConfig.${key}`;
  for (const key of Object.keys(raw)) {
    if (!TRAIN_KEYS.has(key)) throw new UsageError(`${where(key)} is not a known key (known: ${[...TRAIN_KEYS].join(', ')})`);
  }
  const int = (key: string, value: unknown): number | undefined => {
    if (value === undefined) return undefined;
    if (!Number.isInteger(value) || (value as number) < 1) throw new UsageError(`${where(key)} must be a positive integer, got ${JSON.stringify(value)}`);
    return value as number;
  };
  const num = (key: string, value: unknown, min: number): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !(value >= min)) throw new UsageError(`${where(key)} must be a number >= ${min}, got ${JSON.stringify(value)}`);
    return value;
  };
  // PaddleSlim allows a scheduler mapping here; its peak rate is what a warm-up + cosine schedule needs.
  const lrRaw = raw.learning_rate;
  const lr = typeof lrRaw === 'object' && lrRaw !== null && !Array.isArray(lrRaw) ? (lrRaw as Record<string, unknown>).learning_rate : lrRaw;
  const builder = raw.optimizer_builder;
  if (builder !== undefined && (typeof builder !== 'object' || builder === null || Array.isArray(builder))) throw new UsageError(`${where('optimizer_builder')} must be a mapping`);
  const b = (builder ?? {}) as Record<string, unknown>;
  const typeRaw = (b.optimizer as Record<string, unknown> | undefined)?.type;
  const optimizer = typeRaw === undefined ? undefined : OPTIMIZERS[String(typeRaw).toLowerCase()];
  if (typeRaw !== undefined && !optimizer) throw new UsageError(`${where('optimizer_builder.optimizer.type')} must be AdamW, SGD or Momentum, got ${JSON.stringify(typeRaw)}`);
  if (raw.ema_decay !== undefined && !(typeof raw.ema_decay === 'number' && raw.ema_decay >= 0 && raw.ema_decay < 1)) throw new UsageError(`${where('ema_decay')} must be a decay in [0, 1), got ${JSON.stringify(raw.ema_decay)}`);
  const settings: Record<string, unknown> = {
    epochs: int('epochs', raw.epochs), trainIter: int('train_iter', raw.train_iter), evalIter: int('eval_iter', raw.eval_iter),
    lr: num('learning_rate', lr, Number.MIN_VALUE), optimizer, weightDecay: num('optimizer_builder.weight_decay', b.weight_decay, 0),
    emaDecay: num('ema_decay', raw.ema_decay, 0), originMetric: num('origin_metric', raw.origin_metric, -Infinity),
  };
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as TrainSettings;
}
