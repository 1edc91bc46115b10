/**
 * What a fingerprint reports beyond the per-axis scores (METHOD §4–§5): profile structure (PCA,
 * cross-axis correlation, length confound) and dead zones.
 */
import type { CalibratedAxis } from '../method/axes-doc.js';
import {
  baselineSnr, deadZoneKind, deadZoneSeverity, effectiveDimensionality, mean, median, pearson, poleFollowRate, residualize,
} from '../stats/index.js';
import type { DeadZone, Structure } from './types.js';

const finiteOr0 = (x: number) => (Number.isFinite(x) ? x : 0);
/** A constant baseline has no noise: infinite SNR counts as perfect, undefined (0/0) as none. */
const safeSnr = (x: number) => (Number.isNaN(x) ? 0 : Math.min(x, 1e9));

function meanAbsCrossR(columns: number[][]): number {
  const rs: number[] = [];
  for (let a = 0; a < columns.length; a++)
    for (let b = a + 1; b < columns.length; b++) rs.push(Math.abs(finiteOr0(pearson(columns[a], columns[b]))));
  return rs.length ? mean(rs) : 0;
}

/** scores[axis][question], tokens[question]. */
export function profileStructure(axisIds: string[], scores: number[][], tokens: number[]): Structure {
  const matrix = scores[0].map((_, q) => scores.map((col) => col[q]));
  const pca = effectiveDimensionality(matrix);
  const correlation = scores.map((a) => scores.map((b) => finiteOr0(pearson(a, b))));
  const perAxis: Record<string, number> = {};
  axisIds.forEach((id, i) => (perAxis[id] = finiteOr0(pearson(scores[i], tokens))));
  const residuals = scores.map((col) => residualize(col, tokens));
  return {
    pc1Share: finiteOr0(pca.pc1Share),
    participationRatio: finiteOr0(pca.participationRatio),
    eigenvalues: pca.eigenvalues,
    axes: axisIds,
    correlation,
    lengthConfound: { perAxis, meanAbsCrossRBefore: meanAbsCrossR(scores), meanAbsCrossRAfter: meanAbsCrossR(residuals) },
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
