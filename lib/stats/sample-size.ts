/**
 * Sample-size curve by split halves: how many calibration questions an axis needs before two
 * independent calibrations agree on its direction.
 *
 * For a sample size n (2n ≤ the number of questions), each draw splits a random 2n of the questions
 * into two disjoint halves of n, fits the direction on each half (both poles of each question) and
 * records the cosine between the two directions, and the held-out AUC of the first half's direction
 * on the evaluation questions. Because the halves share no question, the cosine stays low for a noisy
 * axis however large n is: "stable at n" can fail. (Comparing a subset with the full set cannot: at
 * n = all the subset is the full set and the cosine is 1 by construction.)
 */
import { auc } from './separation.js';
import { axisDirection, project } from './calibration.js';
import { cosine } from './correlation.js';
import { median, type Numeric } from './descriptive.js';
import { randomSubset, type Rng } from './random.js';

export interface SplitHalfPoint {
  /** Median over the draws of cos(v_half1, v_half2). */
  medianCosine: number;
  /** Median held-out AUC of the first half's direction; null without evaluation responses. */
  auc: number | null;
  /** Draws that gave two directions (a half whose pole means coincide has none). */
  draws: number;
}

export interface PoleVectors {
  positive: ReadonlyArray<Numeric>;
  negative: ReadonlyArray<Numeric>;
}

/** The largest n with two disjoint halves: floor(questions / 2). */
export function maxSplitHalfSize(questions: number): number {
  return Math.floor(questions / 2);
}

/**
 * One point of the curve: `draws` random splits into two disjoint halves of n questions each.
 * `calibration.positive[i]` and `.negative[i]` are question i's two pole responses. Null when no draw
 * gave two directions.
 */
export function splitHalfPoint(calibration: PoleVectors, evaluation: PoleVectors, n: number, draws: number, rng: Rng, trim = 0.1): SplitHalfPoint | null {
  const total = calibration.positive.length;
  if (calibration.negative.length !== total) throw new RangeError('splitHalfPoint: the poles have different numbers of questions');
  if (!Number.isInteger(n) || n < 1 || 2 * n > total) throw new RangeError(`splitHalfPoint: n must be an integer between 1 and ${maxSplitHalfSize(total)} (half of ${total} questions), got ${n}`);
  const cosines: number[] = [];
  const aucs: number[] = [];
  const direction = (idx: number[]) => axisDirection(idx.map((i) => calibration.positive[i]!), idx.map((i) => calibration.negative[i]!), trim);
  for (let d = 0; d < draws; d++) {
    const idx = randomSubset(total, 2 * n, rng);
    let first: Float32Array;
    let second: Float32Array;
    try {
      first = direction(idx.slice(0, n));
      second = direction(idx.slice(n));
    } catch {
      continue; // a half whose pole means coincide: no direction
    }
    cosines.push(cosine(first, second));
    if (evaluation.positive.length && evaluation.negative.length)
      aucs.push(auc(evaluation.positive.map((h) => project(h, first)), evaluation.negative.map((h) => project(h, first))));
  }
  if (cosines.length === 0) return null;
  return { medianCosine: median(cosines), auc: aucs.length ? median(aucs) : null, draws: cosines.length };
}

/** The smallest n whose median cosine reaches `threshold`, or null when none does ("not reached"). */
export function stableAt(sizes: readonly number[], medianCosine: readonly number[], threshold: number): number | null {
  const j = medianCosine.findIndex((c) => c >= threshold);
  return j < 0 ? null : sizes[j]!;
}
