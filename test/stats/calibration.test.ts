import { describe, expect, it } from 'vitest';
import { axisDirection, axisScale, project, scoreProjection } from '../../lib/stats/index.js';

describe('axisDirection', () => {
  it('unit vector from the trimmed-mean difference, pointing to the positive pole', () => {
    // 10 rows per pole -> one outlier trimmed at each end of every coordinate.
    const pos = Array.from({ length: 10 }, (_, i) => Float32Array.from([3, 1, i === 0 ? 1000 : 0]));
    const neg = Array.from({ length: 10 }, () => Float32Array.from([0, 5, 0]));
    const v = axisDirection(pos, neg);
    expect(v).toBeInstanceOf(Float32Array);
    // μ+ − μ− = (3, −4, 0) (the 1000 is trimmed) -> (0.6, −0.8, 0)
    expect(Array.from(v)).toEqual([Math.fround(0.6), Math.fround(-0.8), 0]);
    // without trimming the outlier dominates
    expect(axisDirection(pos, neg, 0)[2]).toBeGreaterThan(0.99);
    expect(() => axisDirection(neg, neg)).toThrow();
  });
});

describe('axisScale / scoreProjection', () => {
  it('centre = median, scale = IQR (numpy-linear quartiles)', () => {
    const x = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]; // Q25 3.25, Q75 7.75, median 5.5
    expect(axisScale(x)).toEqual({ center: 5.5, scale: 4.5 });
  });
  it('scale floor 1e-6 (|Q75| + |Q25|) when the IQR collapses', () => {
    expect(axisScale([2, 2, 2, 2, 9])).toEqual({ center: 2, scale: 1e-6 * 4 });
  });
  it('compat: centre 0, scale floored at 0.1', () => {
    expect(axisScale([1, 1.01, 1.02, 1.03], { compat: true })).toEqual({ center: 0, scale: 0.1 });
    expect(axisScale([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], { compat: true })).toEqual({ center: 0, scale: 4.5 });
  });
  it('score = clip((x − c) / s, −1, 1)', () => {
    expect(scoreProjection(7, 5, 4)).toBe(0.5);
    expect(scoreProjection(3, 5, 4)).toBe(-0.5);
    expect(scoreProjection(100, 5, 4)).toBe(1);
    expect(scoreProjection(-100, 5, 4)).toBe(-1);
  });
  it('project is the dot product', () => {
    expect(project(Float32Array.from([1, 2, 3]), [0.5, 0, -1])).toBe(-2.5);
  });
});
