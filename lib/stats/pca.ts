/** Structure of a profile matrix (docs/method.md §4, "Structure of the profile"). */
import { PCA } from 'ml-pca';

/**
 * Covariance eigenvalues of M (rows = baseline questions, columns = axes), via ml-pca:
 * M column-centred, C = MᵀM / (n − 1) (ddof 1), eigenvalues λ sorted descending, keeping λ > 0
 * (numerically: λ > 1e-12 · λ_max, so a constant column's round-off eigenvalue is dropped).
 *   PC1 share               = λ1 / Σλ
 *   participation ratio     = (Σλ)² / Σλ²   (between 1 and the number of axes; reported "x.xx / 7")
 * Note Σλ = trace C and Σλ² = ||C||_F², so the participation ratio needs no eigen-decomposition.
 */
export function effectiveDimensionality(matrix: ReadonlyArray<ArrayLike<number>>): {
  participationRatio: number;
  pc1Share: number;
  eigenvalues: number[];
} {
  if (matrix.length < 2) throw new RangeError('effectiveDimensionality: need at least 2 rows');
  const data = matrix.map((r) => Array.from(r));
  const all = new PCA(data, { center: true, scale: false, method: 'SVD' }).getEigenvalues();
  const max = Math.max(0, ...all);
  const eigenvalues = all.filter((l) => l > 1e-12 * max).sort((a, b) => b - a);
  if (eigenvalues.length === 0) return { participationRatio: NaN, pc1Share: NaN, eigenvalues };
  let sum = 0;
  let sumSq = 0;
  for (const l of eigenvalues) {
    sum += l;
    sumSq += l * l;
  }
  return { participationRatio: (sum * sum) / sumSq, pc1Share: eigenvalues[0]! / sum, eigenvalues };
}
