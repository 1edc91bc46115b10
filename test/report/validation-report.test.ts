import { describe, expect, it } from 'vitest';
import { buildValidation, type RatedCell } from '../../lib/protocols/validate.js';
import type { ValidationDoc } from '../../lib/docs/types.js';
import { parseDoc, renderReport, SECTION_IDS, validateDoc } from '../../lib/report/html.js';
import { openReport } from './browser.js';
import { rng, sampleFingerprint } from './sample-docs.js';

/** A validation of a sample fingerprint: three raters; ratings follow the score on most axes, against it on one, noise on one. */
function sampleValidation(): { fp: ReturnType<typeof sampleFingerprint>; doc: ValidationDoc } {
  const fp = sampleFingerprint({ seed: 21, name: 'validated-model' });
  const r = rng(4);
  const base = fp.responses.filter((x) => x.pole === 'none');
  const cells: RatedCell[] = [];
  fp.axes.forEach((a, ai) => {
    base.forEach((resp, q) => {
      const sign = ai === 3 ? -1 : 1;
      const signal = ai === 6 ? 0 : sign * a.scores[q]! * 8;
      cells.push({ questionId: resp.questionId, pole: 'none', axis: a.id, ratings: [0, 1, 2].map(() => Math.round(Math.min(5, Math.max(1, 3 + signal + (r() - 0.5) * 2)))) });
    });
  });
  return { fp, doc: buildValidation(fp, 'out/fingerprint.json', cells, { kind: 'ratings', file: 'ratings.csv', sha256: '0'.repeat(64), rows: cells.length * 3 }, { resamples: 2000, seed: 3 }) };
}

describe('validation in the report', () => {
  it('validation.json is a protocol document the report reads; bad fields are named', () => {
    const { doc } = sampleValidation();
    expect(parseDoc(JSON.stringify(doc), 'v.json')).toEqual(JSON.parse(JSON.stringify(doc)));
    const bad = JSON.parse(JSON.stringify(doc));
    bad.axes[2].points[4].rating = 'high';
    expect(() => validateDoc(bad, 'v.json')).toThrow('v.json: axes[2].points[4].rating: expected a number, got "high"');
    const bad2 = JSON.parse(JSON.stringify(doc));
    bad2.pooled.ci = [0.1];
    expect(() => validateDoc(bad2, 'v.json')).toThrow('v.json: pooled.ci: expected 2 numbers, got 1');
    expect(SECTION_IDS).toContain('validation');
  });

  it('one scatter per axis, the table and the flags, in headless Chromium', async () => {
    const { fp, doc } = sampleValidation();
    expect(doc.axes[3]!.flags).toContain('negative');
    expect(doc.axes[0]!.flags).toEqual([]);
    const html = renderReport([fp, doc]);
    const r = await openReport(html, 'report-validation');
    expect(r.consoleErrors).toEqual([]);
    expect(r.pageErrors).toEqual([]);
    expect(r.foreignRequests).toEqual([]);
    expect(r.scrollWidth).toBeLessThanOrEqual(1280);
    expect(r.overlappingText, r.overlappingText.join("; ")).toEqual([]);
    const s = r.sections.find((x) => x.id === 'validation')!;
    expect(s).toBeDefined();
    expect(s.svgCount).toBe(7);
    expect(s.circles).toBe(7 * 30);
    for (const b of s.boxes) {
      expect(b.width).toBeGreaterThan(250);
      expect(b.height).toBeGreaterThan(200);
    }
    expect(s.text).toContain('pooled (7 axes)');
    expect(s.text).toContain(`${doc.pooled.rho! > 0 ? '+' : '\u2212'}${Math.abs(doc.pooled.rho!).toFixed(2)}`);
    expect(s.text).toContain('3 ratings per response and axis (averaged)');
    expect(s.text).toContain('ρ < 0');
    expect(s.text).toContain('ratings file ratings.csv');
    // the validation document alone still names its model
    const alone = await openReport(renderReport([doc]), 'report-validation-alone');
    expect(alone.sections.map((x) => x.id)).toContain('validation');
    expect(renderReport([doc])).toContain('<title>moodaxis report · validated-model</title>');
  }, 60_000);
});
