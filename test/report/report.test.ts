import { existsSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { baselineTokens, groupByModel, pearson } from '../../lib/report/data.js';
import { errorCode, MoodaxisError } from '../../lib/engine/errors.js';
import { SECTION_IDS, parseDoc, renderReport, validateDoc } from '../../lib/report/html.js';
import { chromiumLaunch, openReport, type BrowserResult } from './browser.js';
import { cappedRunDocs, sampleFingerprint, sampleStability, sampleSteer, singleModelDocs, twoModelDocs } from './sample-docs.js';
import { MODEL_COLORS } from '../../lib/report/svg.js';

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

function badInput(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a BAD_INPUT error, nothing was thrown');
}

describe('validateDoc', () => {
  const { fp, stability, steer } = singleModelDocs();

  it('accepts the three kinds and round-trips through JSON', () => {
    for (const d of [fp, stability, ...steer]) {
      expect(validateDoc(clone(d), 'x.json')).toEqual(d);
    }
    expect(parseDoc(JSON.stringify(fp), 'fp.json').kind).toBe('moodaxis.fingerprint');
  });

  it('names the file and the field', () => {
    const bad = clone(fp) as unknown as { axes: Array<{ scores: unknown }> };
    bad.axes[2]!.scores = 'nope';
    const e = badInput(() => validateDoc(bad, 'a.json'));
    expect(e.code).toBe('BAD_INPUT');
    expect(e.message).toMatch(/^a\.json: axes\[2\]\.scores: expected an array of numbers/);
    expect(e).toBeInstanceOf(MoodaxisError);
    expect(errorCode(e)).toBe('BAD_INPUT');
    expect((e as MoodaxisError).file).toBe('a.json');
    expect((e as MoodaxisError).field).toBe('axes[2].scores');

    const bad2 = clone(fp) as unknown as { axes: Array<{ scores: unknown[] }> };
    bad2.axes[4]!.scores[3] = null;
    expect(badInput(() => validateDoc(bad2, 'b.json')).message).toBe('b.json: axes[4].scores: expected an array of numbers (item 3 is null)');

    const bad3 = clone(fp) as unknown as { manifest: { model: Record<string, unknown> } };
    delete bad3.manifest.model.name;
    expect(badInput(() => validateDoc(bad3, 'c.json')).message).toBe('c.json: manifest.model.name: expected a string, got nothing');

    const bad4 = clone(stability) as unknown as { testRetest: Array<{ ci: unknown }> };
    bad4.testRetest[1]!.ci = [0.1];
    expect(badInput(() => validateDoc(bad4, 's.json')).message).toBe('s.json: testRetest[1].ci: expected 2 numbers, got 1');

    const bad5 = clone(fp) as unknown as { axes: Array<{ scores: number[] }> };
    bad5.axes[3]!.scores.pop();
    expect(badInput(() => validateDoc(bad5, 'd.json')).message).toBe('d.json: axes[3].scores: expected 30 scores (as axes[0]), got 29');

    const bad6 = clone(steer[0]!) as unknown as { alphas: Array<{ leakage: Record<string, unknown> }> };
    bad6.alphas[0]!.leakage.warm_cold = 'x';
    expect(badInput(() => validateDoc(bad6, 'e.json')).message).toMatch(/^e\.json: alphas\[0\]\.leakage\.warm_cold: expected a number/);
  });

  it('refuses other kinds, versions and non-objects', () => {
    expect(badInput(() => validateDoc({ ...clone(fp), kind: 'moodaxis.axes' }, 'k.json')).message).toMatch(/^k\.json: kind: expected one of "moodaxis\.fingerprint"/);
    const v2 = badInput(() => validateDoc({ ...clone(fp), schemaVersion: 2 }, 'v.json'));
    expect(v2.code).toBe('BAD_INPUT');
    expect(v2.message).toBe('v.json: schemaVersion: expected 1, got 2 (written by a newer moodaxis?)');
    expect(badInput(() => validateDoc([1, 2], 'arr.json')).message).toMatch(/^arr\.json: \(document\): expected a moodaxis protocol document/);
    const syntax = badInput(() => parseDoc('{"kind":', 'broken.json'));
    expect(syntax.code).toBe('BAD_INPUT');
    expect(syntax.message).toMatch(/^broken\.json: not valid JSON/);
  });
});

describe('report data helpers', () => {
  it('aligns token counts with scores by baseline question order', () => {
    const fp = sampleFingerprint({ seed: 3, name: 'm', extraResponses: 3 });
    const tk = baselineTokens(fp)!;
    expect(tk).toHaveLength(30);
    expect(tk).toEqual(fp.responses.filter((r) => r.questionId.startsWith('baseline/')).map((r) => r.tokens));
    expect(pearson(tk, fp.axes[6]!.scores)).toBeCloseTo(fp.structure!.lengthConfound.perAxis.verbose_concise!, 10);
    const broken = clone(fp);
    broken.responses.pop();
    expect(baselineTokens(broken)).toBeNull();
    // without the baseline/ prefix, the pole 'none' responses are the baseline
    const renamed = clone(fp);
    renamed.responses.forEach((r, i) => (r.questionId = `q${i}`));
    expect(baselineTokens(renamed)).toEqual(tk);
  });

  it('attaches stability and steer documents to the fingerprint of the same model', () => {
    const { fp, stability, steer } = singleModelDocs();
    const [other] = twoModelDocs().slice(1);
    const series = groupByModel([steer[0]!, fp, stability, other!, steer[1]!]);
    expect(series).toHaveLength(2);
    expect(series[0]!.stability).toHaveLength(1);
    expect(series[0]!.steer).toHaveLength(2);
    expect(series[1]!.steer).toHaveLength(0);
    expect(series[0]!.color).not.toBe(series[1]!.color);
  });
});

describe('renderReport (string)', () => {
  it('is self-contained and escapes document text', () => {
    const fp = sampleFingerprint({ seed: 5, name: 'evil <script>alert(1)</script> & "model"' });
    const html = renderReport([fp]);
    expect(html).not.toContain('<script');
    expect(html).toContain('evil &lt;script&gt;');
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:|\/\/)/i);
    expect(html).not.toMatch(/@import|url\((?!#)/);
    expect(html).toContain("Content-Security-Policy");
    expect(html).toContain('No stability run');
    for (const id of ['profile', 'strips', 'quality', 'deadzones', 'icc', 'pca', 'length']) expect(html).toContain(`data-section="${id}"`);
    expect(html).not.toContain('data-section="compare"');
    expect(html).not.toContain('data-section="steer"');
  });

  it('uses the given title and marks demo models', () => {
    const fp = sampleFingerprint({ seed: 5, name: 'tiny', demo: true });
    const html = renderReport([fp], { title: 'My title' });
    expect(html).toContain('<title>My title</title>');
    expect(html).toContain('class="badge demo"');
  });

  it('never prints NaN, undefined or Infinity', () => {
    const { fp, stability, steer } = singleModelDocs();
    const [a, b] = twoModelDocs();
    for (const html of [renderReport([fp, stability, ...steer]), renderReport([a, b]), renderReport([edgeFingerprint(), ...edgeExtras()]), renderReport(Object.values(cappedRunDocs()))]) {
      // the words that say a statistic is undefined are meant; a stray JavaScript undefined is not
      const words = html.replace(/r undefined|n\/a \(undefined\)|: undefined, one of the two/g, '');
      expect(words).not.toMatch(/NaN|undefined|Infinity|\[object Object\]/);
    }
  });

  it('renders without structure and with unaligned responses', () => {
    const fp = sampleFingerprint({ seed: 8, name: 'm', structure: false });
    fp.responses = fp.responses.slice(0, 10);
    const html = renderReport([fp]);
    expect(html).toContain('structure: null');
    expect(html).toContain('could not be aligned');
  });
});

describe('what the report says (a capped run like stories260K / aidreams260K)', () => {
  const { fp, stability, steer } = cappedRunDocs();
  const html = renderReport([fp, stability, steer]);
  const sectionOf = (id: string) => {
    const start = html.indexOf(`data-section="${id}"`);
    return html.slice(start, html.indexOf('</section>', start));
  };

  it('warns about answers cut at the token cap, at the top and in the length section', () => {
    const top = html.slice(0, html.indexOf('class="summary"'));
    expect(top).toContain('30 of 30 baseline answers (100 %) stopped at the 384-token cap');
    expect(sectionOf('length')).toContain('stopped at the 384-token cap');
    expect(sectionOf('icc')).toContain('150 of 150 baseline answers');
    // a run without truncation has no warning
    const { fp: clean } = singleModelDocs();
    expect(clean.truncation!.warn).toBe(false);
    expect(renderReport([clean])).not.toContain('token cap');
  });

  it('a constant length: "constant length, r undefined", never r 0.00', () => {
    const len = sectionOf('length');
    expect(len.match(/constant length, r undefined/g)).toHaveLength(7);
    expect(len).not.toMatch(/r [+−]?0\.00/);
    expect(len).toContain('every baseline answer has the same length');
  });

  it('a negative ICC says "no agreement" in the table, a band of the chart and the notes', () => {
    const icc = sectionOf('icc');
    expect(icc).toContain('−2.560 <span class="bad">(no agreement)</span>');
    expect(icc).toContain('−0.310 <span class="bad">(no agreement)</span>');
    expect(icc).toContain('>no agreement</text>');
  });

  it('the sample-size curve can fail: "do not stabilise", with the axes named for people', () => {
    const icc = sectionOf('icc');
    expect(icc).toMatch(/axes do not stabilise up to n = 15 questions per half: the split-half cosine stays below 0\.9 for warm\/cold/);
    expect(icc).toContain('median split-half cosine');
    expect(renderReport([...Object.values(singleModelDocs()).flat()])).toMatch(/axes (stabilise at n = \d+|do not stabilise)/);
  });

  it('separation term D never exceeds 1 (d′ = −0.06 gives 1.00, not 1.02)', () => {
    expect(fp.axes[2]!.dprime).toBe(-0.06);
    const quality = sectionOf('quality');
    expect(quality).toContain('<td class="num">1.00</td>');
    expect(quality).not.toMatch(/>1\.0[1-9]</);
  });

  it('clipped scores are marked and counted', () => {
    const strips = sectionOf('strips');
    expect(strips).toContain('20 at +1');
    expect(strips).toContain('8 at −1');
    expect(strips.match(/class="clipped"/g)!.length).toBe(3 * 28); // three chart widths × (20 + 8)
  });

  it('the correlation heatmap has a colour scale; the steering chart titles both axes and keeps repetition apart', () => {
    const pca = sectionOf('pca');
    expect(pca).toContain('>Pearson r</text>');
    expect(pca).toContain('linearGradient');
    const st = sectionOf('steer');
    expect(st).toContain('change in mean score from α = 0');
    expect(st).toContain('>repetition</text>');
    expect(st).toContain('limit 30 %');
  });

  it('no METHOD references anywhere in the page', () => {
    expect(html).not.toMatch(/METHOD|§/);
    expect(renderReport(twoModelDocs())).not.toMatch(/METHOD|§/);
  });

  it('a negative Δ is not drawn in a model colour', () => {
    const compare = renderReport(twoModelDocs());
    const start = compare.indexOf('data-section="compare"');
    const sec = compare.slice(start, compare.indexOf('</section>', start));
    expect(sec).toContain('Δ −0.35');
    for (const c of MODEL_COLORS) expect(sec).not.toMatch(new RegExp(`<tspan[^>]*fill="${c}"[^>]*>Δ`));
    expect(sec).not.toMatch(/class="delta (up|down)"/);
  });
});

// ------------------------------------------------------------------ real Chromium

/** Degenerate but valid numbers seen in real runs: a pinned axis (all scores 1, std 0), every
 * response cut at max tokens (constant length), a fingerprint of a single steering alpha. */
function edgeFingerprint() {
  const fp = sampleFingerprint({ seed: 13, name: 'edge-case-model-with-a-rather-long-name-Q4_K_M', demo: true });
  const ax = fp.axes[3]!;
  ax.scores = ax.scores.map(() => 1);
  Object.assign(ax, { mean: 1, std: 0, min: 1, max: 1 });
  for (const r of fp.responses) {
    r.tokens = 384;
    r.stopReason = 'length';
  }
  fp.structure!.lengthConfound.perAxis = {};
  fp.structure!.lengthConfound.constantLength = true;
  fp.deadZones = fp.deadZones.slice(0, 5);
  return fp;
}

function edgeExtras() {
  const fp = edgeFingerprint();
  const st = sampleStability(fp, 5);
  st.sampleSize = { n: [], perAxis: {}, stabilisesAt: null };
  const steer = sampleSteer(fp, 'formal_casual', 9);
  steer.alphas = steer.alphas.filter((x) => x.alpha === 2).map((x) => ({ ...x, samples: [] }));
  return [st, steer];
}

const MIN_SHAPES: Record<string, number> = {
  profile: 20, // rings + spokes + band + polygon + 7 dots per model
  strips: 7 * 30, // one circle per question per axis
  quality: 14,
  deadzones: 7 * 6,
  icc: 7 * 4,
  pca: 7 + 49,
  length: 7 * 30,
  steer: 10,
  compare: 14,
};

const MIN_CIRCLES: Record<string, number> = {
  profile: 7,
  strips: 7 * 30,
  length: 7 * 30,
  compare: 14,
  steer: 7,
  icc: 7,
};

function checkBrowser(r: BrowserResult, expected: string[]): void {
  expect(r.consoleErrors, 'console errors').toEqual([]);
  expect(r.pageErrors, 'page errors').toEqual([]);
  expect(r.foreignRequests, 'network requests other than the report file').toEqual([]);
  expect(r.scrollWidth, 'no horizontal overflow at 1280 px').toBeLessThanOrEqual(1280);
  expect(r.overlappingText, 'overlapping SVG labels').toEqual([]);
  const ids = r.sections.map((s) => s.id);
  for (const id of expected) {
    expect(ids, `section ${id}`).toContain(id);
    const s = r.sections.find((x) => x.id === id)!;
    if (id === 'deadzones') {
      // an HTML table with coloured cells (it reflows on narrow screens), not an SVG
      expect(s.text).toMatch(/severity/);
      expect(s.text.match(/\b(healthy|weak|dead)\b/g)!.length).toBeGreaterThanOrEqual(7);
      continue;
    }
    expect(s.svgCount, `${id}: svg count`).toBeGreaterThan(0);
    // each chart is drawn for three widths and CSS shows one: the hidden ones measure 0 × 0
    const shown = s.boxes.filter((b) => b.width > 0);
    expect(shown.length, `${id}: charts shown`).toBeGreaterThan(0);
    expect(shown.length, `${id}: one chart width shown of three`).toBeGreaterThanOrEqual(s.boxes.length / 3);
    for (const b of shown) expect(b.height, `${id}: svg bbox height`).toBeGreaterThan(0);
    expect(s.shapes, `${id}: shapes`).toBeGreaterThanOrEqual(MIN_SHAPES[id] ?? 1);
    expect(s.circles, `${id}: circles`).toBeGreaterThanOrEqual(MIN_CIRCLES[id] ?? 0);
  }
  // sections appear in the documented order
  const order = ids.filter((id) => (SECTION_IDS as readonly string[]).includes(id));
  expect(order).toEqual([...order].sort((a, b) => SECTION_IDS.indexOf(a as never) - SECTION_IDS.indexOf(b as never)));
}

describe('report in headless Chromium', () => {
  it('finds a browser without apt or root, and fails (never skips) on a wrong one', async () => {
    const found = await chromiumLaunch();
    expect(existsSync(found.executablePath)).toBe(true);
    vi.stubEnv('MOODAXIS_CHROMIUM', '/nonexistent/chromium');
    try {
      await expect(chromiumLaunch()).rejects.toThrow(/MOODAXIS_CHROMIUM=\/nonexistent\/chromium: no such file/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('renders the same HTML for the same documents', () => {
    const { fp, stability, steer } = singleModelDocs();
    expect(renderReport([fp, stability, ...steer])).toBe(renderReport([fp, stability, ...steer]));
  });

  it('one fingerprint + stability + steer', async () => {
    const { fp, stability, steer } = singleModelDocs();
    const html = renderReport([fp, stability, ...steer]);
    const r = await openReport(html, 'report-single');
    checkBrowser(r, ['profile', 'strips', 'quality', 'deadzones', 'icc', 'pca', 'length', 'steer']);
    expect(r.sections.map((s) => s.id)).not.toContain('compare');
    const pca = r.sections.find((s) => s.id === 'pca')!;
    expect(pca.text).toMatch(/effective dimensionality\s+\d\.\d\d \/ 7/i);
    expect(pca.text).toMatch(/PC1 share\s+\d+\.\d\s%/);
    const icc = r.sections.find((s) => s.id === 'icc')!;
    expect(icc.text).toContain('ICC(2,1)');
    // two steering charts, each drawn for three widths
    expect(r.sections.find((s) => s.id === 'steer')!.svgCount).toBe(6);
  });

  it('degenerate numbers (constant axis, constant length, one alpha)', async () => {
    const html = renderReport([edgeFingerprint(), ...edgeExtras()]);
    const r = await openReport(html, 'report-edge');
    expect(r.consoleErrors).toEqual([]);
    expect(r.pageErrors).toEqual([]);
    expect(r.foreignRequests).toEqual([]);
    expect(r.scrollWidth).toBeLessThanOrEqual(1280);
    expect(r.overlappingText).toEqual([]);
    const length = r.sections.find((s) => s.id === 'length')!;
    expect(length.text).toContain('constant length, r undefined');
    expect(length.text).not.toMatch(/r [+−-]?0\.00/);
    for (const s of r.sections) if (s.svgCount) expect(s.boxes.filter((b) => b.width * b.height > 0).length, s.id).toBeGreaterThan(0);
  });

  it('two fingerprints compared, no stability run', async () => {
    const [a, b] = twoModelDocs();
    const html = renderReport([a, b]);
    const r = await openReport(html, 'report-compare');
    checkBrowser(r, ['profile', 'strips', 'compare', 'quality', 'deadzones', 'pca', 'length']);
    const icc = r.sections.find((s) => s.id === 'icc')!;
    expect(icc.text).toContain('No stability run');
    expect(r.sections.map((s) => s.id)).not.toContain('steer');
    const compare = r.sections.find((s) => s.id === 'compare')!;
    expect(compare.text).toContain('Qwen2.5-7B-Instruct');
    expect(compare.text).toContain('Llama-3.1-8B-Instruct');
  });
});
