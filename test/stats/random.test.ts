import { describe, expect, it } from 'vitest';
import { bootstrapMeanCI, mulberry32, percentileInterval, randomSubset, seededRandom } from '../../lib/stats/index.js';

describe('mulberry32 / seededRandom', () => {
  it('reproduces the reference sequence (computed independently with 32-bit integer arithmetic in Python)', () => {
    const r = mulberry32(42);
    expect([r(), r(), r(), r()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693]);
    const z = seededRandom(0);
    expect([z(), z()]).toEqual([0.26642920868471265, 0.0003297457005828619]);
  });
  it('is deterministic per seed, in [0, 1), roughly uniform', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 20000 }, () => a());
    expect(xs.slice(0, 50)).toEqual(Array.from({ length: 50 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const m = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(m - 0.5)).toBeLessThan(0.01);
    expect(seededRandom(8)()).not.toBe(seededRandom(7)());
  });
  it('randomSubset draws k distinct indices', () => {
    const s = randomSubset(30, 15, seededRandom(1));
    expect(s).toHaveLength(15);
    expect(new Set(s).size).toBe(15);
    expect(s.every((i) => Number.isInteger(i) && i >= 0 && i < 30)).toBe(true);
    expect(randomSubset(30, 15, seededRandom(1))).toEqual(s);
    expect([...randomSubset(5, 5, seededRandom(3))].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(() => randomSubset(3, 4, seededRandom(1))).toThrow();
  });
});

describe('bootstrap', () => {
  it('percentileInterval uses numpy-linear quantiles and skips non-finite replicates', () => {
    const reps = [NaN, ...Array.from({ length: 101 }, (_, i) => i), Infinity];
    expect(percentileInterval(reps, 0.95)).toEqual([2.5, 97.5]);
  });
  it('bootstrapMeanCI: seeded, brackets the mean, matches the normal approximation', () => {
    const values = Array.from({ length: 200 }, (_, i) => Math.sin(i) * 3 + 1);
    const a = bootstrapMeanCI(values, { resamples: 4000, seed: 5 });
    expect(bootstrapMeanCI(values, { resamples: 4000, seed: 5 })).toEqual(a);
    expect(a.lower).toBeLessThan(a.mean);
    expect(a.upper).toBeGreaterThan(a.mean);
    // Normal approximation: half-width ≈ 1.96 · sd / sqrt(n).
    const m = a.mean;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / values.length);
    const half = (1.96 * sd) / Math.sqrt(values.length);
    expect((a.upper - a.lower) / 2).toBeCloseTo(half, 1);
  });
  it('constant values give a zero-width interval', () => {
    expect(bootstrapMeanCI([2, 2, 2], { resamples: 50, seed: 1 })).toEqual({ mean: 2, lower: 2, upper: 2 });
  });
});
