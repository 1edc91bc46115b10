/**
 * The report's drift section (drift.json from `moodaxis drift`): per axis a plot of the mean score at
 * each turn, one line per category (the neutral controls dashed), and one line of numbers per category:
 * slope per turn, last − first turn, and both minus the controls, with bootstrap CIs.
 */
import { categoryLabel } from '../../protocols/wording.js';
import type { DriftCategory, DriftDoc } from '../../docs/types.js';
import { modelBlock, section } from './common.js';
import { AXIS_COLORS, esc, fmt, line, linear, n, niceDomain, svgOpen, text, ticks } from '../svg.js';

const ci = (c: [number, number] | null) => (c ? `[${fmt(c[0], 3, { sign: true })}, ${fmt(c[1], 3, { sign: true })}]` : '\u2014');
const excludes0 = (c: [number, number] | null) => !!c && (c[0] > 0 || c[1] < 0);
const NEUTRAL_COLOR = '#475569';

function colorOf(doc: DriftDoc, cat: DriftCategory): string {
  const hostile = doc.categories.filter((c) => !c.control);
  return cat.control ? NEUTRAL_COLOR : AXIS_COLORS[hostile.indexOf(cat) % AXIS_COLORS.length]!;
}

function turnPlot(doc: DriftDoc, axis: DriftDoc['axes'][number]): string {
  const W = 380;
  const H = 250;
  const m = { l: 46, r: 12, t: 30, b: 36 };
  const series = doc.categories.map((cat) => ({ cat, means: cat.axes.find((a) => a.axis === axis.id)?.turnMeans ?? [] }));
  const all = series.flatMap((s) => s.means);
  const [y0, y1] = niceDomain(Math.min(...all), Math.max(...all), 4);
  const x = linear(1, Math.max(2, doc.turns), m.l, W - m.r);
  const y = linear(y0, y1, H - m.b, m.t);
  const out: string[] = [svgOpen(W, H, `Mean score per turn: ${axis.positive}/${axis.negative}`)];
  out.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" class="panel"/>`);
  out.push(text(m.l, 18, `${axis.positive}/${axis.negative}`, 'class="panel-title"'));
  for (const v of ticks(y0, y1, 4)) {
    out.push(line(m.l, y(v), W - m.r, y(v), 'class="grid"'));
    out.push(text(m.l - 6, y(v) + 4, fmt(v, Math.abs(y1 - y0) < 0.5 ? 2 : 1), 'class="tick" text-anchor="end"'));
  }
  for (let t = 1; t <= doc.turns; t++) out.push(text(x(t), H - m.b + 16, String(t), 'class="tick" text-anchor="middle"'));
  out.push(text(W - m.r, H - 4, 'turn →', 'class="tick axis-title" text-anchor="end"'));
  for (const { cat, means } of series) {
    const pts = means.map((v, t) => `${n(x(t + 1))},${n(y(v))}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${colorOf(doc, cat)}" stroke-width="${cat.control ? 2.2 : 1.5}"${cat.control ? ' stroke-dasharray="5 3"' : ''}><title>${esc(`${categoryLabel(cat.id)}: ${means.map((v) => fmt(v, 3)).join(', ')}`)}</title></polyline>`);
  }
  out.push('</svg>');
  return out.join('');
}

function driftBlock(doc: DriftDoc, many: boolean): string {
  const names = new Map(doc.axes.map((a) => [a.id, a]));
  const rows = doc.categories
    .flatMap((cat) =>
      cat.axes.map((a, i) => {
        const axis = names.get(a.axis);
        const v = a.vsControl;
        const cell = (x: number | null, c: [number, number] | null, flag: boolean) => `<td class="num${flag && excludes0(c) ? ' bad' : ''}">${x === null ? '\u2014' : `<b>${fmt(x, 3, { sign: true })}</b>`}<br><span class="muted">${ci(c)}</span></td>`;
        return `<tr>${i === 0 ? `<td rowspan="${cat.axes.length}"><span style="color:${colorOf(doc, cat)}">\u25A0</span> ${esc(categoryLabel(cat.id))}${cat.control ? ' <span class="muted">(controls)</span>' : ''} <span class="muted">· ${cat.scenarios} ${cat.scenarios === 1 ? 'scenario' : 'scenarios'}</span></td>` : ''}<td>${esc(axis ? `${axis.positive}/${axis.negative}` : a.axis)}</td>${cell(a.slope, a.slopeCI, false)}${cell(a.delta, a.deltaCI, false)}${v ? cell(v.slope, v.slopeCI, true) + cell(v.delta, v.deltaCI, true) : '<td></td><td></td>'}</tr>`;
      }),
    )
    .join('');
  const facts = [
    `${doc.conversations.length} ${doc.conversations.length === 1 ? 'conversation' : 'conversations'} of ${doc.turns} turns from ${doc.scenarioSet.name}`,
    `bootstrap: ${doc.bootstrap.resamples.toLocaleString('en-US')} resamples of the scenarios within each category, seed ${doc.bootstrap.seed}`,
    ...doc.warnings,
  ];
  return modelBlock({
    title: doc.manifest.model.name,
    many,
    table: `<div class="table-wrap"><table class="data compact"><tr><th>Category</th><th>Axis</th><th class="num">slope per turn (95 % CI)</th><th class="num">last − first (95 % CI)</th><th class="num">slope − neutral</th><th class="num">last − first − neutral</th></tr>${rows}</table></div>`,
    facts,
    figures: doc.axes.map((a) => turnPlot(doc, a)),
    gridClass: 'drift-grid',
  });
}

export function driftSection(docs: DriftDoc[]): string {
  if (docs.length === 0) return '';
  return section(
    'drift',
    'Drift over conversations',
    'Mean hidden-state score at each turn of hostile conversations, per category, against friendly controls (dashed). Slope: OLS of score on turn; last − first: mean of the last turn minus the first; "− neutral": the same minus the controls, the drift attributable to hostility. Percentile bootstrap 95 % CIs over the scenarios of a category; red marks a difference whose CI excludes 0.',
    docs.map((d) => driftBlock(d, docs.length > 1)).join('\n'),
  );
}
