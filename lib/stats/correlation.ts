/** Correlation, ranks, cosine similarity and linear residualisation. */
import { mean, type Numeric } from './descriptive.js';

function sameLength(x: Numeric, y: Numeric, name: string): void {
  if (x.length !== y.length) throw new RangeError(`${name}: lengths differ (${x.length} vs ${y.length})`);
  if (x.length === 0) throw new RangeError(`${name}: empty input`);
}

/** Dot product Σ a_i b_i. */
export function dot(a: Numeric, b: Numeric): number {
  sameLength(a, b, 'dot');
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Euclidean norm ||a||. */
export function norm(a: Numeric): number {
  return Math.sqrt(dot(a, a));
}

/** Cosine similarity a·b / (||a|| ||b||), accumulated in float64; NaN when a vector is zero. */
export function cosine(a: Numeric, b: Numeric): number {
  return dot(a, b) / (norm(a) * norm(b));
}

/**
 * Pearson r = Σ(x − x̄)(y − ȳ) / sqrt(Σ(x − x̄)² Σ(y − ȳ)²). NaN when either variable is constant.
 */
export function pearson(x: Numeric, y: Numeric): number {
  sameLength(x, y, 'pearson');
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Ranks 1..n; tied values share the average of the ranks they span (scipy's rankdata 'average'). */
export function rank(values: Numeric): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    const avg = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]!] = avg;
    start = end;
  }
  return ranks;
}

/** Spearman ρ = Pearson r of the average ranks (ties handled by averaging). */
export function spearman(x: Numeric, y: Numeric): number {
  sameLength(x, y, 'spearman');
  return pearson(rank(x), rank(y));
}

/**
 * Ordinary least-squares line y = intercept + slope · x:
 * slope = Σ(x − x̄)(y − ȳ) / Σ(x − x̄)², intercept = ȳ − slope · x̄. null when x is constant.
 */
export function linearFit(x: Numeric, y: Numeric): { intercept: number; slope: number } | null {
  sameLength(x, y, 'linearFit');
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope };
}

/**
 * Residuals of y after regressing out x with an intercept (ordinary least squares, see linearFit).
 * A constant x leaves e = y − ȳ.
 */
export function residualize(y: Numeric, x: Numeric): number[] {
  sameLength(y, x, 'residualize');
  const fit = linearFit(x, y) ?? { intercept: mean(y), slope: 0 };
  return Array.from({ length: y.length }, (_, i) => y[i]! - fit.intercept - fit.slope * x[i]!);
}
