/** Percentile bootstrap. */
import { mean, quantile, type Numeric } from './descriptive.js';
import { randomInt, seededRandom, type Rng } from './random.js';

/**
 * Percentile interval of bootstrap replicates: [Q(α/2), Q(1 − α/2)] with α = 1 − level,
 * quantiles linear-interpolated (numpy default). Non-finite replicates are ignored.
 */
export function percentileInterval(replicates: Numeric, level = 0.95): [number, number] {
  const finite = Array.from(replicates).filter(Number.isFinite);
  if (finite.length === 0) return [NaN, NaN];
  // In percent first so that level 0.95 gives exactly q = 0.025 and 0.975 (as np.percentile(x, [2.5, 97.5])).
  const pct = 100 * level;
  return [quantile(finite, (100 - pct) / 200), quantile(finite, (100 + pct) / 200)];
}

/** n indices drawn uniformly with replacement from 0..n-1. */
export function resampleIndices(n: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => randomInt(rng, n));
}

/**
 * Bootstrap replicates of a statistic over n units: `resamples` times draw n unit indices with
 * replacement (seeded) and evaluate `statistic(indices)`.
 */
export function bootstrapReplicates(n: number, statistic: (indices: number[]) => number, options: { resamples: number; seed: number }): number[] {
  const rng = seededRandom(options.seed);
  return Array.from({ length: options.resamples }, () => statistic(resampleIndices(n, rng)));
}

/**
 * Mean and percentile bootstrap CI of the mean: resample the values with replacement `resamples`
 * times, take the mean of each resample, CI = [Q2.5, Q97.5] of those means (level 0.95).
 */
export function bootstrapMeanCI(
  values: Numeric,
  options: { resamples: number; seed?: number; level?: number },
): { mean: number; lower: number; upper: number } {
  const reps = bootstrapReplicates(
    values.length,
    (idx) => mean(idx.map((i) => values[i]!)),
    { resamples: options.resamples, seed: options.seed ?? 0 },
  );
  const [lower, upper] = percentileInterval(reps, options.level ?? 0.95);
  return { mean: mean(values), lower, upper };
}
