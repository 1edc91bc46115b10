import { describe, expect, it } from 'vitest';
import { renderReport } from '../../lib/report/html.js';
import { expectReadable, measureLayout } from './layout.js';
import { cappedRunDocs, singleModelDocs, twoModelDocs } from './sample-docs.js';

const WIDTHS = [390, 768, 1280];

describe('report layout at 390, 768 and 1280 px (headless Chromium)', () => {
  it('one model with stability and steering', async () => {
    const { fp, stability, steer } = singleModelDocs();
    expectReadable(await measureLayout(renderReport([fp, stability, ...steer]), 'layout-single', WIDTHS));
  });

  it('two models compared', async () => {
    expectReadable(await measureLayout(renderReport(twoModelDocs()), 'layout-compare', WIDTHS));
  });

  it('a capped run: truncation warning, constant length, clipped scores, negative ICC', async () => {
    const { fp, stability, steer } = cappedRunDocs();
    const results = await measureLayout(renderReport([fp, stability, steer]), 'layout-capped', WIDTHS);
    expectReadable(results);
    const text = results[0]!.sectionText;
    expect(text.length).toContain('constant length, r undefined');
    expect(text.icc).toMatch(/−2\.560 \(no agreement\)/);
  });
});
