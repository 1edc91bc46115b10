/** validation.json (`moodaxis validate`): hidden-state scores against independent ratings. */
import type { Manifest } from './types.js';

export interface ValidationPoint {
  questionId: string;
  pole: 'positive' | 'negative' | 'none';
  /** The fingerprint's hidden-state score of this response on the axis. */
  score: number;
  /** The mean of its ratings on the axis. */
  rating: number;
  /** How many ratings were averaged (raters, or judge samples). */
  ratings: number;
}

export interface ValidationCorrelation {
  n: number;
  /** Spearman ρ; null when undefined (constant scores or ratings, fewer than 2 pairs). */
  rho: number | null;
  /** Percentile bootstrap CI over responses; null when undefined. */
  ci: [number, number] | null;
}

export interface ValidationAxis extends ValidationCorrelation {
  id: string;
  positive: string;
  negative: string;
  /** Why the axis is flagged: ρ < 0, a CI that includes 0, or an undefined ρ or CI. Empty: not flagged. */
  flags: Array<'negative' | 'ci-includes-0' | 'undefined'>;
  points: ValidationPoint[];
}

export interface ValidationDoc {
  kind: 'moodaxis.validation';
  schemaVersion: 1;
  /**
   * The measured model's manifest (from the fingerprint), with `validation`: where the ratings came from
   * (a ratings file with its sha256, or a judge model with its identity and rubric).
   */
  manifest: Manifest;
  fingerprint: { file: string; createdAt: string };
  bootstrap: { resamples: number; seed: number; level: number };
  /** Rated responses (the bootstrap's resampling units), and ratings per response and axis. */
  responses: { rated: number; ratingsPerResponse: { min: number; max: number } };
  axes: ValidationAxis[];
  /** Within-axis normalised ranks pooled over the axes, one Spearman ρ (see lib/stats/validation.ts). */
  pooled: ValidationCorrelation;
  /** Ids of the flagged axes. */
  flagged: string[];
  notes: string[];
}
