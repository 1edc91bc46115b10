import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FingerprintDoc } from '../../lib/index.js';
import { parseRatings, MAX_RATINGS_BYTES, type RatingTargets } from '../../lib/protocols/ratings.js';
import { buildValidation, groupRatings, validateWithRatings } from '../../lib/protocols/validate.js';
import { percentileInterval, resampleIndices, seededRandom, spearman } from '../../lib/stats/index.js';
import { pooledSpearman, validationFlags, validationStats } from '../../lib/stats/validation.js';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { storyFingerprint, type StoryFingerprint } from './story-fingerprint.js';

// Axis A: Σd² = 4 over n = 5, ρ = 1 − 6·4/(5·24) = 0.8. Axis B: reversed, ρ = −1.
const A = { units: [0, 1, 2, 3, 4], scores: [1, 2, 3, 4, 5], ratings: [1, 3, 2, 5, 4] };
const B = { units: [0, 1, 2, 3], scores: [4, 3, 2, 1], ratings: [1, 2, 3, 4] };

describe('validation statistics (exact)', () => {
  it('per axis Spearman ρ and n', () => {
    const s = validationStats([A, B], 5, { resamples: 200, seed: 1 });
    expect(s.perAxis[0]!.rho).toBeCloseTo(0.8, 12);
    expect(s.perAxis[0]!.n).toBe(5);
    expect(s.perAxis[1]!.rho).toBeCloseTo(-1, 12);
    expect(s.perAxis[1]!.n).toBe(4);
  });

  it('pooled ρ: normalised ranks within each axis, one Spearman over all pairs', () => {
    // u = (rank − 0.5)/n per axis; pooled ranks u → [1,3,5,7,9,8,6,4,2], v → [1,5,3,9,7,2,4,6,8];
    // Σd² = 96 over 9 pairs: ρ = 1 − 6·96/(9·80) = 0.2.
    expect(pooledSpearman([A, B])).toBeCloseTo(0.2, 12);
    const s = validationStats([A, B], 5, { resamples: 200, seed: 1 });
    expect(s.pooled.rho).toBeCloseTo(0.2, 12);
    expect(s.pooled.n).toBe(9);
    // a monotone change of one axis' scale changes nothing
    expect(pooledSpearman([{ scores: A.scores.map((x) => 100 * x), ratings: A.ratings.map((x) => x / 7) }, B])).toBeCloseTo(0.2, 12);
  });

  it('the bootstrap resamples responses: same seed, same CI; the CI is the percentile interval of those resamples', () => {
    const a = validationStats([A, B], 5, { resamples: 500, seed: 7 });
    const b = validationStats([A, B], 5, { resamples: 500, seed: 7 });
    const c = validationStats([A, B], 5, { resamples: 500, seed: 8 });
    expect(b).toEqual(a);
    expect(c.pooled.ci).not.toEqual(a.pooled.ci);
    // axis A alone, recomputed here from the same draws
    const rng = seededRandom(7);
    const reps: number[] = [];
    for (let k = 0; k < 500; k++) {
      const idx = resampleIndices(5, rng);
      reps.push(spearman(idx.map((i) => A.scores[i]!), idx.map((i) => A.ratings[i]!)));
    }
    expect(a.perAxis[0]!.ci).toEqual(percentileInterval(reps.filter(Number.isFinite)));
    expect(a.perAxis[0]!.ci![0]).toBeLessThan(0.8);
    expect(a.perAxis[0]!.ci![1]).toBe(1);
  });

  it('flags ρ < 0 and CIs that include 0', () => {
    expect(validationFlags({ n: 5, rho: 0.8, ci: [0.1, 1] })).toEqual([]);
    expect(validationFlags({ n: 5, rho: 0.3, ci: [-0.2, 0.9] })).toEqual(['ci-includes-0']);
    expect(validationFlags({ n: 5, rho: -0.9, ci: [-1, -0.5] })).toEqual(['negative']);
    expect(validationFlags({ n: 5, rho: null, ci: null })).toEqual(['undefined']);
    const constant = validationStats([{ units: [0, 1, 2], scores: [1, 2, 3], ratings: [2, 2, 2] }], 3, { resamples: 50, seed: 1 });
    expect(constant.perAxis[0]).toEqual({ n: 3, rho: null, ci: null });
  });
});

const TARGETS: RatingTargets = {
  source: 'fp.json',
  hasResponse: (q, p) => (q === 'baseline/01' || q === 'baseline/02') && p === 'none',
  axes: ['warm_cold', 'formal_casual'],
};

function refused(text: string): string {
  try {
    parseRatings(text, 'r.csv', TARGETS);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('BAD_INPUT');
    return (error as Error).message;
  }
  throw new Error('expected the ratings to be refused');
}

describe('ratings file', () => {
  it('reads columns in any order, quoted fields, extra columns, CRLF and a BOM', () => {
    const rows = parseRatings('\uFEFFrater,rating,axis,pole,questionId\r\nann,4,warm_cold,none,baseline/01\r\nbob,"2.5",formal_casual,none,"baseline/02"\r\n\r\n', 'r.csv', TARGETS);
    expect(rows).toEqual([
      { line: 2, questionId: 'baseline/01', pole: 'none', axis: 'warm_cold', rating: 4 },
      { line: 3, questionId: 'baseline/02', pole: 'none', axis: 'formal_casual', rating: 2.5 },
    ]);
  });

  it('averages several raters per response and axis, and counts them', () => {
    const rows = parseRatings('questionId,pole,axis,rating\nbaseline/01,none,warm_cold,4\nbaseline/01,none,warm_cold,5\nbaseline/01,none,warm_cold,3\nbaseline/02,none,warm_cold,1\n', 'r.csv', TARGETS);
    const cells = groupRatings(rows);
    expect(cells).toEqual([
      { questionId: 'baseline/01', pole: 'none', axis: 'warm_cold', ratings: [4, 5, 3] },
      { questionId: 'baseline/02', pole: 'none', axis: 'warm_cold', ratings: [1] },
    ]);
  });

  it('refuses bad rows naming the file, the line and the column', () => {
    const h = 'questionId,pole,axis,rating\n';
    expect(refused('')).toMatch(/^r\.csv: empty file; expected a header line "questionId,pole,axis,rating"/);
    expect(refused('baseline/01,none,warm_cold,4\n')).toBe('r.csv: line 1: missing header: no column "questionId", "pole", "axis", "rating" (expected a header line "questionId,pole,axis,rating")');
    expect(refused('questionId,pole,axis\nbaseline/01,none,warm_cold\n')).toMatch(/^r\.csv: line 1: missing header: no column "rating"/);
    expect(refused(h)).toBe('r.csv: no rating rows after the header');
    expect(refused(`${h}baseline/01,none,warm_cold,4\nbaseline/09,none,warm_cold,4\n`)).toBe('r.csv: line 3, column 1 (questionId): unknown response: no question id "baseline/09" with pole "none" in fp.json');
    expect(refused(`${h}baseline/01,positive,warm_cold,4\n`)).toBe('r.csv: line 2, column 1 (questionId): unknown response: no question id "baseline/01" with pole "positive" in fp.json');
    expect(refused(`${h}baseline/01,up,warm_cold,4\n`)).toMatch(/^r\.csv: line 2, column 2 \(pole\): unknown pole "up"/);
    expect(refused(`${h}baseline/01,none,kind_cruel,4\n`)).toBe('r.csv: line 2, column 3 (axis): unknown axis "kind_cruel" (fp.json has warm_cold, formal_casual)');
    expect(refused(`${h}baseline/01,none,warm_cold,four\n`)).toBe('r.csv: line 2, column 4 (rating): not a number: "four"');
    expect(refused(`${h}baseline/01,none,warm_cold,\n`)).toBe('r.csv: line 2, column 4 (rating): not a number: ""');
    expect(refused(`${h}baseline/01,none,warm_cold,1e999\n`)).toBe('r.csv: line 2, column 4 (rating): not a number: "1e999"');
    expect(refused(`${h}baseline/01,none,warm_cold\n`)).toBe('r.csv: line 2: 3 fields, the header has 4');
    expect(refused(`${h}"baseline/01,none,warm_cold,4\n`)).toBe('r.csv: line 2: a quoted field is not closed');
  });
});

describe('validate on a real fingerprint of stories260K', () => {
  let run: StoryFingerprint;
  let dir: string;
  let fp: FingerprintDoc;
  let fpFile: string;
  beforeAll(async () => {
    run = await storyFingerprint('moodaxis-validate-');
    ({ dir, fp, fpFile } = run);
  }, 120_000);
  afterAll(async () => {
    await run?.dispose();
  });

  /**
   * Two raters per response. On stories260K (8-token answers) warm/cold saturates at −1 for every answer,
   * confident/cautious has ties, verbose/concise distinct scores: rated in score order (ρ = +1), against it
   * (ρ = −1), and the constant axis (ρ undefined). One calibration response is rated too.
   */
  function ratingsCsv(): string {
    const base = fp.responses.filter((r) => r.pole === 'none');
    const lines = ['questionId,pole,axis,rating,rater'];
    base.forEach((r, q) => {
      for (const rater of ['ann', 'bob']) {
        const shift = rater === 'ann' ? 0.5 : -0.5; // the mean is 10·score + 3, a monotone transform
        lines.push(`${r.questionId},none,${fp.axes[2]!.id},${10 * fp.axes[2]!.scores[q]! + 3 + shift},${rater}`);
        lines.push(`${r.questionId},none,${fp.axes[1]!.id},${-fp.axes[1]!.scores[q]! + shift},${rater}`);
        lines.push(`${r.questionId},none,${fp.axes[0]!.id},${q},${rater}`);
      }
    });
    const cal = fp.responses.find((r) => r.pole === 'positive')!;
    lines.push(`${cal.questionId},positive,${fp.axes[0]!.id},5,ann`);
    return `${lines.join('\n')}\n`;
  }

  it('exact ρ per axis, the pooled ρ, rater counts, notes; validation.json written', async () => {
    const ratings = join(dir, 'ratings.csv');
    await writeFile(ratings, ratingsCsv());
    const doc = await validateWithRatings(fpFile, ratings, { resamples: 300, seed: 5 });
    expect(doc.kind).toBe('moodaxis.validation');
    expect(doc.axes.map((a) => a.id)).toEqual(fp.axes.map((a) => a.id));
    const n = fp.axes[0]!.scores.length;
    expect(doc.responses).toEqual({ rated: n, ratingsPerResponse: { min: 2, max: 2 } });
    expect(new Set(fp.axes[0]!.scores).size).toBe(1);
    expect(new Set(fp.axes[2]!.scores).size).toBe(n);
    expect(doc.axes[2]!.rho).toBeCloseTo(1, 12);
    expect(doc.axes[2]!.flags).toEqual([]);
    expect(doc.axes[1]!.rho).toBeCloseTo(-1, 12);
    expect(doc.axes[1]!.flags).toContain('negative');
    expect(doc.axes[0]).toMatchObject({ n, rho: null, ci: null, flags: ['undefined'] });
    expect(doc.flagged).toEqual([fp.axes[0]!.id, fp.axes[1]!.id]);
    expect(doc.pooled).toMatchObject({ n: 3 * n });
    expect(doc.pooled.rho).toBeCloseTo(pooledSpearman(doc.axes.map((a) => ({ scores: a.points.map((p) => p.score), ratings: a.points.map((p) => p.rating) }))), 12);
    expect(doc.axes[2]!.points[0]).toMatchObject({ questionId: fp.responses.filter((r) => r.pole === 'none')[0]!.questionId, ratings: 2, score: fp.axes[2]!.scores[0] });
    expect(doc.axes[2]!.points[0]!.rating).toBeCloseTo(10 * fp.axes[2]!.scores[0]! + 3, 12);
    expect(doc.notes).toEqual(['1 rated response–axis pair of calibration responses left out: the fingerprint scores only its baseline responses (pole none)']);
    expect(doc.manifest.model.identity).toBe(fp.manifest.model.identity);
    expect(doc.manifest.validation).toMatchObject({ kind: 'ratings', file: ratings, rows: 6 * n + 1 });
    const onDisk = JSON.parse(await readFile(join(dir, 'fp', 'validation.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(doc)));
    // same seed: same CIs
    const again = await validateWithRatings(fpFile, ratings, { resamples: 300, seed: 5, out: null });
    expect(again.pooled).toEqual(doc.pooled);
    expect(again.axes.map((a) => a.ci)).toEqual(doc.axes.map((a) => a.ci));
  });

  it('a ratings file over the size limit is refused before it is read', async () => {
    const big = join(dir, 'big.csv');
    await writeFile(big, 'questionId,pole,axis,rating\n');
    await truncate(big, MAX_RATINGS_BYTES + 1);
    await expect(validateWithRatings(fpFile, big, { out: null })).rejects.toThrow(/big\.csv: 16\.0 MiB, more than the 16 MiB a ratings file may have/);
  });

  it('buildValidation: an axis without ratings is left out; ratings of calibration responses only are refused', () => {
    const base = fp.responses.filter((r) => r.pole === 'none');
    const one = buildValidation(fp, 'fp.json', base.map((r, q) => ({ questionId: r.questionId, pole: 'none' as const, axis: fp.axes[2]!.id, ratings: [q] })), {}, { resamples: 10 });
    expect(one.axes.map((a) => a.id)).toEqual([fp.axes[2]!.id]);
    expect(one.notes).toEqual([`no ratings on ${fp.axes[0]!.positive}/${fp.axes[0]!.negative}: left out`, `no ratings on ${fp.axes[1]!.positive}/${fp.axes[1]!.negative}: left out`]);
    const cal = fp.responses.find((r) => r.pole === 'negative')!;
    expect(() => buildValidation(fp, 'fp.json', [{ questionId: cal.questionId, pole: 'negative', axis: fp.axes[0]!.id, ratings: [1] }], {}, { resamples: 10 })).toThrow(
      'no ratings of baseline responses (pole none): fp.json has hidden-state scores only for those',
    );
  });

  it('the CLI: table, --json, --quiet, exit 2 on a bad row with no validation.json written', async () => {
    await ensureBuilt();
    const ratings = join(dir, 'ratings.csv');
    await writeFile(ratings, ratingsCsv());
    const out = join(dir, 'cli');
    const table = await cli(['validate', fpFile, '--ratings', ratings, '--resamples', '200', '--out', out]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Spearman ρ');
    expect(table.stdout).toContain(`${fp.axes[0]!.positive}/${fp.axes[0]!.negative}`);
    expect(table.stdout).toMatch(/pooled \(3 axes\)/);
    expect(table.stdout).toContain('2 ratings per response and axis (averaged)');
    expect(table.stdout).toContain('ρ < 0');
    expect(table.stderr).toContain(`wrote ${join(out, 'validation.json')}`);
    const json = await cli(['validate', fpFile, '--ratings', ratings, '--resamples', '200', '--out', out, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).kind).toBe('moodaxis.validation');
    expect(json.stderr).toBe('');
    const quiet = await cli(['validate', fpFile, '--ratings', ratings, '--resamples', '200', '--out', out, '--quiet']);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const bad = join(dir, 'bad.csv');
    await writeFile(bad, `questionId,pole,axis,rating\nbaseline/01,none,${fp.axes[0]!.id},high\n`);
    const badOut = join(dir, 'bad-out');
    const refusedRun = await cli(['validate', fpFile, '--ratings', bad, '--out', badOut]);
    expect(refusedRun.code).toBe(2);
    expect(refusedRun.stderr).toContain(`${bad}: line 2, column 4 (rating): not a number: "high"`);
    await expect(readFile(join(badOut, 'validation.json'))).rejects.toThrow(/ENOENT/);
    const neither = await cli(['validate', fpFile]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give exactly one source of ratings');
  }, 120_000);
});
