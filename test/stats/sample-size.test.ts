import { describe, expect, it } from 'vitest';
import { PROTOCOL_DEFAULTS } from '../../lib/defaults.js';
import { maxSplitHalfSize, seededRandom, splitHalfPoint, stableAt } from '../../lib/stats/index.js';

const STABLE = PROTOCOL_DEFAULTS.stability.stableCosine;

const DIM = 48;

/** Hidden states of `questions` questions: each pole = ±signal·direction + unit Gaussian noise. */
function poles(questions: number, signal: number, seed: number): { positive: Float32Array[]; negative: Float32Array[] } {
  const rng = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, rng()))) * Math.cos(2 * Math.PI * rng());
  const direction = Float32Array.from({ length: DIM }, (_, i) => (i === 0 ? 1 : 0));
  const draw = (sign: number) => Float32Array.from({ length: DIM }, (_, i) => sign * signal * direction[i]! + gauss());
  return { positive: Array.from({ length: questions }, () => draw(1)), negative: Array.from({ length: questions }, () => draw(-1)) };
}

function curve(signal: number, sizes: number[]): { cos: number[]; auc: Array<number | null> } {
  const cal = poles(30, signal, 1);
  const ev = poles(10, signal, 2);
  const points = sizes.map((n) => splitHalfPoint(cal, ev, n, 20, seededRandom(100 + n))!);
  return { cos: points.map((p) => p.medianCosine), auc: points.map((p) => p.auc) };
}

describe('split-half sample-size curve', () => {
  const sizes = [5, 10, 15];

  it('a clean axis: the two halves agree, the curve reaches 0.9 ("stable at n")', () => {
    const { cos, auc } = curve(5, sizes);
    expect(cos[2]).toBeGreaterThan(STABLE);
    expect(cos[2]).toBeLessThan(1); // two different halves: never 1 by construction
    expect(stableAt(sizes, cos, STABLE)).not.toBeNull();
    for (const a of auc) expect(a).toBeGreaterThan(0.9);
  });

  it('a noise axis: the halves disagree at every n, "not reached" (null)', () => {
    const { cos, auc } = curve(0, sizes);
    for (const c of cos) expect(c).toBeLessThan(0.6);
    expect(stableAt(sizes, cos, STABLE)).toBeNull();
    for (const a of auc) expect(a).toBeGreaterThan(0.2);
  });

  it('the largest n is half the questions; larger n is refused', () => {
    expect(maxSplitHalfSize(30)).toBe(15);
    expect(maxSplitHalfSize(9)).toBe(4);
    const cal = poles(30, 1, 3);
    expect(() => splitHalfPoint(cal, cal, 16, 5, seededRandom(1))).toThrow(/between 1 and 15/);
  });

  it('the same seed gives the same point; no evaluation responses give auc null', () => {
    const cal = poles(20, 1, 4);
    const none = { positive: [], negative: [] };
    const a = splitHalfPoint(cal, none, 6, 10, seededRandom(9))!;
    const b = splitHalfPoint(cal, none, 6, 10, seededRandom(9))!;
    expect(a).toEqual(b);
    expect(a.auc).toBeNull();
    expect(a.draws).toBe(10);
  });

  it('stableAt: the first n at the threshold, null when none', () => {
    expect(stableAt([5, 10, 15], [0.5, 0.9, 0.95], STABLE)).toBe(10);
    expect(stableAt([5, 10, 15], [0.5, 0.89, 0.899], STABLE)).toBeNull();
  });
});
