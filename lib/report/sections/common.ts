/**
 * What the report's sections share: the section and per-model block frames, the chart width variants,
 * legends, axis names and the −1…+1 score rows. Each section (one file per section in this folder)
 * returns one `<section data-section="…">` (or '' when it has nothing to show) holding hand-written SVG
 * charts and HTML tables. Inputs are protocol documents only.
 */
import type { AxisSummary, FingerprintDoc } from '../../docs/types.js';
import type { ModelSeries } from '../data.js';
import { esc, fmt, line, text } from '../svg.js';

/** An axis as the report shows it (ids from the first fingerprint that has it). */
export interface AxisInfo {
  id: string;
  positive: string;
  negative: string;
}

export function section(id: string, title: string, intro: string, body: string): string {
  return `<section data-section="${esc(id)}" id="sec-${esc(id)}" class="card">
<h2>${esc(title)}</h2>
${intro ? `<p class="intro">${intro}</p>` : ''}
${body}
</section>`;
}

/**
 * One model's block in a per-model section: a heading (an h3 when several models share the section, a
 * line otherwise), its table, a list of facts and a grid of figures.
 */
export function modelBlock(o: { title: string; many: boolean; table: string; facts: string[]; figures: string[]; gridClass: string }): string {
  return `${o.many ? `<h3>${esc(o.title)}</h3>` : `<p class="facts-inline">${esc(o.title)}</p>`}
${o.table}
<ul class="facts">${o.facts.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>
<div class="${o.gridClass}" style="display:flex;flex-wrap:wrap;gap:14px;margin-top:12px">${o.figures.map((f) => `<figure>${f}</figure>`).join('')}</div>`;
}

export function note(html: string): string {
  return `<p class="note">${html}</p>`;
}

/**
 * The same chart drawn for several widths; CSS shows the one that fits (.w-narrow below 700 px,
 * .w-medium from 700 to 1100 px, .w-wide above), so that text never shrinks under 10 px.
 */
export function byWidth(draw: (width: number) => string, widths: { narrow: number; medium: number; wide: number }): string {
  return `<div class="w-narrow">${draw(widths.narrow)}</div><div class="w-medium">${draw(widths.medium)}</div><div class="w-wide">${draw(widths.wide)}</div>`;
}

/** A warning the reader must see (plain text, escaped). */
export function warnBox(message: string): string {
  return `<p class="warn-box" role="note"><b>Warning:</b> ${esc(message)}</p>`;
}


export function swatch(color: string): string {
  return `<span class="swatch" style="background:${esc(color)}"></span>`;
}

export function legend(series: ModelSeries[]): string {
  if (series.length < 2) return '';
  return `<div class="legend">${series.map((s) => `<span>${swatch(s.color)}${esc(s.label)}</span>`).join('')}</div>`;
}

export function axisLabel(a: AxisInfo): string {
  return `${a.positive} / ${a.negative}`;
}

/** Union of the axes of all fingerprints, first fingerprint's order first. */
export function collectAxes(series: ModelSeries[]): AxisInfo[] {
  const out: AxisInfo[] = [];
  const seen = new Set<string>();
  for (const s of series) {
    for (const a of s.fingerprint?.axes ?? []) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      out.push({ id: a.id, positive: a.positive, negative: a.negative });
    }
  }
  return out;
}

export function axisOf(fp: FingerprintDoc | null, id: string): AxisSummary | undefined {
  return fp?.axes.find((a) => a.id === id);
}

export function axisInfoFor(axes: AxisInfo[], id: string): AxisInfo {
  return axes.find((a) => a.id === id) ?? { id, positive: id, negative: '' };
}

export function shortAxis(axes: AxisInfo[], id: string): string {
  const a = axes.find((x) => x.id === id);
  return a ? a.positive : id;
}

/** x-axis with gridlines for a −1..1 score scale. */
export function scoreGrid(x: (v: number) => number, yTop: number, yBottom: number, labelY: number | null): string {
  const out: string[] = [];
  for (const v of [-1, -0.5, 0, 0.5, 1]) {
    out.push(line(x(v), yTop, x(v), yBottom, `class="${v === 0 ? 'grid-zero' : 'grid'}"`));
    // the end labels hang inwards so that they stay inside a chart whose scale runs edge to edge
    const anchor = v === -1 ? 'start' : v === 1 ? 'end' : 'middle';
    if (labelY !== null) out.push(text(x(v) + (v === -1 ? -4 : v === 1 ? 4 : 0), labelY, v === 0 ? '0' : fmt(v, 1, { sign: true }), `class="tick" text-anchor="${anchor}"`));
  }
  return out.join('');
}

/**
 * Horizontal layout of a chart with one −1…+1 row per axis (strips, comparison): wide charts keep the
 * pole names left and right of the scale and numbers at the far right; compact ones (< 500) put the
 * pole names above each row and let the scale run edge to edge.
 */
export function scoreRowLayout(W: number): { compact: boolean; x0: number; x1: number } {
  const compact = W < 500;
  return { compact, x0: compact ? 12 : W >= 1000 ? 170 : 120, x1: compact ? W - 12 : W >= 1000 ? 860 : W - 210 };
}

/** The two pole names of a row: beside the scale (at height `mid`), or above the row (`y0`) when compact. */
export function poleLabels(a: AxisInfo, { x0, x1 }: { x0: number; x1: number }, y0: number, mid: number, compact: boolean): string {
  return compact
    ? text(x0, y0 + 14, a.negative, 'class="pole-neg-strip" text-anchor="start"') + text(x1, y0 + 14, a.positive, 'class="pole-pos-strip" text-anchor="end"')
    : text(x0 - 14, mid + 4, a.negative, 'class="pole-neg-strip" text-anchor="end"') + text(x1 + 14, mid + 4, a.positive, 'class="pole-pos-strip" text-anchor="start"');
}
