/**
 * The report's sections. Each returns one `<section data-section="…">` (or '' when it has nothing to
 * show) holding hand-written SVG charts and HTML tables. Inputs are protocol documents only.
 */
import { PROTOCOL_DEFAULTS } from '../defaults.js';
import type { AxisSummary, DeadZone, FingerprintDoc, StabilityDoc, SteerDoc } from '../docs/types.js';
import { iccAgreement, iccText, lengthRText, sampleSizeVerdict, truncationWarning } from '../protocols/wording.js';
import { accuracyTerm, separationTerm } from '../stats/deadzone.js';
import {
  baselineQuestions,
  baselineTokens,
  deadZonesFor,
  leastSquares,
  mean,
  pearson,
  type ModelSeries,
} from './data.js';
import {
  AXIS_COLORS,
  SEVERITY_STOPS,
  clamp,
  declutter,
  DIVERGING_STOPS,
  divergingColor,
  esc,
  fmt,
  jitter,
  line,
  linear,
  n,
  niceDomain,
  pct,
  polyPath,
  qualityColor,
  severityColor,
  svgOpen,
  text,
  textOn,
  ticks,
} from './svg.js';

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

function note(html: string): string {
  return `<p class="note">${html}</p>`;
}

/**
 * The same chart drawn for several widths; CSS shows the one that fits (.w-narrow below 700 px,
 * .w-medium from 700 to 1100 px, .w-wide above), so that text never shrinks under 10 px.
 */
function byWidth(draw: (width: number) => string, widths: { narrow: number; medium: number; wide: number }): string {
  return `<div class="w-narrow">${draw(widths.narrow)}</div><div class="w-medium">${draw(widths.medium)}</div><div class="w-wide">${draw(widths.wide)}</div>`;
}

/** A warning the reader must see (plain text, escaped). */
export function warnBox(message: string): string {
  return `<p class="warn-box" role="note"><b>Warning:</b> ${esc(message)}</p>`;
}

/** An ICC with its words: "−2.560 (no agreement)" for a negative one (see lib/protocols/wording.ts). */
function iccCell(value: number | null): string {
  const words = iccAgreement(value);
  return words === 'no agreement' ? `${fmt(value, 3)} <span class="bad">(no agreement)</span>` : esc(iccText(value, (x) => fmt(x, 3)));
}

function swatch(color: string): string {
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

function axisOf(fp: FingerprintDoc | null, id: string): AxisSummary | undefined {
  return fp?.axes.find((a) => a.id === id);
}

function axisInfoFor(axes: AxisInfo[], id: string): AxisInfo {
  return axes.find((a) => a.id === id) ?? { id, positive: id, negative: '' };
}

function shortAxis(axes: AxisInfo[], id: string): string {
  const a = axes.find((x) => x.id === id);
  return a ? a.positive : id;
}

/** x-axis with gridlines for a −1..1 score scale. */
function scoreGrid(x: (v: number) => number, yTop: number, yBottom: number, labelY: number | null): string {
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
function scoreRowLayout(W: number): { compact: boolean; x0: number; x1: number } {
  const compact = W < 500;
  return { compact, x0: compact ? 12 : W >= 1000 ? 170 : 120, x1: compact ? W - 12 : W >= 1000 ? 860 : W - 210 };
}

/** The two pole names of a row: beside the scale (at height `mid`), or above the row (`y0`) when compact. */
function poleLabels(a: AxisInfo, { x0, x1 }: { x0: number; x1: number }, y0: number, mid: number, compact: boolean): string {
  return compact
    ? text(x0, y0 + 14, a.negative, 'class="pole-neg-strip" text-anchor="start"') + text(x1, y0 + 14, a.positive, 'class="pole-pos-strip" text-anchor="end"')
    : text(x0 - 14, mid + 4, a.negative, 'class="pole-neg-strip" text-anchor="end"') + text(x1 + 14, mid + 4, a.positive, 'class="pole-pos-strip" text-anchor="start"');
}

// =================================================================== profile (radar)

function radarSvg(fps: ModelSeries[], axes: AxisInfo[], W = 600): string {
  const compact = W < 500;
  // compact: a smaller radar, only the positive pole named (the table beside it names both)
  const R = compact ? (W - 2 * 78) / 2 : 185;
  const H = compact ? 2 * R + 90 : 520;
  const cx = W / 2;
  const cy = H / 2 + 4;
  const k = axes.length;
  const ang = (i: number) => -Math.PI / 2 + (2 * Math.PI * i) / k;
  const rOf = (s: number) => ((clamp(s, -1, 1) + 1) / 2) * R;
  const pt = (i: number, s: number): [number, number] => [cx + rOf(s) * Math.cos(ang(i)), cy + rOf(s) * Math.sin(ang(i))];
  const out: string[] = [svgOpen(W, H, 'Radar chart of mean score per axis')];
  // grid rings (polygons) and spokes
  for (const v of [-0.5, 0, 0.5, 1]) {
    out.push(`<path d="${polyPath(axes.map((_, i) => pt(i, v)))}" class="${v === 0 ? 'ring-zero' : 'ring'}"/>`);
  }
  axes.forEach((_, i) => {
    const [x, y] = pt(i, 1);
    out.push(line(cx, cy, x, y, 'class="spoke"'));
  });
  // bands then means
  for (const s of fps) {
    const fp = s.fingerprint!;
    const present = axes.map((a) => axisOf(fp, a.id));
    if (present.some((a) => !a)) continue;
    const outer = present.map((a, i) => pt(i, a!.mean + a!.std));
    const inner = present.map((a, i) => pt(i, a!.mean - a!.std));
    out.push(`<path d="${polyPath(outer)}${polyPath(inner)}" fill="${s.color}" fill-opacity="${fps.length > 1 ? 0.13 : 0.18}" fill-rule="evenodd" stroke="none"><title>${esc(s.label)}: mean ± 1 std</title></path>`);
  }
  for (const s of fps) {
    const fp = s.fingerprint!;
    const pts: Array<[number, number]> = [];
    const dots: string[] = [];
    axes.forEach((a, i) => {
      const ax = axisOf(fp, a.id);
      if (!ax) return;
      const p = pt(i, ax.mean);
      pts.push(p);
      dots.push(`<circle cx="${n(p[0])}" cy="${n(p[1])}" r="4.5" fill="${s.color}" stroke="#fff" stroke-width="1.5"><title>${esc(`${s.label} · ${axisLabel(a)}: ${fmt(ax.mean)} ± ${fmt(ax.std)}`)}</title></circle>`);
    });
    const closed = pts.length === axes.length;
    out.push(`<path d="${polyPath(pts, closed)}" fill="${closed && fps.length === 1 ? s.color : 'none'}" fill-opacity="0.06" stroke="${s.color}" stroke-width="2.5" stroke-linejoin="round"/>`);
    out.push(dots.join(''));
  }
  // ring labels along the first spoke, offset to the right, over the data with a white halo
  for (const v of compact ? [0, 1] : [-0.5, 0, 0.5, 1]) {
    const [x, y] = pt(0, v);
    out.push(text(x + 5, y + 4, v === 0 ? '0' : fmt(v, 1, { sign: true }), 'class="tick ring-label halo"'));
  }
  if (!compact) out.push(text(cx + 5, cy + 4, '\u22121', 'class="tick ring-label halo"'));
  // labels
  axes.forEach((a, i) => {
    const c = Math.cos(ang(i));
    const sn = Math.sin(ang(i));
    const rr = R + 16;
    const x = cx + rr * c;
    let y = cy + rr * sn;
    const anchor = c > 0.2 ? 'start' : c < -0.2 ? 'end' : 'middle';
    if (sn < -0.5) y -= 16;
    else if (sn > 0.5) y += 10;
    else y -= 4;
    if (compact) out.push(`<text x="${n(x)}" y="${n(y + 8)}" text-anchor="${anchor}" class="axis-label compact"><tspan class="pole-pos">${esc(a.positive)}</tspan></text>`);
    else out.push(`<text x="${n(x)}" y="${n(y)}" text-anchor="${anchor}" class="axis-label"><tspan class="pole-pos">${esc(a.positive)}</tspan><tspan x="${n(x)}" dy="15" class="pole-neg">vs ${esc(a.negative)}</tspan></text>`);
  });
  out.push('</svg>');
  return out.join('');
}

export function profileSection(fps: ModelSeries[], axes: AxisInfo[]): string {
  if (fps.length === 0 || axes.length < 3) return '';
  const head = `<tr><th>Axis</th>${fps.map((s) => `<th class="num">${fps.length > 1 ? swatch(s.color) : ''}${esc(fps.length > 1 ? s.label : 'mean ± std')}</th>`).join('')}${fps.length === 1 ? '<th class="num opt">min … max</th>' : ''}</tr>`;
  const rows = axes
    .map((a) => {
      const cells = fps
        .map((s) => {
          const ax = axisOf(s.fingerprint, a.id);
          return `<td class="num">${ax ? `<b>${fmt(ax.mean, 2, { sign: true })}</b> <span class="muted">± ${fmt(ax.std)}</span>` : '\u2014'}</td>`;
        })
        .join('');
      const ax0 = axisOf(fps[0]!.fingerprint, a.id);
      const mm = fps.length === 1 ? `<td class="num muted opt">${ax0 ? `${fmt(ax0.min)} … ${fmt(ax0.max)}` : '\u2014'}</td>` : '';
      return `<tr><td><span class="pos">${esc(a.positive)}</span> <span class="muted">vs ${esc(a.negative)}</span></td>${cells}${mm}</tr>`;
    })
    .join('');
  const body = `<div class="split">
<figure class="radar">${byWidth((w) => radarSvg(fps, axes, w), { narrow: 340, medium: 600, wide: 600 })}${legend(fps)}</figure>
<div class="side"><div class="table-wrap"><table class="data">${head}${rows}</table></div>
<p class="fineprint">Scores run from −1 (negative pole, centre of the radar) to +1 (positive pole, outer ring); the dashed ring is 0. The shaded band spans mean ± 1 standard deviation over the baseline questions.</p></div>
</div>`;
  return section('profile', 'Profile', 'Mean baseline score per axis, with the spread over questions.', body);
}

// =================================================================== strips

function stripsSvg(fps: ModelSeries[], axes: AxisInfo[], W: number): string {
  const { compact, x0, x1 } = scoreRowLayout(W);
  const x = linear(-1, 1, x0, x1);
  const sub = fps.length > 1 ? 26 : 34;
  const pad = 8;
  const labelLine = compact ? 16 : 0;
  const top = 28;
  const rowH = fps.length * sub + 2 * pad + labelLine;
  const H = top + axes.length * rowH + 8;
  const out: string[] = [svgOpen(W, H, 'Per-question scores per axis')];
  out.push(scoreGrid(x, top - 4, H - 8, 16));
  const questionsBy = new Map(fps.map((s) => [s, baselineQuestions(s.fingerprint!)]));
  axes.forEach((a, ai) => {
    const y0 = top + ai * rowH;
    if (ai % 2 === 1) out.push(`<rect x="0" y="${n(y0)}" width="${W}" height="${n(rowH)}" class="band-alt"/>`);
    const mid = y0 + rowH / 2;
    out.push(poleLabels(a, { x0, x1 }, y0, mid, compact));
    fps.forEach((s, si) => {
      const ax = axisOf(s.fingerprint, a.id);
      if (!ax) return;
      const cyMid = y0 + labelLine + pad + si * sub + sub / 2;
      const qs = questionsBy.get(s)!;
      out.push(`<rect x="${n(x(clamp(ax.mean - ax.std, -1, 1)))}" y="${n(cyMid - sub / 2 + 3)}" width="${n(Math.max(1, x(clamp(ax.mean + ax.std, -1, 1)) - x(clamp(ax.mean - ax.std, -1, 1))))}" height="${n(sub - 6)}" rx="3" fill="${s.color}" fill-opacity="0.12"/>`);
      const clipped = { low: 0, high: 0 };
      ax.scores.forEach((v, qi) => {
        const cy = cyMid + jitter(qi, ai * 31 + si) * (sub / 2 - 6);
        const what = `${qs[qi] || `question ${qi + 1}`} · ${fmt(v)}`;
        if (Math.abs(v) >= 1) {
          // at the clip limit: a triangle pointing outwards, counted below
          const dir = v > 0 ? 1 : -1;
          if (dir > 0) clipped.high++;
          else clipped.low++;
          const ex = x(dir);
          out.push(`<path d="M${n(ex + dir * 5)} ${n(cy)}L${n(ex - dir * 3)} ${n(cy - 5)}L${n(ex - dir * 3)} ${n(cy + 5)}Z" fill="${s.color}" fill-opacity="0.8" stroke="#fff" stroke-width="0.6" class="clipped"><title>${esc(`${what} (clipped to ${dir > 0 ? '+1' : '−1'})`)}</title></path>`);
          return;
        }
        out.push(`<circle cx="${n(x(v))}" cy="${n(cy)}" r="3.6" fill="${s.color}" fill-opacity="0.62" stroke="#fff" stroke-width="0.6"><title>${esc(what)}</title></circle>`);
      });
      const clipY = cyMid - sub / 2 + 10;
      if (clipped.low) out.push(text(x(-1) + 8, clipY, `${clipped.low} at −1`, 'class="clip-count halo" text-anchor="start"'));
      if (clipped.high) out.push(text(x(1) - 8, clipY, `${clipped.high} at +1`, 'class="clip-count halo" text-anchor="end"'));
      out.push(line(x(clamp(ax.mean, -1, 1)), cyMid - sub / 2 + 2, x(clamp(ax.mean, -1, 1)), cyMid + sub / 2 - 2, `stroke="${s.color}" stroke-width="3" stroke-linecap="round"`));
      if (!compact) out.push(text(W - 8, cyMid + 4, `${fmt(ax.mean, 2, { sign: true })} ± ${fmt(ax.std)}`, `class="stat" text-anchor="end" style="fill:${s.color}"`));
    });
  });
  out.push('</svg>');
  return out.join('');
}

export function stripsSection(fps: ModelSeries[], axes: AxisInfo[]): string {
  if (fps.length === 0 || axes.length === 0) return '';
  return section(
    'strips',
    'Per-question scores',
    'One dot per baseline question (vertical jitter only separates dots). The thick tick is the mean, the shaded box mean ± 1 std. Scores are clipped to −1 … +1: an answer beyond the scale is drawn as a triangle at the edge, and the number of them is written beside it.',
    `<figure>${byWidth((w) => stripsSvg(fps, axes, w), { narrow: 340, medium: 640, wide: 1100 })}${legend(fps)}</figure>`,
  );
}

// =================================================================== quality

function miniBar(value: number, frac: number, badness: number, label: string): string {
  const W = 96;
  const H = 12;
  const w = clamp(frac, 0, 1) * W;
  return `<svg class="mini" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}"><rect x="0" y="0" width="${W}" height="${H}" rx="3" class="track"/><rect x="0" y="0" width="${n(Math.max(2, w))}" height="${H}" rx="3" fill="${qualityColor(clamp(badness, 0, 1))}"><title>${esc(label)}: ${esc(fmt(value, 3))}</title></rect></svg>`;
}

export function qualitySection(fps: ModelSeries[], axes: AxisInfo[]): string {
  if (fps.length === 0) return '';
  const multi = fps.length > 1;
  const head1 = multi
    ? `<tr><th rowspan="2">Axis</th>${fps.map((s) => `<th colspan="2" class="group">${swatch(s.color)}${esc(s.label)}</th>`).join('')}</tr><tr>${fps.map(() => '<th>AUC</th><th>d′</th>').join('')}</tr>`
    : `<tr><th>Axis</th><th>AUC (held out)</th><th>d′</th><th class="num">accuracy term A</th><th class="num">separation term D</th></tr>`;
  const rows = axes
    .map((a) => {
      const cells = fps
        .map((s) => {
          const ax = axisOf(s.fingerprint, a.id);
          if (!ax) return '<td>\u2014</td><td>\u2014</td>';
          const A = accuracyTerm(ax.auc);
          const D = separationTerm(ax.dprime);
          const auc = `<td class="num cellbar"><span>${fmt(ax.auc, 3)}</span>${miniBar(ax.auc, (ax.auc - 0.5) / 0.5, A, `AUC ${a.positive}/${a.negative}`)}</td>`;
          const dp = `<td class="num cellbar"><span>${fmt(ax.dprime, 2)}</span>${miniBar(ax.dprime, ax.dprime / 4, D, `d′ ${a.positive}/${a.negative}`)}</td>`;
          return multi ? auc + dp : `${auc}${dp}<td class="num">${fmt(A)}</td><td class="num">${fmt(D)}</td>`;
        })
        .join('');
      return `<tr><td><span class="pos">${esc(a.positive)}</span> <span class="muted">vs ${esc(a.negative)}</span></td>${cells}</tr>`;
    })
    .join('');
  return section(
    'quality',
    'Axis quality',
    'How well each calibrated axis separates the two poles on held-out evaluation questions.',
    `<div class="table-wrap"><table class="data compact">${head1}${rows}</table></div>
<p class="fineprint">AUC: share of (positive, negative) response pairs ordered correctly (0.5 = chance, 1 = perfect); the bar runs from 0.5 to 1. d′: distance between the pole means in pooled standard deviations (bar to 4). Bar colour follows the dead-zone terms A = clip(2 (1 − AUC), 0, 1) and D = clip(1 − d′/3, 0, 1), both in [0, 1]: green is good, red is poor. A negative d′ means the axis points the wrong way (D = 1).</p>`,
  );
}

// =================================================================== dead zones

const DZ_COLUMNS: Array<{ key: string; title: string; sub: string }> = [
  { key: 'accuracy', title: 'accuracy', sub: 'A' },
  { key: 'separation', title: 'separation', sub: 'D' },
  { key: 'stability', title: 'stability', sub: 'S' },
  { key: 'snr', title: 'baseline SNR', sub: 'N' },
  { key: 'severity', title: 'severity', sub: 'sev.' },
  { key: 'equalWeight', title: 'equal weight', sub: 'eq.' },
];

/** The colour scale of the dead-zone table, as an HTML bar (0 = fine … 1 = worst) with the level thresholds. */
function severityLegend(): string {
  const stops = SEVERITY_STOPS.map((c, i) => `${c} ${n((i / (SEVERITY_STOPS.length - 1)) * 100)}%`).join(', ');
  const marks = [0, 0.15, 0.3, 0.5, 1]
    .map((t) => `<span class="mark${t === 0.15 || t === 0.3 ? ' thresh' : ''}" style="left:${n(t * 100)}%">${fmt(t, t === 0.15 ? 2 : t === 0 || t === 1 ? 0 : 1)}</span>`)
    .join('');
  return `<div class="scale-legend" role="img" aria-label="colour scale from 0 (fine) to 1 (worst)"><span class="scale-end">0 = fine</span><span class="scale-bar-wrap"><span class="scale-bar" style="background:linear-gradient(to right, ${stops})"></span>${marks}</span><span class="scale-end">1 = worst</span></div>`;
}

function deadZoneTable(rows: DeadZone[], axes: AxisInfo[]): string {
  const head = `<tr><th>Axis</th>${DZ_COLUMNS.map((c) => `<th class="num" title="${esc(c.title)}"><span class="col-full">${esc(c.title)}</span> <span class="col-sub">${esc(c.sub)}</span></th>`).join('')}<th class="level-col">level · kind</th></tr>`;
  const body = rows
    .map((dz) => {
      const a = axisInfoFor(axes, dz.axis);
      const values: Array<number | null> = [dz.terms.accuracy, dz.terms.separation, dz.terms.stability, dz.terms.snr, dz.severity, dz.equalWeight];
      const cells = values
        .map((v, j) => {
          if (v === null) return `<td class="num dz-na" title="${esc(`${a.positive}/${a.negative} · stability unknown (no stability run)`)}">n/a</td>`;
          const partialCell = dz.partial && j >= 4;
          const bg = severityColor(v);
          return `<td class="num dz-cell${j === 4 ? ' strong' : ''}${partialCell ? ' partial' : ''}" style="background:${bg};color:${textOn(bg)}" title="${esc(`${a.positive}/${a.negative} · ${DZ_COLUMNS[j]!.title}: ${fmt(v, 3)}${partialCell ? ' (partial)' : ''}`)}">${fmt(v)}${partialCell ? '*' : ''}</td>`;
        })
        .join('');
      const level = `<span class="chip chip-${dz.level}">${dz.level}</span>${dz.kind.length ? ` <span class="kind">${esc(dz.kind.join(', '))}</span>` : ''}`;
      // narrow screens: the level goes under the axis name and its column is hidden
      return `<tr><td class="axis-cell"><span class="pos">${esc(a.positive)}</span>${a.negative ? ` <span class="muted">vs ${esc(a.negative)}</span>` : ''}<div class="level-under">${level}</div></td>${cells}<td class="level-col">${level}</td></tr>`;
    })
    .join('');
  const partial = rows.some((r) => r.partial)
    ? '<p class="fineprint">* partial: no stability run, so S is unknown; A, D and N are reweighted 0.3/0.8, 0.3/0.8 and 0.2/0.8.</p>'
    : '';
  return `<div class="table-wrap"><table class="data dz">${head}${body}</table></div>${severityLegend()}${partial}`;
}

export function deadZonesSection(all: ModelSeries[], axes: AxisInfo[]): string {
  const parts: string[] = [];
  for (const [index, s] of all.entries()) {
    const dz = deadZonesFor(s);
    if (!dz) continue;
    const counts = { dead: 0, weak: 0, healthy: 0 };
    for (const r of dz.rows) counts[r.level]++;
    const head = `<h3>${all.length > 1 ? swatch(s.color) : ''}${esc(s.label)} <span class="muted">· ${counts.dead} dead, ${counts.weak} weak, ${counts.healthy} healthy${dz.source === 'stability' ? ' · with stability run' : dz.rows.some((r) => r.partial) ? ' · partial (no stability run)' : ''}</span></h3>`;
    void index;
    parts.push(`<figure>${head}${deadZoneTable(dz.rows, axes)}</figure>`);
  }
  if (parts.length === 0) return '';
  return section(
    'deadzones',
    'Dead zones',
    'Where the model does not follow style instructions. Each term maps to [0, 1] where 1 is worst; severity &lt; 0.15 is healthy, &lt; 0.30 weak, otherwise dead. Kinds: <b>hard</b> = poles barely separate, <b>soft</b> = direction moves between calibration sets, <b>asymmetric</b> = one pole followed far less often.',
    `${parts.join('')}<p class="fineprint"><b>A</b> (accuracy) = clip(2 (1 − AUC), 0, 1): how often held-out answers of the two poles are ordered wrongly. <b>D</b> (separation) = clip(1 − d′/3, 0, 1): how little the pole means are apart. <b>S</b> (stability) = clip(1 − stability cosine, 0, 1): how much the direction changes between calibration sets A, B and C. <b>N</b> (baseline SNR) = 1 − min(SNR/3, 1), SNR = |mean| / std of the baseline scores: how little the default style stands out from its noise. Severity = 0.3 A + 0.3 D + 0.2 S + 0.2 N (the weights are a heuristic, hence the equal-weight mean beside it).</p>`,
  );
}

// =================================================================== ICC

function iccChart(stab: Array<{ s: ModelSeries; d: StabilityDoc }>, axes: AxisInfo[], W = 960): string {
  const compact = W < 500;
  const ids: string[] = [];
  for (const { d } of stab) for (const t of d.testRetest) if (!ids.includes(t.axis)) ids.push(t.axis);
  const lo = Math.min(0, ...stab.flatMap(({ d }) => d.testRetest.map((t) => Math.min(t.ci[0], t.icc21, t.icc2k))));
  const dom0 = Math.floor(lo * 4) / 4;
  // compact: axis names above each row
  const x0 = compact ? 14 : W >= 900 ? 210 : 195;
  const x1 = W - (compact ? 14 : 30);
  const x = linear(dom0, 1, x0, x1);
  const sub = stab.length > 1 ? 18 : 26;
  const labelLine = compact ? 16 : 0;
  const rowH = stab.length * sub + 10 + labelLine;
  const top = 40;
  const H = top + ids.length * rowH + (compact ? 58 : 40);
  const out: string[] = [svgOpen(W, H, 'ICC(2,1) per axis with 95% confidence interval')];
  const bands: Array<[number, number, string, string]> = [
    ...(dom0 < 0 ? [[dom0, 0, 'no agreement', '#fee2e2'] as [number, number, string, string]] : []),
    [Math.max(dom0, 0), 0.5, 'poor', '#fef2f2'],
    [0.5, 0.75, 'moderate', '#fffbeb'],
    [0.75, 0.9, 'good', '#f0fdf4'],
    [0.9, 1, 'excellent', '#dcfce7'],
  ];
  for (const [a, b, label, fill] of bands) {
    if (b <= dom0) continue;
    const xa = x(Math.max(a, dom0));
    out.push(`<rect x="${n(xa)}" y="${top - 6}" width="${n(x(b) - xa)}" height="${n(ids.length * rowH + 6)}" fill="${fill}"/>`);
    // only the bands wide enough for their name are named
    if (x(b) - xa >= label.length * 6.4) out.push(text((xa + x(b)) / 2, top - 14, label, 'class="tick band-label" text-anchor="middle"'));
  }
  for (const v of ticks(dom0, 1, compact ? 4 : 8)) {
    out.push(line(x(v), top - 6, x(v), top + ids.length * rowH, 'class="grid"'));
    out.push(text(x(v), top + ids.length * rowH + 16, fmt(v, 1), 'class="tick" text-anchor="middle"'));
  }
  out.push(line(x(0.75), top - 6, x(0.75), top + ids.length * rowH + 4, 'class="target"'));
  out.push(text(x(0.75), top + ids.length * rowH + 32, 'target 0.75', 'class="tick target-label" text-anchor="middle"'));
  const title = 'ICC(2,1) (dot) with 95 % CI, ICC(2,k) (diamond)';
  if (compact) out.push(text(x0, top + ids.length * rowH + 50, title, 'class="tick axis-title" text-anchor="start"'));
  else out.push(text(x((dom0 + 0.5) / 2), top + ids.length * rowH + 32, title, 'class="tick axis-title" text-anchor="middle"'));
  ids.forEach((id, i) => {
    const y0 = top + i * rowH + 5 + labelLine;
    const a = axisInfoFor(axes, id);
    const label = `<tspan class="pos">${esc(a.positive)}</tspan>${a.negative ? `<tspan class="muted"> vs ${esc(a.negative)}</tspan>` : ''}`;
    if (compact) out.push(`<text x="${x0}" y="${n(y0 - 4)}" class="row-label">${label}</text>`);
    else out.push(`<text x="${x0 - 12}" y="${n(y0 + (stab.length * sub) / 2 + 4)}" text-anchor="end" class="row-label">${label}</text>`);
    stab.forEach(({ s, d }, si) => {
      const t = d.testRetest.find((r) => r.axis === id);
      if (!t) return;
      const cy = y0 + si * sub + sub / 2;
      out.push(line(x(t.ci[0]), cy, x(t.ci[1]), cy, `stroke="${s.color}" stroke-width="2"`));
      out.push(line(x(t.ci[0]), cy - 5, x(t.ci[0]), cy + 5, `stroke="${s.color}" stroke-width="2"`));
      out.push(line(x(t.ci[1]), cy - 5, x(t.ci[1]), cy + 5, `stroke="${s.color}" stroke-width="2"`));
      out.push(`<circle cx="${n(x(t.icc21))}" cy="${n(cy)}" r="5" fill="${s.color}" stroke="#fff" stroke-width="1.5"><title>${esc(`${s.label} · ${a.positive}/${a.negative}: ICC(2,1) ${fmt(t.icc21, 3)} [${fmt(t.ci[0], 3)}, ${fmt(t.ci[1], 3)}]`)}</title></circle>`);
      out.push(`<path d="M${n(x(t.icc2k))} ${n(cy - 5)}L${n(x(t.icc2k) + 5)} ${n(cy)}L${n(x(t.icc2k))} ${n(cy + 5)}L${n(x(t.icc2k) - 5)} ${n(cy)}Z" fill="#fff" stroke="${s.color}" stroke-width="1.5"><title>${esc(`ICC(2,k) ${fmt(t.icc2k, 3)}`)}</title></path>`);
    });
  });
  out.push('</svg>');
  return out.join('');
}

function sampleSizeChart(d: StabilityDoc, axes: AxisInfo[], W = 500): string {
  const ns = d.sampleSize.n;
  const entries = Object.entries(d.sampleSize.perAxis);
  if (ns.length < 2 || entries.length === 0) return '';
  const H = 300;
  const m = { l: 52, r: W < 400 ? 96 : 130, t: 18, b: 40 };
  const x = linear(Math.min(...ns), Math.max(...ns), m.l, W - m.r);
  const allC = entries.flatMap(([, e]) => e.medianCosine);
  const yMin = Math.min(0.5, Math.floor(Math.min(...allC) * 10) / 10);
  const y = linear(yMin, 1, H - m.b, m.t);
  const out: string[] = [svgOpen(W, H, 'Sample-size curve: median cosine to the full-set direction')];
  for (const v of ticks(yMin, 1, 5)) {
    out.push(line(m.l, y(v), W - m.r, y(v), 'class="grid"'));
    out.push(text(m.l - 8, y(v) + 4, fmt(v, 1), 'class="tick" text-anchor="end"'));
  }
  for (const v of ns) out.push(text(x(v), H - m.b + 18, String(v), 'class="tick" text-anchor="middle"'));
  const splitHalf = d.sampleSize.method === 'split-half';
  const threshold = d.sampleSize.threshold ?? PROTOCOL_DEFAULTS.stability.stableCosine;
  out.push(text((m.l + W - m.r) / 2, H - 4, splitHalf ? 'calibration questions per half (n)' : 'calibration questions (n)', 'class="tick axis-title" text-anchor="middle"'));
  out.push(text(14, (m.t + H - m.b) / 2, splitHalf ? 'median split-half cosine' : 'median cos(vₙ, v_all)', `class="tick axis-title" text-anchor="middle" transform="rotate(-90 14 ${n((m.t + H - m.b) / 2)})"`));
  out.push(line(m.l, y(threshold), W - m.r, y(threshold), 'class="target"'));
  if (splitHalf && d.sampleSize.stabilisesAt !== null) {
    const sx = x(d.sampleSize.stabilisesAt);
    out.push(line(sx, m.t, sx, H - m.b, 'class="target"'));
    out.push(text(sx + 5, H - m.b - 8, `stable at n = ${d.sampleSize.stabilisesAt}`, 'class="tick target-label"'));
  }
  const ends: number[] = [];
  entries.forEach(([id, e], i) => {
    const col = AXIS_COLORS[i % AXIS_COLORS.length]!;
    const pts = e.medianCosine.map((c, j): [number, number] => [x(ns[j]!), y(c)]);
    out.push(`<path d="${polyPath(pts, false)}" fill="none" stroke="${col}" stroke-width="2"/>`);
    for (const [px, py] of pts) out.push(`<circle cx="${n(px)}" cy="${n(py)}" r="2.5" fill="${col}"/>`);
    ends.push(pts[pts.length - 1]![1]);
    void id;
  });
  const ly = declutter(ends, 13, m.t, H - m.b);
  entries.forEach(([id], i) => {
    out.push(text(W - m.r + 8, ly[i]! + 4, shortAxis(axes, id), `class="tick series-label" style="fill:${AXIS_COLORS[i % AXIS_COLORS.length]}"`));
  });
  out.push('</svg>');
  return out.join('');
}

export function iccSection(all: ModelSeries[], axes: AxisInfo[]): string {
  const stab = all.flatMap((s) => s.stability.map((d) => ({ s, d })));
  if (stab.length === 0) {
    return section(
      'icc',
      'Reliability (ICC)',
      '',
      note('<b>No stability run.</b> Test-retest ICC, calibration-set stability and the sample-size curve come from a stability document (<code>moodaxis stability</code>). Without it the dead-zone severities are partial.'),
    );
  }
  const tables = stab
    .map(({ s, d }) => {
      const rows = d.testRetest
        .map((t) => {
          const a = axisInfoFor(axes, t.axis);
          const cs = d.calibrationSets.find((c) => c.axis === t.axis);
          const good = t.icc21 > 0.75;
          return `<tr><td><span class="pos">${esc(a.positive)}</span> <span class="muted">vs ${esc(a.negative)}</span></td><td class="num"><b class="${good ? 'ok' : 'warn'}">${iccCell(t.icc21)}</b></td><td class="num muted">[${fmt(t.ci[0], 2)}, ${fmt(t.ci[1], 2)}]</td><td class="num">${iccCell(t.icc2k)}</td><td class="num">${cs ? fmt(cs.stabilityCosine, 3) : '\u2014'}</td><td class="num muted">${cs ? `${fmt(cs.cosines.AB)} / ${fmt(cs.cosines.AC)} / ${fmt(cs.cosines.BC)}` : '\u2014'}</td><td class="num">${cs ? iccCell(cs.icc2k) : '\u2014'}</td></tr>`;
        })
        .join('');
      const cut = truncationWarning(d.truncation, 'baseline answers');
      const notes = (d.notes ?? []).filter((x) => x !== cut);
      return `<h3>${stab.length > 1 ? swatch(s.color) : ''}${esc(s.label)} <span class="muted">· ${esc(sampleSizeVerdict(d.sampleSize, (id) => axisLabel(axisInfoFor(axes, id)).replace(' / ', '/')))}</span></h3>
${cut ? warnBox(cut) : ''}<div class="table-wrap"><table class="data"><tr><th>Axis</th><th class="num">ICC(2,1)</th><th class="num">95 % CI</th><th class="num">ICC(2,k)</th><th class="num">stability cos</th><th class="num">cos AB / AC / BC</th><th class="num">calib. ICC(2,k)</th></tr>${rows}</table></div>
${notes.length ? `<ul class="facts notes">${notes.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}`;
    })
    .join('');
  const curves = stab.map(({ s, d }) => {
    const c = sampleSizeChart(d, axes) && byWidth((w) => sampleSizeChart(d, axes, w), { narrow: 340, medium: 500, wide: 500 });
    return c ? `<figure><figcaption>${esc(s.label)} · sample-size curve</figcaption>${c}</figure>` : '';
  });
  return section(
    'icc',
    'Reliability (ICC)',
    'Test-retest ICC(2,1) over repeated baseline runs with 95 % bootstrap CI (dot and whiskers; hollow diamond = ICC(2,k)), and stability of the axis directions across calibration sets A, B, C.',
    `<p class="fineprint">ICC (intraclass correlation) says how well repeated measurements agree on which baseline answers score high and which low: 1 is perfect agreement, below 0.5 poor, and below 0 <b>no agreement</b> at all (the runs or calibrations differ more from each other than the answers do). ICC(2,1) is one run's reliability, ICC(2,k) that of the mean of all runs. The stability cosine is the mean cosine between the axis directions fitted on calibration sets A, B and C (1 = the same direction); calib. ICC(2,k) is the agreement of the baseline scores under the three calibrations. The sample-size curve splits the calibration questions into two disjoint halves of n and measures the cosine between the two halves' directions; an axis is stable at the smallest n where its median reaches 0.9.</p>
<figure>${byWidth((w) => iccChart(stab, axes, w), { narrow: 340, medium: 640, wide: 960 })}${legend(stab.map(({ s }) => s).filter((s, i, arr) => arr.indexOf(s) === i))}</figure>
${tables}
<div class="grid2">${curves.join('')}</div>`,
  );
}

// =================================================================== PCA

function screeSvg(fps: ModelSeries[], W = 520): string {
  const withS = fps.filter((s) => s.fingerprint!.structure);
  const k = Math.max(...withS.map((s) => s.fingerprint!.structure!.eigenvalues.length));
  const H = 300;
  const single = withS.length === 1;
  const m = { l: 66, r: single ? 52 : 16, t: 30, b: 44 };
  const maxL = Math.max(...withS.flatMap((s) => s.fingerprint!.structure!.eigenvalues));
  const [, yMax] = niceDomain(0, maxL > 0 ? maxL : 1, 5);
  const y = linear(0, yMax, H - m.b, m.t);
  const slot = (W - m.l - m.r) / k;
  const bw = Math.min(44, (slot * 0.72) / withS.length);
  const out: string[] = [svgOpen(W, H, 'Scree plot of covariance eigenvalues')];
  for (const v of ticks(0, yMax, 5)) {
    out.push(line(m.l, y(v), W - m.r, y(v), 'class="grid"'));
    out.push(text(m.l - 8, y(v) + 4, fmt(v, yMax < 0.1 ? 3 : 2), 'class="tick" text-anchor="end"'));
  }
  out.push(text(16, (m.t + H - m.b) / 2, 'eigenvalue', `class="tick axis-title" text-anchor="middle" transform="rotate(-90 16 ${n((m.t + H - m.b) / 2)})"`));
  for (let i = 0; i < k; i++) out.push(text(m.l + slot * (i + 0.5), H - m.b + 18, `PC${i + 1}`, 'class="tick" text-anchor="middle"'));
  withS.forEach((s, si) => {
    const ev = s.fingerprint!.structure!.eigenvalues;
    const total = ev.filter((l) => l > 0).reduce((a, b) => a + b, 0);
    ev.forEach((l, i) => {
      const bx = m.l + slot * (i + 0.5) - (bw * withS.length) / 2 + si * bw;
      out.push(`<rect x="${n(bx + 1)}" y="${n(y(Math.max(0, l)))}" width="${n(bw - 2)}" height="${n(Math.max(0.5, y(0) - y(Math.max(0, l))))}" fill="${s.color}" fill-opacity="0.85" rx="2"><title>${esc(`${s.label} · PC${i + 1}: λ = ${fmt(l, 4)} (${pct(total > 0 ? l / total : NaN)})`)}</title></rect>`);
    });
    if (single) {
      let cum = 0;
      const pts = ev.map((l, i): [number, number] => {
        cum += Math.max(0, l);
        return [m.l + slot * (i + 0.5), m.t + (1 - (total > 0 ? cum / total : 0)) * (H - m.b - m.t)];
      });
      out.push(`<path d="${polyPath(pts, false)}" fill="none" stroke="#111827" stroke-width="1.8" stroke-dasharray="4 3"/>`);
      for (const [px, py] of pts) out.push(`<circle cx="${n(px)}" cy="${n(py)}" r="3" fill="#111827"/>`);
      for (const v of [0, 0.5, 1]) out.push(text(W - m.r + 8, m.t + (1 - v) * (H - m.b - m.t) + 4, pct(v, 0), 'class="tick"'));
      out.push(text(W - 4, m.t - 14, 'cumulative share ┄', 'class="tick" text-anchor="end"'));
    }
  });
  out.push(line(m.l, y(0), W - m.r, y(0), 'class="baseline"'));
  out.push('</svg>');
  return out.join('');
}

function correlationSvg(s: ModelSeries, axes: AxisInfo[], uid: string, compact = false): string {
  const st = s.fingerprint!.structure!;
  const k = st.axes.length;
  const cell = compact ? 34 : 44;
  const left = compact ? 78 : 112;
  const top = 84;
  // room on the right for the last rotated column label
  const W = Math.max(left + k * cell + (compact ? 38 : 48), compact ? 330 : 400);
  const legendTop = top + k * cell + 22;
  const H = legendTop + 46;
  const out: string[] = [svgOpen(W, H, `Cross-axis correlation, ${s.label}`)];
  out.push(`<defs><linearGradient id="div-${uid}" x1="0" x2="1" y1="0" y2="0">${DIVERGING_STOPS.map((c, i) => `<stop offset="${n((i / (DIVERGING_STOPS.length - 1)) * 100)}%" stop-color="${c}"/>`).join('')}</linearGradient></defs>`);
  st.axes.forEach((id, i) => {
    const label = shortAxis(axes, id);
    out.push(text(left - 8, top + i * cell + cell / 2 + 4, label, 'class="tick row-label-sm" text-anchor="end"'));
    const cx = left + i * cell + cell / 2;
    out.push(text(cx, top - 8, label, `class="tick row-label-sm" transform="rotate(-45 ${n(cx)} ${top - 8})"`));
  });
  let undefinedCells = 0;
  st.correlation.forEach((row, i) =>
    row.forEach((r, j) => {
      const undef = r === null || !Number.isFinite(r);
      if (undef && i !== j) undefinedCells++;
      const bg = i === j || undef ? '#e5e7eb' : divergingColor(r);
      const what = undef ? 'r undefined (an axis with constant scores)' : `r = ${fmt(r, 3)}`;
      out.push(`<rect x="${left + j * cell + 1}" y="${top + i * cell + 1}" width="${cell - 2}" height="${cell - 2}" rx="3" fill="${bg}"><title>${esc(`${shortAxis(axes, st.axes[i]!)} × ${shortAxis(axes, st.axes[j]!)}: ${what}`)}</title></rect>`);
      if (i !== j) out.push(text(left + j * cell + cell / 2, top + i * cell + cell / 2 + 4, undef ? 'n/a' : fmt(r, 2), `class="cell-sm" text-anchor="middle" style="fill:${textOn(bg)}"`));
    }),
  );
  // colour scale: −1 … +1
  const lw = Math.min(k * cell, 240);
  const lx = left;
  out.push(`<rect x="${lx}" y="${legendTop}" width="${lw}" height="10" rx="2" fill="url(#div-${uid})" stroke="#d1d5db" stroke-width="0.5"/>`);
  for (const v of [-1, 0, 1]) {
    const tx = lx + ((v + 1) / 2) * lw;
    out.push(line(tx, legendTop - 2, tx, legendTop + 13, 'class="tickline"'));
    out.push(text(tx, legendTop + 26, v === 0 ? '0' : fmt(v, 0, { sign: true }), `class="tick" text-anchor="${v < 0 ? 'start' : v > 0 ? 'end' : 'middle'}"`));
  }
  out.push(text(lx - 8, legendTop + 9, 'Pearson r', 'class="tick" text-anchor="end"'));
  out.push(text(lx + lw / 2, legendTop + 40, undefinedCells ? 'blue: opposite · red: together · n/a: undefined' : 'blue: move opposite · red: move together', 'class="tick" text-anchor="middle"'));
  out.push('</svg>');
  return out.join('');
}

export function pcaSection(fps: ModelSeries[], axes: AxisInfo[]): string {
  if (fps.length === 0) return '';
  const withS = fps.filter((s) => s.fingerprint!.structure);
  if (withS.length === 0) {
    return section('pca', 'Structure (PCA)', '', note('No structure statistics in the fingerprint (<code>structure: null</code>).'));
  }
  const stats = withS
    .map((s) => {
      const st = s.fingerprint!.structure!;
      return `<div class="bignum">${withS.length > 1 ? `<div class="bn-model">${swatch(s.color)}${esc(s.label)}</div>` : ''}
<div><span class="bn-label">effective dimensionality</span><span class="bn-value">${fmt(st.participationRatio, 2)} / ${st.axes.length}</span></div>
<div><span class="bn-label">PC1 share</span><span class="bn-value">${pct(st.pc1Share)}</span></div></div>`;
    })
    .join('');
  const corr = withS.map((s, i) => `<figure><figcaption>${withS.length > 1 ? swatch(s.color) : ''}cross-axis Pearson r${withS.length > 1 ? ' · ' + esc(s.label) : ''}</figcaption>${byWidth((w) => correlationSvg(s, axes, `corr${i}-${w}`, w < 500), { narrow: 340, medium: 640, wide: 1100 })}</figure>`).join('');
  return section(
    'pca',
    'Structure (PCA)',
    'Eigenvalues of the covariance of the baseline scores (questions × axes). Effective dimensionality is the participation ratio (Σλ)²/Σλ²: 1 means all axes move together, the number of axes means they are independent.',
    withS.length === 1
      ? `<div class="split"><figure>${byWidth((w) => screeSvg(withS, w), { narrow: 340, medium: 520, wide: 520 })}</figure><div class="side">${stats}${corr}</div></div>`
      : `<div class="split"><figure>${byWidth((w) => screeSvg(withS, w), { narrow: 340, medium: 520, wide: 520 })}${legend(withS)}</figure><div class="side">${stats}</div></div>
<div class="corr-row">${corr}</div>`,
  );
}

// =================================================================== length confound

export function lengthSection(fps: ModelSeries[], axes: AxisInfo[]): string {
  if (fps.length === 0) return '';
  const data = fps.map((s) => ({ s, tokens: baselineTokens(s.fingerprint!) }));
  const usable = data.filter((d) => d.tokens);
  if (usable.length === 0) {
    return section('length', 'Length confound', '', note('Token counts of the baseline responses could not be aligned with the scores (expected one <code>baseline/…</code> response per score).'));
  }
  const allT = usable.flatMap((d) => d.tokens!);
  const [t0, t1] = niceDomain(Math.min(...allT), Math.max(...allT), 4);
  const pw = 270;
  const ph = 210;
  const m = { l: 44, r: 14, t: 40, b: 38 };
  // One SVG per axis: the panels wrap to the width of the page.
  const panels = axes.map((a, i) => {
    const out: string[] = [svgOpen(pw, ph, `Score versus response length, ${a.positive} / ${a.negative}`)];
    const x = linear(t0, t1, m.l, pw - m.r);
    const y = linear(-1, 1, ph - m.b, m.t);
    out.push(`<rect x="${m.l}" y="${m.t}" width="${pw - m.l - m.r}" height="${ph - m.t - m.b}" class="panel"/>`);
    out.push(text(m.l, 14, `${a.positive} / ${a.negative}`, 'class="panel-title"'));
    for (const v of [-1, 0, 1]) {
      out.push(line(m.l, y(v), pw - m.r, y(v), `class="${v === 0 ? 'grid-zero' : 'grid'}"`));
      out.push(text(m.l - 6, y(v) + 4, v === 0 ? '0' : fmt(v, 0, { sign: true }), 'class="tick" text-anchor="end"'));
    }
    for (const v of ticks(t0, t1, 4)) out.push(text(x(v), ph - m.b + 15, String(v), 'class="tick" text-anchor="middle"'));
    out.push(text(pw - m.r, ph - 6, 'tokens →', 'class="tick axis-title" text-anchor="end"'));
    const rLabels: string[] = [];
    usable.forEach(({ s, tokens }) => {
      const ax = axisOf(s.fingerprint, a.id);
      if (!ax) return;
      const tk = tokens!;
      ax.scores.forEach((v, qi) => {
        out.push(`<circle cx="${n(x(tk[qi]!))}" cy="${n(y(clamp(v, -1, 1)))}" r="3.2" fill="${s.color}" fill-opacity="0.55"><title>${esc(`${s.label}: ${tk[qi]} tokens, score ${fmt(v)}`)}</title></circle>`);
      });
      const fit = leastSquares(tk, ax.scores);
      if (fit) {
        const xa = Math.min(...tk);
        const xb = Math.max(...tk);
        out.push(line(x(xa), y(clamp(fit.a + fit.b * xa, -1, 1)), x(xb), y(clamp(fit.a + fit.b * xb, -1, 1)), `stroke="${s.color}" stroke-width="2"`));
      }
      const lc = s.fingerprint!.structure?.lengthConfound;
      const constantLength = lc?.constantLength ?? tk.every((t) => t === tk[0]);
      const docR = lc?.perAxis[a.id];
      const r = typeof docR === 'number' ? docR : docR === null ? null : pearson(tk, ax.scores);
      const defined = r !== null && Number.isFinite(r);
      const confounded = defined && Math.abs(r) >= 0.3;
      const fill = usable.length > 1 ? s.color : confounded ? '#b91c1c' : '#374151';
      const label = defined ? `r ${lengthRText(r, constantLength)}` : constantLength ? 'constant length, r undefined' : 'constant score, r undefined';
      rLabels.push(`<tspan fill="${fill}" font-weight="${confounded ? 700 : 500}">${esc(label)}${confounded ? ' ⚠' : ''}<title>${esc(`${s.label}: Pearson r(score, tokens)${confounded ? ', |r| ≥ 0.3: length confound' : defined ? '' : ': undefined, one of the two does not vary'}`)}</title></tspan>`);
    });
    out.push(`<text x="${m.l}" y="30" class="panel-r">${rLabels.join('<tspan>  </tspan>')}</text>`);
    out.push('</svg>');
    void i;
    return out.join('');
  });
  const summary = usable
    .map(({ s }) => {
      const lc = s.fingerprint!.structure?.lengthConfound;
      if (!lc) return '';
      const who = usable.length > 1 ? swatch(s.color) + esc(s.label) + ': ' : '';
      if (lc.constantLength) return `<li>${who}every baseline answer has the same length: no correlation with length can be computed, and regressing length out changes nothing</li>`;
      const before = lc.meanAbsCrossRBefore;
      const after = lc.meanAbsCrossRAfter;
      if (before === null || after === null) return `<li>${who}mean |cross-axis r| undefined (no two axes with varying scores)</li>`;
      const drop = before > 0 ? (before - after) / before : NaN;
      return `<li>${who}mean |cross-axis r| ${fmt(before, 3)} → ${fmt(after, 3)} after regressing out length (${Number.isFinite(drop) ? (drop >= 0 ? '−' : '+') + pct(Math.abs(drop)) : '\u2014'})</li>`;
    })
    .filter(Boolean)
    .join('');
  const warnings = usable
    .map(({ s }) => truncationWarning(s.fingerprint!.truncation))
    .map((w, i) => (w ? warnBox(`${usable.length > 1 ? `${usable[i]!.s.label}: ` : ''}${w}`) : ''))
    .join('');
  const missing = data.filter((d) => !d.tokens).map((d) => esc(d.s.label));
  return section(
    'length',
    'Length confound',
    'Score against response length (tokens) per baseline question, with a least-squares line. |r| &lt; 0.3 counts as clean; ⚠ marks axes where length explains the score.',
    `${warnings}<figure><div class="panels">${panels.join('')}</div>${legend(usable.map((u) => u.s))}</figure>${summary ? `<ul class="facts">${summary}</ul>` : ''}${missing.length ? note(`No aligned token counts for ${missing.join(', ')}.`) : ''}`,
  );
}

// =================================================================== steering

function steerSvg(s: ModelSeries, d: SteerDoc, axes: AxisInfo[], W = 760): string {
  const m = { l: 64, r: W < 500 ? 122 : 150, t: 14, b: 44 };
  const scoreH = 250;
  const gap = 40;
  const repH = 120;
  const H = m.t + scoreH + gap + repH + m.b;
  const pts = [...d.alphas].sort((a, b) => a.alpha - b.alpha);
  if (pts.length === 0) return '';
  const amin = pts[0]!.alpha;
  const amax = pts[pts.length - 1]!.alpha;
  const [a0, a1] = amin === amax ? [amin - 1, amax + 1] : [amin, amax];
  const x = linear(a0, a1, m.l, W - m.r);
  // Leakage is the change from α = 0; the steered line is drawn the same way when α = 0 was run.
  const base = pts.find((p) => p.alpha === 0)?.meanScore;
  const relative = base !== undefined;
  const steered = (p: SteerDoc['alphas'][number]) => (relative ? p.meanScore - base : p.meanScore);
  const leakIds = Array.from(new Set(pts.flatMap((p) => Object.keys(p.leakage))));
  const values = [...pts.map(steered), ...pts.flatMap((p) => leakIds.map((id) => p.leakage[id]).filter((v): v is number => typeof v === 'number'))];
  const [y0, y1] = niceDomain(Math.min(-0.5, ...values), Math.max(0.5, ...values), 4);
  const scoreTop = m.t;
  const scoreBottom = m.t + scoreH;
  const y = linear(y0, y1, scoreBottom, scoreTop);
  const out: string[] = [svgOpen(W, H, `Steering dose-response for ${d.axis}`, 'chart wide')];
  // --- score panel
  for (const v of ticks(y0, y1, 5)) {
    out.push(line(m.l, y(v), W - m.r, y(v), `class="${v === 0 ? 'grid-zero' : 'grid'}"`));
    out.push(text(m.l - 8, y(v) + 4, v === 0 ? '0' : fmt(v, 1, { sign: true }), 'class="tick" text-anchor="end"'));
  }
  const scoreTitle = relative ? 'change in mean score from α = 0' : 'mean score (leakage: change from α = 0)';
  const midScore = (scoreTop + scoreBottom) / 2;
  out.push(text(16, midScore, scoreTitle, `class="tick axis-title" text-anchor="middle" transform="rotate(-90 16 ${n(midScore)})"`));
  const labels: Array<{ y: number; text: string; color: string; cls: string }> = [];
  leakIds.forEach((id) => {
    const idx = Math.max(0, axes.findIndex((a) => a.id === id));
    const col = AXIS_COLORS[idx % AXIS_COLORS.length]!;
    const lp = pts.filter((p) => typeof p.leakage[id] === 'number').map((p): [number, number] => [x(p.alpha), y(p.leakage[id]!)]);
    if (lp.length === 0) return;
    out.push(`<path d="${polyPath(lp, false)}" fill="none" stroke="${col}" stroke-width="1.4" stroke-opacity="0.85"><title>${esc(`leakage on ${shortAxis(axes, id)} (change from α = 0)`)}</title></path>`);
    if (lp.length === 1) out.push(`<circle cx="${n(lp[0]![0])}" cy="${n(lp[0]![1])}" r="2.5" fill="${col}"/>`);
    labels.push({ y: lp[lp.length - 1]![1], text: shortAxis(axes, id), color: col, cls: 'series-label' });
  });
  const main = pts.map((p): [number, number] => [x(p.alpha), y(steered(p))]);
  out.push(`<path d="${polyPath(main, false)}" fill="none" stroke="${s.color}" stroke-width="3.2" stroke-linejoin="round"/>`);
  pts.forEach((p, i) => out.push(`<circle cx="${n(main[i]![0])}" cy="${n(main[i]![1])}" r="4.5" fill="${s.color}" stroke="#fff" stroke-width="1.5"><title>${esc(`α ${fmt(p.alpha, 2)}: mean score ${fmt(p.meanScore, 3)}${relative ? ` (${fmt(steered(p), 3, { sign: true })} from α = 0)` : ''}, repetition ${pct(p.repetition)}`)}</title></circle>`));
  labels.push({ y: main[main.length - 1]![1], text: W < 500 ? shortAxis(axes, d.axis) : `${shortAxis(axes, d.axis)} (steered)`, color: s.color, cls: 'series-label strong' });
  const ly = declutter(labels.map((l) => l.y), 14, scoreTop + 4, scoreBottom);
  labels.forEach((l, i) => out.push(text(W - m.r + 8, ly[i]! + 4, l.text, `class="tick ${l.cls}" style="fill:${l.color}"`)));
  // --- repetition panel: its own axis, 0 … max(30 %, highest)
  const repTop = scoreBottom + gap;
  const repBottom = repTop + repH;
  const repMax = Math.max(0.3, ...pts.map((p) => p.repetition));
  const [, r1] = niceDomain(0, repMax, 3);
  const ry = linear(0, r1, repBottom, repTop);
  for (const v of ticks(0, r1, 3)) {
    out.push(line(m.l, ry(v), W - m.r, ry(v), 'class="grid"'));
    out.push(text(m.l - 8, ry(v) + 4, pct(v, 0), 'class="tick" text-anchor="end"'));
  }
  out.push(line(m.l, ry(0.3), W - m.r, ry(0.3), 'class="target"'));
  out.push(text(W - m.r + 8, ry(0.3) + 4, 'limit 30 %', 'class="tick target-label"'));
  const midRep = (repTop + repBottom) / 2;
  out.push(text(16, midRep, 'repetition', `class="tick axis-title" text-anchor="middle" transform="rotate(-90 16 ${n(midRep)})"`));
  const rep = pts.map((p): [number, number] => [x(p.alpha), ry(p.repetition)]);
  out.push(`<path d="${polyPath(rep, false)}" fill="none" stroke="#6b7280" stroke-width="2" stroke-dasharray="5 3"><title>3-gram repetition</title></path>`);
  pts.forEach((p, i) => out.push(`<circle cx="${n(rep[i]![0])}" cy="${n(rep[i]![1])}" r="3" fill="#6b7280"><title>${esc(`α ${fmt(p.alpha, 2)}: repetition ${pct(p.repetition)}`)}</title></circle>`));
  for (const v of ticks(a0, a1, 6)) out.push(text(x(v), repBottom + 16, fmt(v, Number.isInteger(v) ? 0 : 1, { sign: true }), 'class="tick" text-anchor="middle"'));
  const unit = d.unit !== undefined ? `α = 1 adds ${fmt(d.unit * 100, 0)} % of the mean ‖h‖` : 'in units of mean ‖h‖';
  out.push(text(W < 500 ? m.l : (m.l + W - m.r) / 2, H - 6, W < 500 ? `α (${unit})` : `α (steering strength; ${unit})`, `class="tick axis-title" text-anchor="${W < 500 ? 'start' : 'middle'}"`));
  out.push('</svg>');
  return out.join('');
}

export function steerSection(all: ModelSeries[], axes: AxisInfo[]): string {
  const docs = all.flatMap((s) => s.steer.map((d) => ({ s, d })));
  if (docs.length === 0) return '';
  const panels = docs
    .map(({ s, d }) => {
      const a = axisInfoFor(axes, d.axis);
      const samples = [...d.alphas]
        .sort((p, q) => p.alpha - q.alpha)
        .filter((p) => p.samples.length > 0)
        .map((p) => `<div class="sample"><b>α ${fmt(p.alpha, 2, { sign: true })}</b> ${esc(p.samples[0]!.length > 280 ? p.samples[0]!.slice(0, 280) + '…' : p.samples[0]!)}</div>`)
        .join('');
      return `<figure class="steer-panel"><figcaption>${all.length > 1 ? swatch(s.color) + esc(s.label) + ' · ' : ''}steering <b>${esc(a.positive)}</b>${a.negative ? ` vs ${esc(a.negative)}` : ''}</figcaption>
<div class="facts-inline">slope <b>${fmt(d.slope, 3, { sign: true })}</b> per α · Spearman ρ <b>${fmt(d.spearman, 2)}</b> · effective α range ${fmt(d.range[0])} … ${fmt(d.range[1])} · layers ${esc(d.layers.join(', '))}</div>
${byWidth((w) => steerSvg(s, d, axes, w), { narrow: 340, medium: 640, wide: 1000 })}
${samples ? `<details><summary>sample responses</summary>${samples}</details>` : ''}</figure>`;
    })
    .join('');
  return section(
    'steer',
    'Steering',
    'How the answers change as the steering strength α grows. Top: the change in mean score from α = 0 on the steered axis (thick line) and on every other axis (leakage, thin lines), on the same scale. Bottom, on its own axis: 3-gram repetition, the share of repeated word triples (dashed); above 30 % the text degenerates.',
    `<div class="steer-grid">${panels}</div>`,
  );
}

// =================================================================== compare

function compareSvg(fps: ModelSeries[], axes: AxisInfo[], W: number): string {
  const ref = fps[0]!;
  const others = fps.slice(1);
  const { compact, x0, x1 } = scoreRowLayout(W);
  const x = linear(-1, 1, x0, x1);
  const labelLine = compact ? 16 : 0;
  const rowH = 34 + labelLine;
  const top = 30;
  const H = top + axes.length * rowH + 10;
  const out: string[] = [svgOpen(W, H, 'Mean score per axis, models side by side')];
  out.push(scoreGrid(x, top - 6, H - 8, 16));
  axes.forEach((a, i) => {
    const y0 = top + i * rowH;
    const cy = y0 + labelLine + (rowH - labelLine) / 2;
    if (i % 2 === 1) out.push(`<rect x="0" y="${n(y0)}" width="${W}" height="${rowH}" class="band-alt"/>`);
    out.push(poleLabels(a, { x0, x1 }, y0, cy, compact));
    const means = fps.map((s) => axisOf(s.fingerprint, a.id)?.mean).filter((v): v is number => typeof v === 'number');
    if (means.length >= 2) out.push(line(x(Math.min(...means)), cy, x(Math.max(...means)), cy, 'class="dumbbell"'));
    fps.forEach((s) => {
      const ax = axisOf(s.fingerprint, a.id);
      if (!ax) return;
      out.push(`<circle cx="${n(x(clamp(ax.mean, -1, 1)))}" cy="${n(cy)}" r="6.5" fill="${s.color}" stroke="#fff" stroke-width="1.5"><title>${esc(`${s.label} · ${axisLabel(a)}: ${fmt(ax.mean)} ± ${fmt(ax.std)}`)}</title></circle>`);
    });
    const ra = axisOf(ref.fingerprint, a.id);
    const deltas = others.map((s) => {
      const ob = axisOf(s.fingerprint, a.id);
      return ra && ob ? ob.mean - ra.mean : NaN;
    });
    out.push(`<text x="${compact ? W / 2 : W - 8}" y="${n(compact ? y0 + 14 : cy + 4)}" text-anchor="${compact ? 'middle' : 'end'}" class="stat">${deltas.map((dl, j) => `<tspan class="delta-text">${others.length > 1 ? `${esc(others[j]!.label)} ` : ''}Δ ${fmt(dl, 2, { sign: true })}</tspan>`).join('<tspan>   </tspan>')}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

export function compareSection(fps: ModelSeries[], axes: AxisInfo[]): string {
  if (fps.length < 2) return '';
  const ref = fps[0]!;
  const others = fps.slice(1);
  const head = `<tr><th>Axis</th>${fps.map((s) => `<th class="num">${swatch(s.color)}${esc(s.label)}</th>`).join('')}${others.map((s) => `<th class="num">Δ ${esc(s.label)} − ${esc(ref.label)}</th><th class="num opt">Δ / pooled std</th>`).join('')}</tr>`;
  const rows = axes
    .map((a) => {
      const ra = axisOf(ref.fingerprint, a.id);
      const cells = fps.map((s) => {
        const ax = axisOf(s.fingerprint, a.id);
        return `<td class="num">${ax ? `${fmt(ax.mean, 2, { sign: true })} <span class="muted">± ${fmt(ax.std)}</span>` : '\u2014'}</td>`;
      });
      const deltas = others.map((s) => {
        const ob = axisOf(s.fingerprint, a.id);
        if (!ra || !ob) return '<td class="num">\u2014</td><td class="num opt">\u2014</td>';
        const dl = ob.mean - ra.mean;
        const pooled = Math.sqrt((ra.std ** 2 + ob.std ** 2) / 2);
        const es = pooled > 1e-9 ? dl / pooled : NaN;
        const big = Math.abs(dl) >= 0.2;
        return `<td class="num"><span class="delta${big ? ' big' : ''}">${big ? (dl > 0 ? '▲ ' : '▼ ') : ''}${fmt(dl, 2, { sign: true })}</span></td><td class="num muted opt">${fmt(es, 1, { sign: true })}</td>`;
      });
      return `<tr><td><span class="pos">${esc(a.positive)}</span> <span class="muted">vs ${esc(a.negative)}</span></td>${cells.join('')}${deltas.join('')}</tr>`;
    })
    .join('');
  const meanAbs = others.map((s) => {
    const ds = axes
      .map((a) => {
        const p = axisOf(ref.fingerprint, a.id);
        const q = axisOf(s.fingerprint, a.id);
        return p && q ? Math.abs(q.mean - p.mean) : NaN;
      })
      .filter(Number.isFinite);
    return `<li>${swatch(s.color)}${esc(s.label)} vs ${esc(ref.label)}: mean |Δ| ${fmt(mean(ds), 3)} over ${ds.length} axes</li>`;
  });
  return section(
    'compare',
    'Comparison',
    `Mean baseline score per axis for each model; Δ is relative to <b>${esc(ref.label)}</b> (the first fingerprint). |Δ| ≥ 0.2 is marked bold with ▲ (higher) or ▼ (lower); Δ is written in black, never in a model's colour.`,
    `<figure>${byWidth((w) => compareSvg(fps, axes, w), { narrow: 340, medium: 640, wide: 1100 })}${legend(fps)}</figure><div class="table-wrap"><table class="data">${head}${rows}</table></div><ul class="facts">${meanAbs.join('')}</ul>`,
  );
}
