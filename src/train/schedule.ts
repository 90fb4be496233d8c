// Learning-rate schedules: functions of the 0-based step index, fed to the step graph's `lr` input each step.

export type Schedule = (step: number) => number;

export function constantSchedule(lr: number): Schedule {
  if (!(lr > 0)) throw new Error(`learning rate must be positive, got ${lr}`);
  return () => lr;
}

export interface WarmupCosineOptions {
  readonly peak: number;
  /** Steps of linear warm-up from peak/warmupSteps up to peak (0: none). */
  readonly warmupSteps: number;
  /** Steps in all; the cosine decays from peak to `floor` over the steps after warm-up. */
  readonly totalSteps: number;
  readonly floor?: number;
}

/** Linear warm-up, then half a cosine down to `floor`; stays at `floor` past `totalSteps`. */
export function warmupCosine(o: WarmupCosineOptions): Schedule {
  const floor = o.floor ?? 0;
  if (!(o.peak > 0)) throw new Error(`peak learning rate must be positive, got ${o.peak}`);
  if (!(o.warmupSteps >= 0 && o.warmupSteps < o.totalSteps)) {
    throw new Error(`warm-up steps (${o.warmupSteps}) must be at least 0 and fewer than the total steps (${o.totalSteps})`);
  }
  if (!(floor >= 0 && floor <= o.peak)) throw new Error(`floor learning rate ${floor} must lie in [0, peak ${o.peak}]`);
  const decaySteps = o.totalSteps - o.warmupSteps;
  return (step) => {
    // Warm-up counts from 1 so the first step already moves (lr = peak / warmupSteps).
    if (step < o.warmupSteps) return (o.peak * (step + 1)) / o.warmupSteps;
    const progress = Math.min(1, (step - o.warmupSteps) / decaySteps);
    return floor + 0.5 * (o.peak - floor) * (1 + Math.cos(Math.PI * progress));
  };
}
