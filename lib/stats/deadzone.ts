/** Dead-zone severity and kind of an axis (docs/method.md §5). */
import { mean, std, type Numeric } from './descriptive.js';

export type DeadZoneLevel = 'healthy' | 'weak' | 'dead';
export type DeadZoneKind = 'hard' | 'soft' | 'asymmetric';

/** Severity thresholds: healthy < 0.15 ≤ weak < 0.30 ≤ dead. */
export const DEAD_ZONE_THRESHOLDS = { weak: 0.15, dead: 0.3 } as const;

const clip01 = (x: number): number => Math.min(1, Math.max(0, x));

/** Accuracy term A = clip(2 (1 − AUC), 0, 1): 0 at AUC 1, 1 at AUC ≤ 0.5. */
export function accuracyTerm(auc: number): number {
  return clip01(2 * (1 - auc));
}

/**
 * Separation term D = clip(1 − min(d′/3, 1), 0, 1): 0 at d′ ≥ 3, 1 at d′ ≤ 0. The clip matters: a
 * reversed axis (d′ < 0) would otherwise give D > 1 (d′ = −0.06 → 1.02), outside the [0, 1] that every
 * term lies in.
 */
export function separationTerm(dprime: number): number {
  return clip01(1 - Math.min(dprime / 3, 1));
}

export interface DeadZoneTerms {
  /** A = clip(2 (1 − AUC), 0, 1). */
  accuracy: number;
  /** D = clip(1 − min(d′/3, 1), 0, 1): 0 at d′ ≥ 3, 1 at d′ ≤ 0. */
  separation: number;
  /** S = clip(1 − stability cosine, 0, 1); null when no stability run was made. */
  stability: number | null;
  /** N = 1 − min(SNR/3, 1), SNR = |mean baseline score| / std baseline score. */
  snr: number;
}

/**
 * Severity = 0.3 A + 0.3 D + 0.2 S + 0.2 N (each term in [0, 1], 1 worst); equalWeight = mean of the
 * terms. Without a stability cosine (null/undefined) S is unknown: severity = (0.3 A + 0.3 D + 0.2 N) / 0.8,
 * equalWeight = (A + D + N) / 3, partial = true. level from the weighted severity.
 */
export function deadZoneSeverity(input: {
  auc: number;
  dprime: number;
  stabilityCosine?: number | null;
  snr: number;
}): { severity: number; equalWeight: number; terms: DeadZoneTerms; level: DeadZoneLevel; partial: boolean } {
  const { auc, dprime, snr } = input;
  for (const [name, v] of Object.entries({ auc, dprime, snr })) {
    if (Number.isNaN(v)) throw new RangeError(`deadZoneSeverity: ${name} is NaN`);
  }
  if (snr < 0) throw new RangeError('deadZoneSeverity: snr must be ≥ 0');
  const accuracy = accuracyTerm(auc);
  const separation = separationTerm(dprime);
  const snrTerm = 1 - Math.min(snr / 3, 1);
  const cos = input.stabilityCosine;
  const partial = cos === null || cos === undefined;
  if (!partial && Number.isNaN(cos)) throw new RangeError('deadZoneSeverity: stabilityCosine is NaN');
  const stability = partial ? null : clip01(1 - cos);
  const severity =
    stability === null
      ? (0.3 * accuracy + 0.3 * separation + 0.2 * snrTerm) / 0.8
      : 0.3 * accuracy + 0.3 * separation + 0.2 * stability + 0.2 * snrTerm;
  const equalWeight =
    stability === null ? (accuracy + separation + snrTerm) / 3 : (accuracy + separation + stability + snrTerm) / 4;
  return {
    severity,
    equalWeight,
    terms: { accuracy, separation, stability, snr: snrTerm },
    level: severityLevel(severity),
    partial,
  };
}

/** healthy < 0.15 ≤ weak < 0.30 ≤ dead. */
export function severityLevel(severity: number): DeadZoneLevel {
  return severity < DEAD_ZONE_THRESHOLDS.weak ? 'healthy' : severity < DEAD_ZONE_THRESHOLDS.dead ? 'weak' : 'dead';
}

/**
 * Baseline signal-to-noise ratio |mean| / std (std ddof 0) of an axis's baseline scores.
 * Constant scores: Infinity when the mean is non-zero, 0 when it is zero.
 */
export function baselineSnr(scores: Numeric): number {
  const m = Math.abs(mean(scores));
  const s = std(scores);
  if (s === 0) return m === 0 ? 0 : Infinity;
  return m / s;
}

/**
 * Follow rate of one pole: the fraction of that pole's responses whose score lands on the expected
 * side of the baseline median (> median for the positive pole, < median for the negative one).
 */
export function poleFollowRate(scores: Numeric, baselineMedian: number, pole: 'positive' | 'negative'): number {
  if (scores.length === 0) throw new RangeError('poleFollowRate: no scores');
  let hits = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (pole === 'positive' ? s > baselineMedian : s < baselineMedian) hits++;
  }
  return hits / scores.length;
}

/**
 * Kind(s) of a weak or dead axis (docs/method.md §5), in the order hard, soft, asymmetric:
 *   hard        D ≥ 0.5 (states barely separate)
 *   soft        S ≥ 0.3 (direction moves between calibration sets; never when S is unknown)
 *   asymmetric  |followRate+ − followRate−| ≥ 0.4 (only when both follow rates are given)
 * Thresholds are compared with 1e-12 slack, so that e.g. rates 0.7 and 0.3 (difference 0.39999…) count.
 * Callers apply it to axes whose level is not 'healthy'.
 */
export function deadZoneKind(input: {
  separation: number;
  stability?: number | null;
  followRates?: { positive: number; negative: number } | null;
}): DeadZoneKind[] {
  const eps = 1e-12;
  const kinds: DeadZoneKind[] = [];
  if (input.separation >= 0.5 - eps) kinds.push('hard');
  if (input.stability != null && input.stability >= 0.3 - eps) kinds.push('soft');
  const f = input.followRates;
  if (f != null && Math.abs(f.positive - f.negative) >= 0.4 - eps) kinds.push('asymmetric');
  return kinds;
}
