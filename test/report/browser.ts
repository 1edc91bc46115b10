/**
 * Opens a rendered report in real headless Chromium (playwright-core driving the system's Chromium
 * when there is one, else the headless build that the @sparticuz/chromium npm package carries),
 * records console errors, page errors and every network request, measures each section's SVG
 * geometry and saves a full-page screenshot. Reusable by tests on real fingerprints.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';
export const OUTPUT_DIR = resolve(import.meta.dirname, '../../test-output');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * The browser to drive: MOODAXIS_CHROMIUM, else the system's Chromium, else the one in @sparticuz/chromium
 * (a devDependency: unpacked into the temp folder on first use, no root or apt needed). Throws, never skips.
 */
export async function chromiumLaunch(): Promise<{ executablePath: string; args: string[] }> {
  const given = process.env.MOODAXIS_CHROMIUM;
  if (given) {
    if (!existsSync(given)) throw new Error(`MOODAXIS_CHROMIUM=${given}: no such file`);
    return { executablePath: given, args: CHROMIUM_ARGS };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, args: CHROMIUM_ARGS };
  const packaged = (await import('@sparticuz/chromium')).default;
  const executablePath = await packaged.executablePath();
  const args = [...new Set([...packaged.args.filter((a) => !a.startsWith('--headless')), ...CHROMIUM_ARGS])];
  return { executablePath, args };
}

export interface SectionGeometry {
  id: string;
  svgCount: number;
  /** getBBox of each svg in the section. */
  boxes: Array<{ width: number; height: number }>;
  /** path, circle, rect, line, polygon, polyline elements in the section's svgs. */
  shapes: number;
  paths: number;
  circles: number;
  text: string;
}

export interface BrowserResult {
  htmlPath: string;
  screenshotPath: string;
  consoleErrors: string[];
  pageErrors: string[];
  /** Every request the page made other than the report file itself. */
  foreignRequests: string[];
  sections: SectionGeometry[];
  /** document scroll width at a 1280 px viewport (horizontal overflow check). */
  scrollWidth: number;
  /** SVG text elements that overlap another text element of the same SVG (bounding boxes, > 2 px). */
  overlappingText: string[];
}

export async function openReport(html: string, name: string): Promise<BrowserResult> {
  const browser = await chromiumLaunch();
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const htmlPath = join(OUTPUT_DIR, `${name}.html`);
  const screenshotPath = join(OUTPUT_DIR, `${name}.png`);
  writeFileSync(htmlPath, html);
  const fileUrl = pathToFileURL(htmlPath).href;
  const userDataDir = mkdtempSync(join(tmpdir(), 'moodaxis-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: browser.executablePath,
    headless: true,
    args: browser.args,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    offline: true,
  });
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    context.on('request', (req) => {
      if (req.url() !== fileUrl) foreignRequests.push(req.url());
    });
    await page.goto(fileUrl, { waitUntil: 'load' });
    const measured = await page.evaluate(() => {
      const sections = Array.from(document.querySelectorAll('section[data-section]')).map((sec) => {
        const svgs = Array.from(sec.querySelectorAll('svg')) as SVGSVGElement[];
        const boxes = svgs.map((s) => {
          const b = s.getBBox();
          return { width: b.width, height: b.height };
        });
        const q = (sel: string) => svgs.reduce((acc, s) => acc + s.querySelectorAll(sel).length, 0);
        return {
          id: sec.getAttribute('data-section') ?? '',
          svgCount: svgs.length,
          boxes,
          shapes: q('path, circle, rect, line, polygon, polyline'),
          paths: q('path'),
          circles: q('circle'),
          text: (sec as HTMLElement).innerText,
        };
      });
      const overlapping: string[] = [];
      for (const svg of Array.from(document.querySelectorAll('svg'))) {
        const texts = Array.from(svg.querySelectorAll('text'))
          .filter((t) => !t.hasAttribute('transform')) // rotated labels: their boxes overlap, the glyphs do not
          .map((t) => ({ t, r: t.getBoundingClientRect() }));
        for (let i = 0; i < texts.length; i++) {
          for (let j = i + 1; j < texts.length; j++) {
            const a = texts[i]!.r;
            const b = texts[j]!.r;
            const ox = Math.min(a.right, b.right) - Math.max(a.left, b.left);
            const oy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
            if (ox > 2 && oy > 2 && a.width > 0 && b.width > 0) {
              const where = svg.closest('section')?.getAttribute('data-section') ?? '?';
              overlapping.push(`${where}: "${texts[i]!.t.textContent}" overlaps "${texts[j]!.t.textContent}"`);
            }
          }
        }
      }
      return { sections, scrollWidth: document.documentElement.scrollWidth, overlapping };
    });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    if (process.env.MOODAXIS_SECTION_SHOTS) {
      // one PNG per section, for looking at details: MOODAXIS_SECTION_SHOTS=1 npx vitest run test/report
      for (const s of measured.sections) {
        await page.locator(`section[data-section="${s.id}"]`).screenshot({ path: join(OUTPUT_DIR, `${name}.${s.id}.png`) });
      }
      for (const [sel, tag] of [['header', 'header'], ['.summary', 'summary'], ['.manifests', 'manifests']] as const) {
        if (await page.locator(sel).count()) await page.locator(sel).first().screenshot({ path: join(OUTPUT_DIR, `${name}.${tag}.png`) });
      }
    }
    return {
      htmlPath,
      screenshotPath,
      consoleErrors,
      pageErrors,
      foreignRequests,
      sections: measured.sections,
      scrollWidth: measured.scrollWidth,
      overlappingText: measured.overlapping,
    };
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
