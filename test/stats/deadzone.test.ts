import { describe, expect, it } from 'vitest';
import { accuracyTerm, baselineSnr, deadZoneKind, deadZoneSeverity, poleFollowRate, separationTerm, severityLevel } from '../../lib/stats/index.js';

describe('deadZoneSeverity', () => {
  it('perfect axis: all terms 0, healthy', () => {
    const r = deadZoneSeverity({ auc: 1, dprime: 5, stabilityCosine: 1, snr: 4 });
    expect(r).toEqual({
      severity: 0,
      equalWeight: 0,
      terms: { accuracy: 0, separation: 0, stability: 0, snr: 0 },
      level: 'healthy',
      partial: false,
    });
  });
  it('worst axis: all terms 1, dead', () => {
    const r = deadZoneSeverity({ auc: 0.5, dprime: 0, stabilityCosine: 0, snr: 0 });
    expect(r.terms).toEqual({ accuracy: 1, separation: 1, stability: 1, snr: 1 });
    expect(r.severity).toBeCloseTo(1, 15);
    expect(r.equalWeight).toBe(1);
    expect(r.level).toBe('dead');
  });
  it('weighted sum worked by hand', () => {
    // A = 2(1 − 0.9) = 0.2, D = 1 − 1.5/3 = 0.5, S = 1 − 0.8 = 0.2, N = 1 − 0.6/3 = 0.8
    const r = deadZoneSeverity({ auc: 0.9, dprime: 1.5, stabilityCosine: 0.8, snr: 0.6 });
    expect(r.terms.accuracy).toBeCloseTo(0.2, 14);
    expect(r.terms.separation).toBeCloseTo(0.5, 14);
    expect(r.terms.stability).toBeCloseTo(0.2, 14);
    expect(r.terms.snr).toBeCloseTo(0.8, 14);
    expect(r.severity).toBeCloseTo(0.06 + 0.15 + 0.04 + 0.16, 14); // 0.41
    expect(r.equalWeight).toBeCloseTo(1.7 / 4, 14);
    expect(r.level).toBe('dead');
    expect(r.partial).toBe(false);
  });
  it('clips out-of-range inputs to [0, 1]', () => {
    const r = deadZoneSeverity({ auc: 0.2, dprime: -2, stabilityCosine: -0.5, snr: Infinity });
    expect(r.terms).toEqual({ accuracy: 1, separation: 1, stability: 1, snr: 0 });
    const good = deadZoneSeverity({ auc: 1, dprime: Infinity, stabilityCosine: 1, snr: 0 });
    expect(good.terms.separation).toBe(0);
  });
  it('partial when the stability cosine is unknown (null or undefined): weights 0.3/0.8, 0.3/0.8, 0.2/0.8', () => {
    for (const stabilityCosine of [null, undefined]) {
      const r = deadZoneSeverity({ auc: 0.9, dprime: 1.5, stabilityCosine, snr: 0.6 });
      expect(r.partial).toBe(true);
      expect(r.terms.stability).toBeNull();
      expect(r.severity).toBeCloseTo(0.375 * 0.2 + 0.375 * 0.5 + 0.25 * 0.8, 14); // 0.4625
      expect(r.equalWeight).toBeCloseTo(1.5 / 3, 14);
    }
    expect(deadZoneSeverity({ auc: 0.9, dprime: 1.5, snr: 0.6 }).partial).toBe(true);
    // Unknown S is neither worst nor perfect: partial lies strictly between the S = 0 and S = 1 values
    // when the other terms are mixed.
    const p = deadZoneSeverity({ auc: 0.95, dprime: 2.4, snr: 2.4 }).severity;
    const s0 = deadZoneSeverity({ auc: 0.95, dprime: 2.4, stabilityCosine: 1, snr: 2.4 }).severity;
    const s1 = deadZoneSeverity({ auc: 0.95, dprime: 2.4, stabilityCosine: 0, snr: 2.4 }).severity;
    expect(p).toBeGreaterThan(s0);
    expect(p).toBeLessThan(s1);
  });
  it('level thresholds: healthy < 0.15 ≤ weak < 0.30 ≤ dead', () => {
    expect(severityLevel(0.149999)).toBe('healthy');
    expect(severityLevel(0.15)).toBe('weak');
    expect(severityLevel(0.299999)).toBe('weak');
    expect(severityLevel(0.3)).toBe('dead');
    // S-only: severity 0.2 · 1 = 0.2 -> weak
    expect(deadZoneSeverity({ auc: 1, dprime: 3, stabilityCosine: 0, snr: 3 }).level).toBe('weak');
  });
  it('rejects NaN inputs and negative SNR', () => {
    expect(() => deadZoneSeverity({ auc: NaN, dprime: 1, snr: 1 })).toThrow();
    expect(() => deadZoneSeverity({ auc: 0.9, dprime: 1, stabilityCosine: NaN, snr: 1 })).toThrow();
    expect(() => deadZoneSeverity({ auc: 0.9, dprime: 1, snr: -1 })).toThrow();
  });
});

describe('dead-zone kind and helpers', () => {
  it('hard / soft / asymmetric thresholds', () => {
    expect(deadZoneKind({ separation: 0.5 })).toEqual(['hard']);
    expect(deadZoneKind({ separation: 0.49, stability: 0.3 })).toEqual(['soft']);
    expect(deadZoneKind({ separation: 0.1, stability: 0.29, followRates: { positive: 0.7, negative: 0.3 } })).toEqual(['asymmetric']);
    expect(deadZoneKind({ separation: 0.1, stability: null, followRates: { positive: 0.7, negative: 0.35 } })).toEqual([]);
    expect(deadZoneKind({ separation: 0.9, stability: 0.6, followRates: { positive: 0.1, negative: 0.9 } })).toEqual(['hard', 'soft', 'asymmetric']);
  });
  it('poleFollowRate counts the expected side of the baseline median', () => {
    expect(poleFollowRate([0.5, 0.1, -0.2, 0.3], 0.2, 'positive')).toBe(0.5);
    expect(poleFollowRate([0.5, 0.1, -0.2, 0.3], 0.2, 'negative')).toBe(0.5);
    expect(poleFollowRate([0.2, 0.2], 0.2, 'positive')).toBe(0);
  });
  it('baselineSnr = |mean| / std (ddof 0)', () => {
    expect(baselineSnr([1, 3])).toBe(2); // mean 2, std 1
    expect(baselineSnr([-1, -3])).toBe(2);
    expect(baselineSnr([0.4, 0.4])).toBe(Infinity);
    expect(baselineSnr([0, 0])).toBe(0);
  });
});

describe('dead-zone terms stay in [0, 1]', () => {
  it('a reversed axis (d′ < 0) gives D = 1, not 1.02', () => {
    expect(separationTerm(-0.06)).toBe(1);
    expect(separationTerm(-0.03)).toBe(1);
    expect(separationTerm(0)).toBe(1);
    expect(separationTerm(1.5)).toBeCloseTo(0.5, 14);
    expect(separationTerm(4)).toBe(0);
    expect(deadZoneSeverity({ auc: 0.48, dprime: -0.06, snr: 1 }).terms.separation).toBe(1);
  });
  it('accuracy term: AUC below chance gives 1, AUC 1 gives 0', () => {
    expect(accuracyTerm(0.3)).toBe(1);
    expect(accuracyTerm(1)).toBe(0);
    expect(accuracyTerm(0.9)).toBeCloseTo(0.2, 14);
  });
});
