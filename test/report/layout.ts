/**
 * Opens a report in headless Chromium (the launcher settings of browser.ts) at several viewport
 * widths and measures, in the page, what a reader would see: page-level horizontal overflow, text
 * smaller than 10 px (SVG text after the chart's scaling), text cut off by its container, overlapping
 * summary-card values and overlapping SVG labels. Saves one full-page screenshot per width.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { expect } from 'vitest';
import { chromiumLaunch, OUTPUT_DIR } from './browser.js';

export interface LayoutProblems {
  width: number;
  screenshotPath: string;
  /** document width beyond the viewport. */
  scrollWidth: number;
  /** "text (12.0 px → 7.1 px)" for each text rendered smaller than 10 px. */
  smallText: string[];
  /** Text whose box leaves its container (card, table cell, svg, scroll area). */
  cutText: string[];
  /** Summary-card values or labels that overlap each other or leave their box. */
  cardOverlaps: string[];
  /** SVG labels overlapping another label of the same SVG. */
  overlappingText: string[];
  /** How many text pieces were measured (a sanity check that the walk found the page's text). */
  measured: number;
  /** Sections (or figures) that hold charts of which none is shown at this width. */
  hiddenCharts: string[];
  /** section id → innerText (for content checks). */
  sectionText: Record<string, string>;
}

export const MIN_TEXT_PX = 10;

export async function measureLayout(html: string, name: string, widths: number[]): Promise<LayoutProblems[]> {
  const browser = await chromiumLaunch();
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const htmlPath = join(OUTPUT_DIR, `${name}.html`);
  writeFileSync(htmlPath, html);
  const userDataDir = mkdtempSync(join(tmpdir(), 'moodaxis-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: browser.executablePath,
    headless: true,
    args: browser.args,
    viewport: { width: widths[0]!, height: 900 },
    deviceScaleFactor: 1,
    offline: true,
  });
  const results: LayoutProblems[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    for (const width of widths) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });
      const m = await page.evaluate((minPx) => {
        const describe = (s: string) => JSON.stringify(s.trim().slice(0, 40));
        // rendered at all (no display:none ancestor, not in a closed <details>, not a tooltip <title>)
        const visible = (el: Element) => el.checkVisibility({ visibilityProperty: true }) && el.getClientRects().length > 0 && !el.closest('title');
        const smallText: string[] = [];
        const cutText: string[] = [];
        let measured = 0;
        /** The nearest ancestor that clips or scrolls, or the card it sits in. */
        const containerOf = (el: Element): Element => {
          for (let p = el.parentElement; p; p = p.parentElement) {
            const cs = getComputedStyle(p);
            if (cs.overflowX !== 'visible' || p.matches('.card, .summary-row, header.top, td, th, .kv')) return p;
          }
          return document.body;
        };
        const inside = (r: DOMRect, c: Element) => {
          const b = c.getBoundingClientRect();
          // a scroll area's content may extend to its scroll width
          const right = b.left + Math.max(c.scrollWidth, b.width) - c.scrollLeft;
          return r.left >= b.left - 1 && r.right <= right + 1 && r.top >= b.top - 1 && r.bottom <= b.top + Math.max(c.scrollHeight, b.height) + 1;
        };
        // HTML text
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const el = node.parentElement!;
          if (!node.textContent!.trim() || el.closest('svg') || !visible(el)) continue;
          const range = document.createRange();
          range.selectNodeContents(node);
          const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0 && r.height > 0);
          if (rects.length === 0) continue;
          measured++;
          const size = parseFloat(getComputedStyle(el).fontSize);
          if (size < minPx) smallText.push(`${describe(node.textContent!)} ${size.toFixed(1)} px`);
          const c = containerOf(el);
          for (const r of rects) {
            if (!inside(r, c)) {
              cutText.push(`${describe(node.textContent!)} leaves its ${c.tagName.toLowerCase()}${c.className ? '.' + String(c.className).split(' ')[0] : ''}`);
              break;
            }
          }
          // beyond the viewport is cut off unless an ancestor scrolls it into view (and then it must lie in its scroll area)
          let scroller: Element | null = null;
          for (let p = el.parentElement; p && !scroller; p = p.parentElement) if (/(auto|scroll)/.test(getComputedStyle(p).overflowX)) scroller = p;
          if (scroller ? rects.some((r) => !inside(r, scroller!)) : rects.some((r) => r.right > window.innerWidth + 1 || r.left < -1))
            cutText.push(`${describe(node.textContent!)} leaves ${scroller ? 'its scroll area' : 'the viewport'}`);
        }
        // SVG text, after scaling
        const overlapping: string[] = [];
        for (const svg of Array.from(document.querySelectorAll('svg'))) {
          if (!visible(svg)) continue;
          const box = svg.getBoundingClientRect();
          const vb = svg.viewBox.baseVal;
          const scale = vb && vb.width > 0 ? box.width / vb.width : 1;
          const texts = Array.from(svg.querySelectorAll('text'));
          for (const t of texts) {
            if (!t.textContent!.trim()) continue;
            measured++;
            const spans = [t, ...Array.from(t.querySelectorAll('tspan'))];
            for (const s of spans) {
              const px = parseFloat(getComputedStyle(s).fontSize) * scale;
              if (px < minPx - 0.01) {
                smallText.push(`svg ${describe(s.textContent!)} ${(px / scale).toFixed(1)} → ${px.toFixed(1)} px`);
                break;
              }
            }
            const r = t.getBoundingClientRect();
            if (r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1))
              cutText.push(`svg ${describe(t.textContent!)} leaves its svg`);
          }
          const plain = texts.filter((t) => !t.hasAttribute('transform')).map((t) => ({ t, r: t.getBoundingClientRect() }));
          for (let i = 0; i < plain.length; i++)
            for (let j = i + 1; j < plain.length; j++) {
              const a = plain[i]!.r;
              const b = plain[j]!.r;
              const ox = Math.min(a.right, b.right) - Math.max(a.left, b.left);
              const oy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
              if (ox > 2 && oy > 2 && a.width > 0 && b.width > 0)
                overlapping.push(`${svg.closest('section')?.getAttribute('data-section') ?? '?'}: ${describe(plain[i]!.t.textContent!)} overlaps ${describe(plain[j]!.t.textContent!)}`);
            }
        }
        // summary cards: every label and value inside its box, no two intersecting
        const cardOverlaps: string[] = [];
        for (const row of Array.from(document.querySelectorAll('.summary-row'))) {
          const parts = Array.from(row.querySelectorAll('.kv .k, .kv .v')).map((e) => ({ e, r: e.getBoundingClientRect() }));
          for (const { e, r } of parts) {
            const kv = e.closest('.kv')!.getBoundingClientRect();
            // the text itself, not the block: a range over the contents
            const range = document.createRange();
            range.selectNodeContents(e);
            const tr = range.getBoundingClientRect();
            if (tr.left < kv.left - 1 || tr.right > kv.right + 1) cardOverlaps.push(`${describe(e.textContent!)} leaves its card item`);
            void r;
          }
          for (let i = 0; i < parts.length; i++)
            for (let j = i + 1; j < parts.length; j++) {
              const ra = document.createRange();
              ra.selectNodeContents(parts[i]!.e);
              const rb = document.createRange();
              rb.selectNodeContents(parts[j]!.e);
              const a = ra.getBoundingClientRect();
              const b = rb.getBoundingClientRect();
              const ox = Math.min(a.right, b.right) - Math.max(a.left, b.left);
              const oy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
              if (ox > 0.5 && oy > 0.5) cardOverlaps.push(`${describe(parts[i]!.e.textContent!)} intersects ${describe(parts[j]!.e.textContent!)}`);
            }
        }
        const hiddenCharts: string[] = [];
        for (const fig of Array.from(document.querySelectorAll('section[data-section] figure'))) {
          const charts = Array.from(fig.querySelectorAll('svg.chart'));
          if (charts.length && !charts.some((c) => visible(c) && c.getBoundingClientRect().width > 0))
            hiddenCharts.push(`${fig.closest('section')!.getAttribute('data-section')}: ${charts.length} charts, none shown`);
        }
        const sectionText: Record<string, string> = {};
        for (const s of Array.from(document.querySelectorAll('section[data-section]'))) sectionText[s.getAttribute('data-section')!] = (s as HTMLElement).innerText;
        return { scrollWidth: document.documentElement.scrollWidth, smallText, cutText, cardOverlaps, overlapping, measured, hiddenCharts, sectionText };
      }, MIN_TEXT_PX);
      const screenshotPath = join(OUTPUT_DIR, `${name}-${width}.png`);
      await page.screenshot({ path: screenshotPath, fullPage: true });
      if (process.env.MOODAXIS_SECTION_SHOTS) {
        // one PNG per section and width, for looking at details: MOODAXIS_SECTION_SHOTS=1 npx vitest run test/report/layout.test.ts
        for (const id of Object.keys(m.sectionText)) await page.locator(`section[data-section="${id}"]`).screenshot({ path: join(OUTPUT_DIR, `${name}-${width}.${id}.png`) });
        for (const [sel, tag] of [['header', 'header'], ['.summary', 'summary']] as const) {
          if (await page.locator(sel).count()) await page.locator(sel).first().screenshot({ path: join(OUTPUT_DIR, `${name}-${width}.${tag}.png`) });
        }
      }
      results.push({
        width,
        screenshotPath,
        scrollWidth: m.scrollWidth,
        smallText: m.smallText,
        cutText: m.cutText,
        cardOverlaps: m.cardOverlaps,
        overlappingText: m.overlapping,
        measured: m.measured,
        hiddenCharts: m.hiddenCharts,
        sectionText: m.sectionText,
      });
    }
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
  return results;
}

/** The report reads well at every measured width: the checks of measureLayout, each expected empty. */
export function expectReadable(results: LayoutProblems[]): void {
  for (const r of results) {
    const at = `${r.width} px`;
    expect(r.measured, `${at}: text measured`).toBeGreaterThan(200);
    expect(r.scrollWidth, `${at}: the page does not scroll sideways`).toBeLessThanOrEqual(r.width);
    expect(r.smallText, `${at}: text smaller than 10 px`).toEqual([]);
    expect(r.cutText, `${at}: text cut off`).toEqual([]);
    expect(r.cardOverlaps, `${at}: summary cards`).toEqual([]);
    expect(r.overlappingText, `${at}: overlapping labels`).toEqual([]);
    expect(r.hiddenCharts, `${at}: every figure shows one of its chart widths`).toEqual([]);
  }
}
