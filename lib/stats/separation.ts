/** Held-out separation of the two poles' projections (docs/method.md §2). */
import { mean, variance, type Numeric } from './descriptive.js';

/**
 * AUC = fraction of (pos, neg) pairs with pos > neg; a tie counts 0.5
 * (the Mann–Whitney U / (n+ n−) convention; without ties it equals the study's "fraction of pairs x+ > x−").
 * 1 = perfect separation towards the positive pole, 0.5 = chance, 0 = reversed.
 */
export function auc(pos: Numeric, neg: Numeric): number {
  if (pos.length === 0 || neg.length === 0) throw new RangeError('auc: both groups must be non-empty');
  let wins = 0;
  for (let i = 0; i < pos.length; i++) {
    for (let j = 0; j < neg.length; j++) {
      const p = pos[i]!;
      const q = neg[j]!;
      wins += p > q ? 1 : p === q ? 0.5 : 0;
    }
  }
  return wins / (pos.length * neg.length);
}

/**
 * d′ = (mean x+ − mean x−) / s_pooled with
 * s_pooled² = ((n+ − 1) s+² + (n− − 1) s−²) / (n+ + n− − 2), s² with ddof 1.
 * ±Infinity when both groups are constant and differ, NaN when they are constant and equal.
 */
export function dprime(pos: Numeric, neg: Numeric): number {
  const np = pos.length;
  const nn = neg.length;
  if (np === 0 || nn === 0 || np + nn < 3) throw new RangeError('dprime: need both groups non-empty and n+ + n− ≥ 3');
  const vp = np > 1 ? variance(pos, { ddof: 1 }) : 0;
  const vn = nn > 1 ? variance(neg, { ddof: 1 }) : 0;
  const pooled = ((np - 1) * vp + (nn - 1) * vn) / (np + nn - 2);
  return (mean(pos) - mean(neg)) / Math.sqrt(pooled);
}
