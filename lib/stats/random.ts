/**
 * Seeded pseudo-random numbers for bootstrap resampling and random subsets.
 * mulberry32: a 32-bit state generator (Tommy Ettinger), uniform in [0, 1), period 2^32.
 * Same seed -> same sequence on every platform (only 32-bit integer arithmetic).
 */

/** A generator of uniform numbers in [0, 1). */
export type Rng = () => number;

/** mulberry32 generator seeded with `seed` (taken modulo 2^32). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The project's seeded PRNG (currently mulberry32). */
export function seededRandom(seed: number): Rng {
  return mulberry32(seed);
}

/** Uniform integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/**
 * k distinct indices drawn uniformly from 0..n-1 without replacement (partial Fisher–Yates),
 * in draw order.
 */
export function randomSubset(n: number, k: number, rng: Rng): number[] {
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`randomSubset: need 0 <= k <= n, got k=${k}, n=${n}`);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + randomInt(rng, n - i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
}
