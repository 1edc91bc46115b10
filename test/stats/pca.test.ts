import { describe, expect, it } from 'vitest';
import { effectiveDimensionality, seededRandom } from '../../lib/stats/index.js';
import { covariance, jacobiEigenvalues } from './helpers.js';

describe('effectiveDimensionality', () => {
  it('two columns: eigenvalues in closed form', () => {
    // x = [1,2,3,4], y = [2,1,4,3]: var x = var y = 5/3, cov = 1 -> λ = 5/3 ± 1
    const m = [
      [1, 2],
      [2, 1],
      [3, 4],
      [4, 3],
    ];
    const r = effectiveDimensionality(m);
    expect(r.eigenvalues[0]).toBeCloseTo(8 / 3, 12);
    expect(r.eigenvalues[1]).toBeCloseTo(2 / 3, 12);
    expect(r.pc1Share).toBeCloseTo(0.8, 12);
    expect(r.participationRatio).toBeCloseTo((10 / 3) ** 2 / (64 / 9 + 4 / 9), 12);
  });
  it('random 30 × 7 matrix agrees with a Jacobi decomposition of the covariance', () => {
    const rng = seededRandom(11);
    const m = Array.from({ length: 30 }, () => {
      const f = rng() - 0.5;
      return Array.from({ length: 7 }, (_, j) => f * (j + 1) + 0.3 * (rng() - 0.5));
    });
    const ours = effectiveDimensionality(m);
    const direct = jacobiEigenvalues(covariance(m));
    expect(ours.eigenvalues).toHaveLength(7);
    ours.eigenvalues.forEach((l, i) => expect(l).toBeCloseTo(direct[i]!, 12));
    const sum = direct.reduce((s, l) => s + l, 0);
    expect(ours.pc1Share).toBeCloseTo(direct[0]! / sum, 12);
    expect(ours.participationRatio).toBeCloseTo(sum ** 2 / direct.reduce((s, l) => s + l * l, 0), 10);
  });
  it('a constant column contributes no eigenvalue; isotropic data has PR = d', () => {
    const m = [
      [1, 0, 5],
      [-1, 0, 5],
      [0, 1, 5],
      [0, -1, 5],
    ];
    const r = effectiveDimensionality(m);
    expect(r.eigenvalues).toHaveLength(2);
    expect(r.participationRatio).toBeCloseTo(2, 12);
    expect(r.pc1Share).toBeCloseTo(0.5, 12);
  });
  it('rank-one data: PR = 1, PC1 share = 1', () => {
    const r = effectiveDimensionality([1, 2, 3, 5].map((t) => [t, -2 * t, 0.5 * t]));
    expect(r.eigenvalues).toHaveLength(1);
    expect(r.participationRatio).toBeCloseTo(1, 12);
    expect(r.pc1Share).toBeCloseTo(1, 12);
  });
});
