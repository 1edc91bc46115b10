import { describe, expect, it } from 'vitest';
import { anovaMeanSquares, icc, type IccModel } from '../../lib/stats/index.js';

// Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
const SF = [
  [9, 2, 5, 8],
  [6, 1, 3, 2],
  [8, 4, 6, 8],
  [7, 1, 2, 6],
  [10, 5, 6, 9],
  [6, 2, 4, 7],
];

describe('ICC, Shrout & Fleiss 1979 example', () => {
  it('reproduces the paper’s ANOVA table (BMS 11.24, JMS 32.49, EMS 1.02)', () => {
    const ms = anovaMeanSquares(SF);
    expect(ms.n).toBe(6);
    expect(ms.k).toBe(4);
    // SSR = 56.2083…, SSC = 97.4583…, SSE = 15.2917… worked out by hand from row/column means.
    expect(ms.msr).toBeCloseTo(56.208333333333 / 5, 10);
    expect(ms.msc).toBeCloseTo(97.458333333333 / 3, 10);
    expect(ms.mse).toBeCloseTo(15.291666666667 / 15, 10);
  });
  it.each<[IccModel, number, number]>([
    ['2,1', 0.29, 0.2897637795275592],
    ['2,k', 0.62, 0.6200505475989893],
    ['3,1', 0.71, 0.7148407148407154],
    ['3,k', 0.91, 0.9093155423770697],
  ])('ICC(%s) = %s as published', (model, published, exact) => {
    const { value, ci } = icc(SF, { model });
    expect(value).toBeCloseTo(published, 2);
    expect(value).toBeCloseTo(exact, 12);
    expect(ci).toBeUndefined();
  });
});

describe('ICC properties', () => {
  it('perfect agreement gives 1 for every model; a rater offset lowers only the agreement ICC(2,·)', () => {
    const base = [[1], [2], [4], [7], [11]].map(([v]) => [v!, v!, v!]);
    for (const model of ['2,1', '2,k', '3,1', '3,k'] as const) expect(icc(base, { model }).value).toBeCloseTo(1, 12);
    const shifted = base.map(([a, b, c]) => [a!, b! + 2, c! - 1]);
    expect(icc(shifted, { model: '3,1' }).value).toBeCloseTo(1, 12);
    expect(icc(shifted, { model: '2,1' }).value).toBeLessThan(0.95);
  });
  it('rejects degenerate shapes', () => {
    expect(() => icc([[1, 2]], { model: '2,1' })).toThrow();
    expect(() => icc([[1], [2]], { model: '2,1' })).toThrow();
    expect(() => icc([[1, 2], [3]], { model: '2,1' })).toThrow();
  });
  it('bootstrap CI over subjects: seeded, brackets the estimate', () => {
    const a = icc(SF, { model: '2,1', bootstrap: 1000, seed: 42 });
    const b = icc(SF, { model: '2,1', bootstrap: 1000, seed: 42 });
    expect(a).toEqual(b);
    const [lo, hi] = a.ci!;
    expect(lo).toBeLessThan(a.value);
    expect(hi).toBeGreaterThan(a.value);
    expect(lo).toBeGreaterThanOrEqual(-1);
    expect(hi).toBeLessThanOrEqual(1);
    expect(icc(SF, { model: '2,1', bootstrap: 1000, seed: 43 }).ci).not.toEqual(a.ci);
  });
  it('bootstrap CI narrows with more subjects of the same structure', () => {
    const row = (i: number) => {
      const t = Math.sin(i * 1.7) * 3;
      return [t + 0.3 * Math.cos(i * 5.1), t + 0.3 * Math.sin(i * 2.3), t + 0.3 * Math.cos(i * 0.7 + 1)];
    };
    const small = Array.from({ length: 10 }, (_, i) => row(i));
    const large = Array.from({ length: 200 }, (_, i) => row(i));
    const w = (m: number[][]) => {
      const [lo, hi] = icc(m, { model: '2,1', bootstrap: 500, seed: 1 }).ci!;
      return hi - lo;
    };
    expect(w(large)).toBeLessThan(w(small));
  });
});
