/**
 * External validation statistics: how well hidden-state scores agree with independent ratings of the
 * same responses, per axis and pooled over axes, with a bootstrap over responses.
 *
 * Per axis: Spearman ρ between score and rating over the responses rated on that axis.
 * Pooled: within each axis a, with n_a pairs, the scores and the ratings are turned into normalised
 * ranks u = (rank − 0.5) / n_a (average ranks for ties, so every axis spans (0, 1) whatever its n_a);
 * the pooled ρ is one Spearman ρ over all (u_score, u_rating) pairs of all axes together.
 * Bootstrap: draw the rated responses with replacement (seeded); each drawn response brings its pairs on
 * every axis it was rated on; per axis and pooled ρ are recomputed on each resample (ranks recomputed
 * within the resample); the CI is the percentile interval of the finite replicates.
 */
import { percentileInterval, resampleIndices } from './bootstrap.js';
import { rank, spearman } from './correlation.js';
import { seededRandom } from './random.js';

/** One axis: parallel arrays of the response index (0..responses−1), its score and its rating. */
export interface AxisPairs {
  units: number[];
  scores: number[];
  ratings: number[];
}

export interface Correlation {
  /** Number of pairs. */
  n: number;
  /** Spearman ρ; null when undefined (fewer than 2 pairs, or constant scores or ratings). */
  rho: number | null;
  /** Percentile bootstrap CI; null when fewer than half of the resamples gave a defined ρ. */
  ci: [number, number] | null;
}

export interface ValidationStats {
  perAxis: Correlation[];
  pooled: Correlation;
}

export interface ValidationBootstrap {
  resamples: number;
  seed: number;
  /** Interval level, 0.95 by default. */
  level?: number;
}

/** Spearman ρ, NaN when undefined (fewer than 2 pairs or a constant variable). */
function rhoOrNaN(x: number[], y: number[]): number {
  return x.length >= 2 ? spearman(x, y) : NaN;
}

/** Normalised ranks (rank − 0.5) / n with average ranks for ties. */
export function normalisedRanks(values: number[]): number[] {
  const n = values.length;
  return rank(values).map((r) => (r - 0.5) / n);
}

/** The pooled ρ of the definition above (NaN when undefined). */
export function pooledSpearman(axes: Array<{ scores: number[]; ratings: number[] }>): number {
  const u: number[] = [];
  const v: number[] = [];
  for (const a of axes) {
    if (a.scores.length === 0) continue;
    u.push(...normalisedRanks(a.scores));
    v.push(...normalisedRanks(a.ratings));
  }
  return rhoOrNaN(u, v);
}

/** The pairs of one axis for drawn responses (a response drawn twice brings its pair twice). */
function resampled(axis: AxisPairs, pairOf: Map<number, number>, drawn: number[]): { scores: number[]; ratings: number[] } {
  const scores: number[] = [];
  const ratings: number[] = [];
  for (const unit of drawn) {
    const i = pairOf.get(unit);
    if (i === undefined) continue;
    scores.push(axis.scores[i]!);
    ratings.push(axis.ratings[i]!);
  }
  return { scores, ratings };
}

function interval(replicates: number[], level: number): [number, number] | null {
  const finite = replicates.filter(Number.isFinite);
  if (finite.length < replicates.length / 2 || finite.length === 0) return null;
  return percentileInterval(finite, level);
}

const defined = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * Per-axis and pooled Spearman ρ with seeded bootstrap CIs over `responses` rated responses (see the
 * module comment for the exact definitions).
 */
export function validationStats(axes: AxisPairs[], responses: number, bootstrap: ValidationBootstrap): ValidationStats {
  for (const a of axes) {
    if (a.units.length !== a.scores.length || a.units.length !== a.ratings.length) throw new RangeError('validationStats: units, scores and ratings differ in length');
    if (a.units.some((u) => !Number.isInteger(u) || u < 0 || u >= responses)) throw new RangeError(`validationStats: a unit outside 0..${responses - 1}`);
  }
  const level = bootstrap.level ?? 0.95;
  const pairOf = axes.map((a) => new Map(a.units.map((u, i) => [u, i])));
  const axisReps: number[][] = axes.map(() => []);
  const pooledReps: number[] = [];
  const rng = seededRandom(bootstrap.seed);
  for (let b = 0; b < bootstrap.resamples; b++) {
    const drawn = resampleIndices(responses, rng);
    const sets = axes.map((a, k) => resampled(a, pairOf[k]!, drawn));
    sets.forEach((s, k) => axisReps[k]!.push(rhoOrNaN(s.scores, s.ratings)));
    pooledReps.push(pooledSpearman(sets));
  }
  return {
    perAxis: axes.map((a, k) => ({ n: a.units.length, rho: defined(rhoOrNaN(a.scores, a.ratings)), ci: interval(axisReps[k]!, level) })),
    pooled: { n: axes.reduce((s, a) => s + a.units.length, 0), rho: defined(pooledSpearman(axes)), ci: interval(pooledReps, level) },
  };
}

/** Why an axis is flagged: a negative ρ, or a CI that includes 0 (or an undefined ρ or CI). */
export function validationFlags(c: Correlation): Array<'negative' | 'ci-includes-0' | 'undefined'> {
  if (c.rho === null || c.ci === null) return ['undefined'];
  const flags: Array<'negative' | 'ci-includes-0'> = [];
  if (c.rho < 0) flags.push('negative');
  if (c.ci[0] <= 0 && c.ci[1] >= 0) flags.push('ci-includes-0');
  return flags;
}
