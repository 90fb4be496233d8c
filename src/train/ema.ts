// An exponential moving average of the parameters (Polyak averaging): evaluated and exported in place of the last
// step's weights, it smooths out the noise of the final steps. It starts at the starting parameters, and its decay
// ramps up as min(decay, (1 + step) / (10 + step)) so the early steps, far from where training settles, fade fast.

export interface ParamAverage {
  /** Folds in the parameters after step `step` (0-based); `now` gives a parameter's current values by name. */
  update(step: number, now: (name: string) => Float32Array): void;
  /** A copy of the average (the average keeps moving; a checkpoint must not). */
  snapshot(): Map<string, Float32Array>;
}

export function paramAverage(start: Iterable<readonly [string, ArrayLike<number>]>, decay: number): ParamAverage {
  if (!(decay >= 0 && decay < 1)) throw new Error(`the moving-average decay must be in [0, 1), got ${decay}`);
  const values = new Map([...start].map(([name, v]) => [name, Float32Array.from(v)]));
  return {
    update(step, now) {
      const keep = Math.min(decay, (1 + step) / (10 + step));
      for (const [name, avg] of values) {
        const current = now(name);
        for (let i = 0; i < avg.length; i++) avg[i] = keep * avg[i] + (1 - keep) * current[i];
      }
    },
    snapshot: () => new Map([...values].map(([name, v]) => [name, Float32Array.from(v)])),
  };
}
