/** Descriptive statistics over plain numeric arrays. */

/** Numbers as a plain array or any typed array. */
export type Numeric = ArrayLike<number>;

function requireNonEmpty(values: Numeric, name: string): void {
  if (values.length === 0) throw new RangeError(`${name}: empty input`);
}

/** Arithmetic mean Σx / n. */
export function mean(values: Numeric): number {
  requireNonEmpty(values, 'mean');
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

/** Variance Σ(x − x̄)² / (n − ddof); ddof 0 (population) by default. NaN when n − ddof ≤ 0. */
export function variance(values: Numeric, options: { ddof?: number } = {}): number {
  const ddof = options.ddof ?? 0;
  const m = mean(values);
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += (values[i]! - m) ** 2;
  const dof = values.length - ddof;
  return dof > 0 ? ss / dof : NaN;
}

/** Standard deviation sqrt(variance); ddof 0 by default (numpy's np.std). */
export function std(values: Numeric, options: { ddof?: number } = {}): number {
  return Math.sqrt(variance(values, options));
}

function sorted(values: Numeric): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * Quantile with linear interpolation between order statistics (numpy's default, method 'linear'):
 * h = (n − 1) q, result = x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]) over the sorted values.
 * The interpolation is written as numpy writes it (from the upper point when the weight ≥ 0.5),
 * so results agree with np.quantile bit for bit.
 */
export function quantile(values: Numeric, q: number): number {
  requireNonEmpty(values, 'quantile');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  return quantileSorted(sorted(values), q);
}

/** quantile() over values already sorted ascending. */
export function quantileSorted(x: Numeric, q: number): number {
  const h = (x.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, x.length - 1);
  const t = h - lo;
  const a = x[lo]!;
  const b = x[hi]!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Median: middle order statistic, or the mean of the two middle ones (as np.median). */
export function median(values: Numeric): number {
  requireNonEmpty(values, 'median');
  const x = sorted(values);
  const m = x.length >> 1;
  return x.length % 2 === 1 ? x[m]! : (x[m - 1]! + x[m]!) / 2;
}

/**
 * Coordinate-wise trimmed mean of N rows of length d (docs/method.md §2): for every coordinate sort the N
 * values, drop g = ⌊proportion · N⌋ at each end, average the remaining N − 2g (as scipy's trim_mean).
 */
export function trimmedMean(rows: ReadonlyArray<Numeric>, proportion = 0.1): Float64Array {
  const n = rows.length;
  if (n === 0) throw new RangeError('trimmedMean: no rows');
  if (!(proportion >= 0 && proportion < 0.5)) throw new RangeError(`trimmedMean: proportion must be in [0, 0.5), got ${proportion}`);
  const d = rows[0]!.length;
  for (const r of rows) if (r.length !== d) throw new RangeError('trimmedMean: rows differ in length');
  const g = Math.floor(proportion * n);
  const out = new Float64Array(d);
  const col = new Float64Array(n);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < n; i++) col[i] = rows[i]![j]!;
    col.sort();
    let s = 0;
    for (let i = g; i < n - g; i++) s += col[i]!;
    out[j] = s / (n - 2 * g);
  }
  return out;
}
