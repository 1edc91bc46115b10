import { describe, expect, it } from 'vitest';
import { auc, cosine, dprime, pearson, rank, residualize, spearman } from '../../lib/stats/index.js';

describe('pearson / spearman', () => {
  it('pearson: hand example and invariances', () => {
    // x̄ = 3, ȳ = 4; dx = [-2,-1,0,1,2], dy = [-2,0,-1,1,2]; Σdxdy = 9, Σdx² = Σdy² = 10 -> 0.9
    const x = [1, 2, 3, 4, 5];
    const y = [2, 4, 3, 5, 6];
    expect(pearson(x, y)).toBeCloseTo(0.9, 14);
    expect(pearson(x, y.map((v) => -3 * v + 7))).toBeCloseTo(-0.9, 14);
    expect(pearson(x, [1, 1, 1, 1, 1])).toBeNaN();
  });
  it('rank uses average ranks for ties', () => {
    expect(rank([10, 20, 20, 30, 40])).toEqual([1, 2.5, 2.5, 4, 5]);
    expect(rank([3, 1, 3, 3])).toEqual([3, 1, 3, 3]);
  });
  it('spearman with ties, worked by hand', () => {
    // ranks x = [1,2.5,2.5,4,5], ranks y = [1,2,3.5,3.5,5]; Σdxdy = 8.75, Σdx² = Σdy² = 9.5
    expect(spearman([10, 20, 20, 30, 40], [1, 2, 3, 3, 5])).toBeCloseTo(8.75 / 9.5, 14);
    // monotone but non-linear -> 1
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 14);
  });
});

describe('cosine', () => {
  it('hand values', () => {
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 2, 2], [2, 4, 4])).toBeCloseTo(1, 15);
    expect(cosine([3, 4], [4, 3])).toBeCloseTo(24 / 25, 15);
    expect(cosine(Float32Array.from([1, -1]), [-1, 1])).toBeCloseTo(-1, 15);
  });
});

describe('residualize', () => {
  it('removes an exact linear relation and leaves residuals orthogonal to x', () => {
    const x = [1, 2, 3, 4, 5];
    expect(residualize(x.map((v) => 2 * v + 1), x).every((e) => Math.abs(e) < 1e-12)).toBe(true);
    const y = [2, 4, 3, 5, 6]; // β = 9/10, α = 4 − 0.9·3 = 1.3 -> e = y − 1.3 − 0.9x
    const e = residualize(y, x);
    const expected = [-0.2, 0.9, -1, 0.1, 0.2];
    e.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
    expect(pearson(e, x)).toBeCloseTo(0, 12);
  });
  it('constant x only centres y', () => {
    expect(residualize([1, 2, 6], [5, 5, 5])).toEqual([-2, -1, 3]);
  });
});

describe('auc / dprime', () => {
  it('auc counts pairs, ties 0.5', () => {
    expect(auc([3, 4], [1, 2])).toBe(1);
    expect(auc([1, 2], [3, 4])).toBe(0);
    // pairs: (2,1)=1 (2,2)=.5 (2,3)=0 (3,1)=1 (3,2)=1 (3,3)=.5 -> 4/6
    expect(auc([2, 3], [1, 2, 3])).toBeCloseTo(4 / 6, 15);
  });
  it('auc equals the Mann–Whitney rank formula (second method)', () => {
    const pos = [0.3, 1.2, 0.3, 2.2, -0.5, 0.9];
    const neg = [0.1, 0.3, -1.0, 0.9, 0.0];
    const r = rank([...pos, ...neg]);
    const rPos = r.slice(0, pos.length).reduce((a, b) => a + b, 0);
    const u = rPos - (pos.length * (pos.length + 1)) / 2;
    expect(auc(pos, neg)).toBeCloseTo(u / (pos.length * neg.length), 14);
  });
  it('dprime with pooled ddof-1 variance', () => {
    // pos var(ddof1) = 1, neg var = 1 -> pooled 1, Δmean = 3
    expect(dprime([4, 5, 6], [1, 2, 3])).toBeCloseTo(3, 14);
    // pos [0,2,4] var 4 (n=3), neg [0,2] var 2 (n=2): pooled = (2·4 + 1·2)/3 = 10/3; Δ = 2 − 1
    expect(dprime([0, 2, 4], [0, 2])).toBeCloseTo(1 / Math.sqrt(10 / 3), 14);
    expect(dprime([1, 1], [0, 0])).toBe(Infinity);
  });
});
