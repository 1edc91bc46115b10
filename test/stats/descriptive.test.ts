import { describe, expect, it } from 'vitest';
import { mean, median, quantile, std, trimmedMean, variance } from '../../lib/stats/index.js';

describe('mean / variance / std', () => {
  it('matches hand values', () => {
    const x = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(x)).toBe(5);
    expect(variance(x)).toBe(4); // Σ(x−5)² = 32, / 8
    expect(std(x)).toBe(2);
    expect(variance(x, { ddof: 1 })).toBeCloseTo(32 / 7, 15);
    expect(std(Float32Array.from(x), { ddof: 1 })).toBeCloseTo(Math.sqrt(32 / 7), 15);
  });
  it('rejects empty input; NaN when n − ddof ≤ 0', () => {
    expect(() => mean([])).toThrow();
    expect(variance([3], { ddof: 1 })).toBeNaN();
  });
});

describe('quantile (numpy linear) and median', () => {
  it('matches np.quantile on 1..10', () => {
    // np.quantile(np.arange(1, 11), [0.25, 0.5, 0.75, 0.1, 0.9]) -> [3.25, 5.5, 7.75, 1.9, 9.1]
    const x = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    expect([0.25, 0.5, 0.75, 0.1, 0.9].map((q) => quantile(x, q))).toEqual([3.25, 5.5, 7.75, 1.9, 9.1]);
  });
  it('matches np.quantile bit for bit on an unsorted sample', () => {
    // np.quantile([3.1,-2.0,7.5,0.25,10.0,4.4,-1.3], [0,.25,.33,.5,.75,.9,1])
    const x = [3.1, -2.0, 7.5, 0.25, 10.0, 4.4, -1.3];
    const qs = [0, 0.25, 0.33, 0.5, 0.75, 0.9, 1];
    expect(qs.map((q) => quantile(x, q))).toEqual([-2.0, -0.525, 0.21899999999999997, 3.1, 5.95, 8.5, 10.0]);
  });
  it('median odd/even and single value', () => {
    expect(median([3.1, -2.0, 7.5, 0.25, 10.0, 4.4, -1.3])).toBe(3.1);
    expect(median([3.1, -2.0, 7.5, 0.25, 10.0, 4.4])).toBe(3.75);
    expect(median([42])).toBe(42);
    expect(quantile([42], 0.3)).toBe(42);
  });
  it('rejects q outside [0, 1]', () => {
    expect(() => quantile([1, 2], 1.5)).toThrow();
  });
});

describe('trimmedMean (coordinate-wise)', () => {
  it('drops floor(0.1 N) values at each end per coordinate', () => {
    // N = 10 -> drop 1 low and 1 high in every column.
    const col0 = [100, 1, 2, 3, 4, 5, 6, 7, 8, -50]; // keeps 1..8 -> 4.5
    const col1 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]; // keeps eight zeros -> 0
    const rows = col0.map((v, i) => Float32Array.from([v, col1[i]!]));
    expect(Array.from(trimmedMean(rows, 0.1))).toEqual([4.5, 0]);
  });
  it('N = 9: floor(0.9) = 0, plain mean; proportion 0 is the mean', () => {
    const rows = [1, 2, 3, 4, 5, 6, 7, 8, 100].map((v) => [v]);
    expect(trimmedMean(rows, 0.1)[0]).toBeCloseTo(136 / 9, 12);
    expect(trimmedMean(rows, 0)[0]).toBeCloseTo(136 / 9, 12);
  });
  it('N = 30 drops 3 at each end (scipy trim_mean(x, 0.1))', () => {
    const x = Array.from({ length: 30 }, (_, i) => (i * 7) % 30); // permutation of 0..29
    // keeps 3..26 -> mean 14.5
    expect(trimmedMean(x.map((v) => [v, -v]), 0.1)).toEqual(Float64Array.from([14.5, -14.5]));
  });
  it('validates input', () => {
    expect(() => trimmedMean([], 0.1)).toThrow();
    expect(() => trimmedMean([[1], [1, 2]], 0.1)).toThrow();
    expect(() => trimmedMean([[1]], 0.5)).toThrow();
  });
});
