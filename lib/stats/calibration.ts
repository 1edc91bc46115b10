/** Axis calibration math (docs/method.md §2). */
import { quantile, median, trimmedMean, type Numeric } from './descriptive.js';
import { dot } from './correlation.js';

/**
 * Unit axis direction pointing to the positive pole:
 * μ± = coordinate-wise trimmed mean (proportion `trim` [0.1] cut at each end) of the pole's response
 * vectors, v = (μ+ − μ−) / ||μ+ − μ−||, computed in float64 and returned as float32.
 */
export function axisDirection(posVectors: ReadonlyArray<Numeric>, negVectors: ReadonlyArray<Numeric>, trim = 0.1): Float32Array {
  const mp = trimmedMean(posVectors, trim);
  const mn = trimmedMean(negVectors, trim);
  if (mp.length !== mn.length) throw new RangeError('axisDirection: poles differ in dimension');
  const diff = mp.map((x, i) => x - mn[i]!);
  const len = Math.sqrt(dot(diff, diff));
  if (!(len > 0)) throw new RangeError('axisDirection: pole means coincide, no direction');
  return Float32Array.from(diff, (x) => x / len);
}

/** Projection H · v of a response vector on an axis (float64 accumulation). */
export function project(h: Numeric, v: Numeric): number {
  return dot(h, v);
}

/**
 * Centre and scale of an axis from the projections of all calibration responses:
 * default: c = median(x), s = max(Q75 − Q25, 1e-6 (|Q75| + |Q25|)) (linear-interpolated quantiles);
 * compat (`--compat mood-axis`, the reference code): c = 0, s = max(Q75 − Q25, 0.1).
 */
export function axisScale(projections: Numeric, options: { compat?: boolean } = {}): { center: number; scale: number } {
  const q25 = quantile(projections, 0.25);
  const q75 = quantile(projections, 0.75);
  const iqr = q75 - q25;
  if (options.compat) return { center: 0, scale: Math.max(iqr, 0.1) };
  return { center: median(projections), scale: Math.max(iqr, 1e-6 * (Math.abs(q75) + Math.abs(q25))) };
}

/** Score = clip((x − c) / s, −1, +1). */
export function scoreProjection(x: number, center: number, scale: number): number {
  return Math.min(1, Math.max(-1, (x - center) / scale));
}
