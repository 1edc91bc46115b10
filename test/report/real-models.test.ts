// The report of real fingerprints (stories260K alone, and compared with aidreams260K), made through the
// CLI as a person would, opened in headless Chromium; screenshots land in test-output/.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { testModel } from '../helpers/paths.js';
import { openReport } from './browser.js';
import { expectReadable, measureLayout } from './layout.js';

const SMALL = ['--gpu', 'cpu', '--max-tokens', '8', '--baseline-max-tokens', '8', '--no-cache', '--quiet'];

describe('reports of real fingerprints', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-report-'));
    for (const [name, model] of [['stories', 'stories260K.gguf'], ['aidreams', 'aidreams260K.gguf']] as const) {
      const r = await cli(['fingerprint', testModel(model), '--out', join(dir, name), ...SMALL, ...(name === 'stories' ? ['--html'] : [])]);
      expect(r.code, r.stderr).toBe(0);
    }
  }, 300_000);

  it('fingerprint --html writes a report of the stories260K fingerprint that renders every section', async () => {
    const html = await readFile(join(dir, 'stories', 'report.html'), 'utf8');
    const r = await openReport(html, 'report-stories260K');
    expect(r.consoleErrors).toEqual([]);
    expect(r.pageErrors).toEqual([]);
    expect(r.foreignRequests).toEqual([]);
    expect(r.overlappingText).toEqual([]);
    for (const id of ['profile', 'strips', 'quality', 'deadzones', 'pca', 'length']) {
      const s = r.sections.find((x) => x.id === id);
      expect(s, id).toBeDefined();
      // charts are drawn for three widths (CSS shows one); the dead-zone table is HTML
      if (s!.svgCount) expect(s!.boxes.filter((b) => b.width * b.height > 0).length, id).toBeGreaterThan(0);
    }
    // 8-token answers: all at the cap, so the page warns and the length plot says why r is missing
    const text = r.sections.map((s) => s.text).join('\n');
    expect(html).toMatch(/baseline answers \(\d+ %\) stopped at the 8-token cap/);
    if (/every baseline answer has the same length/.test(text)) {
      expect(text).toContain('constant length, r undefined');
      expect(text).not.toMatch(/\br [+−-]?0\.00\b/);
    }
    // readable on a phone, a tablet and a laptop
    expectReadable(await measureLayout(html, 'layout-stories260K', [390, 768, 1280]));
  });

  it('moodaxis report compares two real models', async () => {
    const out = join(dir, 'report.html');
    const r = await cli(['report', join(dir, 'stories', 'fingerprint.json'), join(dir, 'aidreams', 'fingerprint.json'), '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    const page = await openReport(await readFile(out, 'utf8'), 'report-stories-vs-aidreams');
    expect(page.consoleErrors).toEqual([]);
    expect(page.pageErrors).toEqual([]);
    const compare = page.sections.find((s) => s.id === 'compare');
    expect(compare?.text).toContain('stories260K');
    expect(compare?.text).toContain('aidreams260K');
  });
});
