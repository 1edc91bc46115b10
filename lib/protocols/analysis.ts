/**
 * What a fingerprint reports beyond the per-axis scores: profile structure (PCA, cross-axis
 * correlation, length confound), dead zones, and how many answers stopped at the token cap.
 */
import { PROTOCOL_DEFAULTS } from '../defaults.js';
import type { CalibratedAxis, DeadZone, Structure, Truncation } from '../docs/types.js';
import {
  baselineSnr, deadZoneKind, deadZoneSeverity, effectiveDimensionality, mean, median, pearson, poleFollowRate, residualize,
} from '../stats/index.js';

const finiteOr0 = (x: number) => (Number.isFinite(x) ? x : 0);
/** A correlation that is undefined (a constant variable) is null in the documents, never 0. */
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** How many answers stopped at the token cap (`stopReason: 'length'`); warn at ≥ PROTOCOL_DEFAULTS.truncationWarnShare of them. */
export function truncation(stopReasons: ReadonlyArray<'eos' | 'length'>, maxTokens: number): Truncation {
  const capped = stopReasons.filter((r) => r === 'length').length;
  const total = stopReasons.length;
  const share = total ? capped / total : 0;
  return { capped, total, share, maxTokens, warn: total > 0 && share >= PROTOCOL_DEFAULTS.truncationWarnShare };
}
/** A constant baseline has no noise: infinite SNR counts as perfect, undefined (0/0) as none. */
const safeSnr = (x: number) => (Number.isNaN(x) ? 0 : Math.min(x, 1e9));

/** Mean |r| over the axis pairs whose r is defined; null when none is. */
function meanAbsCrossR(columns: number[][]): number | null {
  const rs: number[] = [];
  for (let a = 0; a < columns.length; a++)
    for (let b = a + 1; b < columns.length; b++) {
      const r = pearson(columns[a], columns[b]);
      if (Number.isFinite(r)) rs.push(Math.abs(r));
    }
  return rs.length ? mean(rs) : null;
}

/** scores[axis][question], tokens[question]. */
export function profileStructure(axisIds: string[], scores: number[][], tokens: number[]): Structure {
  const matrix = scores[0].map((_, q) => scores.map((col) => col[q]));
  const pca = effectiveDimensionality(matrix);
  const correlation = scores.map((a) => scores.map((b) => finiteOrNull(pearson(a, b))));
  const perAxis: Record<string, number | null> = {};
  axisIds.forEach((id, i) => (perAxis[id] = finiteOrNull(pearson(scores[i], tokens))));
  const constantLength = tokens.every((t) => t === tokens[0]);
  const residuals = scores.map((col) => residualize(col, tokens));
  return {
    pc1Share: finiteOr0(pca.pc1Share),
    participationRatio: finiteOr0(pca.participationRatio),
    eigenvalues: pca.eigenvalues,
    axes: axisIds,
    correlation,
    lengthConfound: { perAxis, constantLength, meanAbsCrossRBefore: meanAbsCrossR(scores), meanAbsCrossRAfter: meanAbsCrossR(residuals) },
  };
}

/** Dead-zone severity per axis; partial (three terms) when no stability cosine is known. */
export function deadZones(axes: CalibratedAxis[], baselineScores: number[][], stabilityCosine?: Record<string, number>): DeadZone[] {
  return axes.map((axis, i) => {
    const scores = baselineScores[i];
    const sev = deadZoneSeverity({
      auc: axis.auc,
      dprime: Number.isFinite(axis.dprime) ? axis.dprime : 0,
      stabilityCosine: stabilityCosine?.[axis.id],
      snr: safeSnr(baselineSnr(scores)),
    });
    const med = median(scores);
    const followRates = axis.evalScores.positive.length
      ? { positive: poleFollowRate(axis.evalScores.positive, med, 'positive'), negative: poleFollowRate(axis.evalScores.negative, med, 'negative') }
      : undefined;
    const kind = sev.level === 'healthy' ? [] : deadZoneKind({ separation: sev.terms.separation, stability: sev.terms.stability ?? undefined, followRates });
    return { axis: axis.id, severity: sev.severity, equalWeight: sev.equalWeight, partial: sev.partial, terms: sev.terms, level: sev.level, kind };
  });
}
