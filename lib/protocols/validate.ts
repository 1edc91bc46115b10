/**
 * External validation (`moodaxis validate`): do the hidden-state scores of a fingerprint agree with
 * independent ratings of the same responses? Ratings come from a CSV file (people, another tool) or
 * from a local judge model (lib/protocols/judge.ts). Per axis Spearman ρ, the pooled ρ and seeded
 * bootstrap CIs (lib/stats/validation.ts); writes validation.json atomically.
 */
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../defaults.js';
import { readDocFile } from '../docs/read.js';
import type { FingerprintDoc, ResponseRecord, ValidationAxis, ValidationDoc, ValidationPoint } from '../docs/types.js';
import { writeDocFile } from '../docs/write.js';
import { badInput } from '../engine/errors.js';
import { validationFlags, validationStats, type AxisPairs } from '../stats/validation.js';
import { readRatingsFile, type Pole, type RatingRow, type RatingTargets } from './ratings.js';

export interface ValidationOptions {
  /** Bootstrap resamples [PROTOCOL_DEFAULTS.validate.resamples] and seed [RUN_DEFAULTS.seed]. */
  resamples?: number;
  seed?: number;
  /** Output folder for validation.json; default: the fingerprint's folder. Nothing is written when null. */
  out?: string | null;
}

/** All ratings of one response on one axis. */
export interface RatedCell {
  questionId: string;
  pole: Pole;
  axis: string;
  ratings: number[];
}

const key = (questionId: string, pole: string) => `${questionId}\u0000${pole}`;

/** The baseline responses aligned with `axes[].scores` (pole none, in order); BAD_INPUT when they do not align. */
export function scoredResponses(fp: FingerprintDoc, file: string): ResponseRecord[] {
  const baseline = fp.responses.filter((r) => r.pole === 'none');
  const n = fp.axes[0]?.scores.length ?? 0;
  if (baseline.length !== n) throw badInput(`${file}: responses: ${baseline.length} baseline responses (pole none), but axes[0].scores has ${n} scores`);
  return baseline;
}

/** What a ratings row may name in this fingerprint: any of its responses, any of its axes. */
export function ratingTargets(fp: FingerprintDoc, file: string): RatingTargets {
  const known = new Set(fp.responses.map((r) => key(r.questionId, r.pole ?? 'none')));
  return { source: file, hasResponse: (q, p) => known.has(key(q, p)), axes: fp.axes.map((a) => a.id) };
}

/** Rows grouped by response and axis (several raters: several rows). */
export function groupRatings(rows: RatingRow[]): RatedCell[] {
  const cells = new Map<string, RatedCell>();
  for (const r of rows) {
    const k = `${key(r.questionId, r.pole)}\u0000${r.axis}`;
    const cell = cells.get(k) ?? { questionId: r.questionId, pole: r.pole, axis: r.axis, ratings: [] };
    cell.ratings.push(r.rating);
    cells.set(k, cell);
  }
  return [...cells.values()];
}

function checkBootstrap(o: ValidationOptions): { resamples: number; seed: number } {
  const resamples = o.resamples ?? PROTOCOL_DEFAULTS.validate.resamples;
  const seed = o.seed ?? RUN_DEFAULTS.seed;
  if (!Number.isInteger(resamples) || resamples < 1 || resamples > 1_000_000) throw badInput(`bootstrap resamples must be an integer 1–1,000,000, got ${resamples}`);
  if (!Number.isInteger(seed)) throw badInput(`seed must be an integer, got ${seed}`);
  return { resamples, seed };
}

/**
 * The validation document of a fingerprint and its rated cells. `source` goes into the manifest as
 * `validation` (ratings file or judge). Ratings of calibration responses are left out (the fingerprint
 * scores only its baseline responses) and said in `notes`.
 */
export function buildValidation(fp: FingerprintDoc, fpFile: string, cells: RatedCell[], source: Record<string, unknown>, options: ValidationOptions = {}): ValidationDoc {
  const { resamples, seed } = checkBootstrap(options);
  const baseline = scoredResponses(fp, fpFile);
  const indexOf = new Map(baseline.map((r, i) => [key(r.questionId, 'none'), i]));
  const notes: string[] = [];
  const usable = cells.filter((c) => c.pole === 'none' && indexOf.has(key(c.questionId, c.pole)));
  const skipped = cells.length - usable.length;
  if (skipped) notes.push(`${skipped} rated response–axis ${skipped === 1 ? 'pair' : 'pairs'} of calibration responses left out: the fingerprint scores only its baseline responses (pole none)`);
  if (usable.length === 0) throw badInput(`no ratings of baseline responses (pole none): ${fpFile} has hidden-state scores only for those`);
  // resampling units: the rated baseline responses, in baseline order
  const ratedIdx = [...new Set(usable.map((c) => indexOf.get(key(c.questionId, c.pole))!))].sort((a, b) => a - b);
  const unitOf = new Map(ratedIdx.map((q, u) => [q, u]));
  const axes: Array<{ info: FingerprintDoc['axes'][number]; pairs: AxisPairs; points: ValidationPoint[] }> = [];
  for (const info of fp.axes) {
    const mine = usable
      .filter((c) => c.axis === info.id)
      .map((c) => ({ c, q: indexOf.get(key(c.questionId, c.pole))! }))
      .sort((a, b) => a.q - b.q);
    if (mine.length === 0) {
      notes.push(`no ratings on ${info.positive}/${info.negative}: left out`);
      continue;
    }
    const points = mine.map(({ c, q }): ValidationPoint => ({ questionId: c.questionId, pole: c.pole, score: info.scores[q]!, rating: c.ratings.reduce((s, x) => s + x, 0) / c.ratings.length, ratings: c.ratings.length }));
    axes.push({ info, points, pairs: { units: mine.map(({ q }) => unitOf.get(q)!), scores: points.map((p) => p.score), ratings: points.map((p) => p.rating) } });
  }
  const level = PROTOCOL_DEFAULTS.ciLevel;
  const stats = validationStats(axes.map((a) => a.pairs), ratedIdx.length, { resamples, seed, level });
  const out: ValidationAxis[] = axes.map((a, k) => {
    const c = stats.perAxis[k]!;
    return { id: a.info.id, positive: a.info.positive, negative: a.info.negative, ...c, flags: validationFlags(c), points: a.points };
  });
  for (const a of out) if (a.n < 5) notes.push(`${a.positive}/${a.negative}: only ${a.n} rated ${a.n === 1 ? 'response' : 'responses'}; its ρ says little`);
  const counts = out.flatMap((a) => a.points.map((p) => p.ratings));
  return {
    kind: 'moodaxis.validation',
    schemaVersion: 1,
    manifest: { ...fp.manifest, createdAt: new Date().toISOString(), validation: source },
    fingerprint: { file: fpFile, createdAt: fp.manifest.createdAt },
    bootstrap: { resamples, seed, level },
    responses: { rated: ratedIdx.length, ratingsPerResponse: { min: Math.min(...counts), max: Math.max(...counts) } },
    axes: out,
    pooled: stats.pooled,
    flagged: out.filter((a) => a.flags.length > 0).map((a) => a.id),
    notes,
  };
}

/** Writes validation.json into `out` (default: the fingerprint's folder) unless `out` is null; returns its path. */
export function writeValidation(doc: ValidationDoc, fpFile: string, out: string | null | undefined): string | null {
  if (out === null) return null;
  const path = join(out ?? dirname(fpFile), 'validation.json');
  writeDocFile(path, doc);
  return path;
}

/** `validate --ratings`: a fingerprint file against a ratings CSV (lib/protocols/ratings.ts). */
export async function validateWithRatings(fingerprintFile: string, ratingsFile: string, options: ValidationOptions = {}): Promise<ValidationDoc> {
  checkBootstrap(options);
  const fp = await readDocFile(fingerprintFile, 'moodaxis.fingerprint');
  scoredResponses(fp, fingerprintFile);
  const { rows, text } = await readRatingsFile(ratingsFile, ratingTargets(fp, fingerprintFile));
  const source = { kind: 'ratings', file: ratingsFile, sha256: createHash('sha256').update(text).digest('hex'), rows: rows.length };
  const doc = buildValidation(fp, fingerprintFile, groupRatings(rows), source, options);
  writeValidation(doc, fingerprintFile, options.out);
  return doc;
}
