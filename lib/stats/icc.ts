/**
 * Intraclass correlation (Shrout & Fleiss 1979) from a two-way ANOVA of an n × k matrix
 * Y (rows = subjects/targets, columns = raters/runs/judges), docs/method.md §4.
 */
import { percentileInterval, bootstrapReplicates } from './bootstrap.js';

export type IccModel = '2,1' | '2,k' | '3,1' | '3,k';

/** The Shrout–Fleiss forms, in the order tables list them. */
export const ICC_FORMS: readonly IccModel[] = ['2,1', '2,k', '3,1', '3,k'];

export interface MeanSquares {
  n: number;
  k: number;
  /** Between-rows (subjects) mean square SSR / (n − 1), SSR = k Σ_i (ȳ_i· − ȳ)². */
  msr: number;
  /** Between-columns (raters) mean square SSC / (k − 1), SSC = n Σ_j (ȳ_·j − ȳ)². */
  msc: number;
  /** Residual mean square (SST − SSR − SSC) / ((n − 1)(k − 1)). */
  mse: number;
}

/** Two-way ANOVA mean squares of a complete n × k matrix (n ≥ 2, k ≥ 2, no missing cells). */
export function anovaMeanSquares(matrix: ReadonlyArray<ArrayLike<number>>): MeanSquares {
  const n = matrix.length;
  const k = n > 0 ? matrix[0]!.length : 0;
  if (n < 2 || k < 2) throw new RangeError(`icc: need at least 2 subjects and 2 raters, got ${n} × ${k}`);
  for (const row of matrix) if (row.length !== k) throw new RangeError('icc: ragged matrix');
  let grand = 0;
  const rowMean = new Float64Array(n);
  const colMean = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const v = matrix[i]![j]!;
      if (!Number.isFinite(v)) throw new RangeError(`icc: non-finite value at [${i}][${j}]`);
      rowMean[i] += v;
      colMean[j] += v;
      grand += v;
    }
  }
  for (let i = 0; i < n; i++) rowMean[i] /= k;
  for (let j = 0; j < k; j++) colMean[j] /= n;
  grand /= n * k;
  let sst = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) sst += (matrix[i]![j]! - grand) ** 2;
  let ssr = 0;
  for (let i = 0; i < n; i++) ssr += (rowMean[i]! - grand) ** 2;
  ssr *= k;
  let ssc = 0;
  for (let j = 0; j < k; j++) ssc += (colMean[j]! - grand) ** 2;
  ssc *= n;
  const sse = sst - ssr - ssc;
  return { n, k, msr: ssr / (n - 1), msc: ssc / (k - 1), mse: sse / ((n - 1) * (k - 1)) };
}

/**
 * ICC from mean squares:
 *   ICC(2,1) = (MSR − MSE) / (MSR + (k − 1) MSE + k (MSC − MSE) / n)   two-way random, single rater, absolute agreement
 *   ICC(2,k) = (MSR − MSE) / (MSR + (MSC − MSE) / n)                    same, mean of the k raters
 *   ICC(3,1) = (MSR − MSE) / (MSR + (k − 1) MSE)                        two-way mixed, single rater, consistency
 *   ICC(3,k) = (MSR − MSE) / MSR                                        same, mean of the k raters
 * NaN when the denominator is 0 (e.g. a constant matrix).
 */
export function iccFromMeanSquares(ms: MeanSquares, model: IccModel): number {
  const { n, k, msr, msc, mse } = ms;
  switch (model) {
    case '2,1':
      return (msr - mse) / (msr + (k - 1) * mse + (k * (msc - mse)) / n);
    case '2,k':
      return (msr - mse) / (msr + (msc - mse) / n);
    case '3,1':
      return (msr - mse) / (msr + (k - 1) * mse);
    case '3,k':
      return (msr - mse) / msr;
  }
}

/**
 * Shrout–Fleiss ICC of `matrix` (rows = subjects, columns = raters).
 * With `bootstrap: B` (> 0) also a 95 % percentile CI: B resamples of the rows (subjects) with
 * replacement drawn from seededRandom(seed) [seed 0], the ICC of each resample, [Q2.5, Q97.5]
 * (resamples whose ICC is undefined, e.g. all rows identical, are ignored).
 * docs/method.md §4 asks for B = 1000 (lib/defaults.ts); without `bootstrap` no CI is computed.
 * Without `model` the form is ICC(2,1), the CLI's default.
 */
export function icc(
  matrix: ReadonlyArray<ArrayLike<number>>,
  options: { model?: IccModel; bootstrap?: number; seed?: number } = {},
): { value: number; ci?: [number, number] } {
  const model = options.model ?? '2,1'; // the CLI's default form
  const value = iccFromMeanSquares(anovaMeanSquares(matrix), model);
  const b = options.bootstrap ?? 0;
  if (b <= 0) return { value };
  const reps = bootstrapReplicates(
    matrix.length,
    (idx) => iccFromMeanSquares(anovaMeanSquares(idx.map((i) => matrix[i]!)), model),
    { resamples: b, seed: options.seed ?? 0 },
  );
  return { value, ci: percentileInterval(reps, 0.95) };
}
