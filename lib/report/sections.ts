/**
 * The report's sections. Each returns one `<section data-section="…">` (or '' when it has nothing to
 * show) holding hand-written SVG charts and HTML tables. Inputs are protocol documents only.
 */
import type { AxisSummary, DeadZone, FingerprintDoc, StabilityDoc, SteerDoc } from '../protocols/types.js';
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

function note(html: string): string {
  return `<p class="note">${html}</p>`;
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
    if (labelY !== null) out.push(text(x(v), labelY, v === 0 ? '0' : fmt(v, 1, { sign: true }), 'class="tick" text-anchor="middle"'));
  }
  return out.join('');
}

// =================================================================== profile (radar)

function radarSvg(fps: ModelSeries[], axes: AxisInfo[]): string {
  const W = 600;
  const H = 520;
  const cx = W / 2;
  const cy = H / 2 + 4;
  const R = 185;
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
  for (const v of [-0.5, 0, 0.5, 1]) {
    const [x, y] = pt(0, v);
    out.push(text(x + 5, y + 4, v === 0 ? '0' : fmt(v, 1, { sign: true }), 'class="tick ring-label halo"'));
  }
  out.push(text(cx + 5, cy + 4, '\u22121', 'class="tick ring-label halo"'));
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
    out.push(`<text x="${n(x)}" y="${n(y)}" text-anchor="${anchor}" class="axis-label"><tspan class="pole-pos">${esc(a.positive)}</tspan><tspan x="${n(x)}" dy="15" class="pole-neg">vs ${esc(a.negative)}</tspan></text>`);
  });
  out.push('</svg>');
  return out.join('');
}

export function profileSection(fps: ModelSeries[], axes: AxisInfo[]): string {
  if (fps.length === 0 || axes.length < 3) return '';
  const head = `<tr><th>Axis</th>${fps.map((s) => `<th class="num">${fps.length > 1 ? swatch(s.color) : ''}${esc(fps.length > 1 ? s.label : 'mean ± std')}</th>`).join('')}${fps.length === 1 ? '<th class="num">min … max</th>' : ''}</tr>`;
  const rows = axes
    .map((a) => {
      const cells = fps
        .map((s) => {
          const ax = axisOf(s.fingerprint, a.id);
          return `<td class="num">${ax ? `<b>${fmt(ax.mean, 2, { sign: true })}</b> <span class="muted">± ${fmt(ax.std)}</span>` : '\u2014'}</td>`;
        })
        .join('');
      const ax0 = axisOf(fps[0]!.fingerprint, a.id);
      const mm = fps.length === 1 ? `<td class="num muted">${ax0 ? `${fmt(ax0.min)} … ${fmt(ax0.max)}` : '\u2014'}</td>` : '';
      return `<tr><td><span class="pos">${esc(a.positive)}</span> <span class="muted">vs ${esc(a.negative)}</span></td>${cells}${mm}</tr>`;
    })
    .join('');
  const body = `<div class="split">
<figure class="radar">${radarSvg(fps, axes)}${legend(fps)}</figure>
<div class="side"><table class="data">${head}${rows}</table>
<p class="fineprint">Scores run from −1 (negative pole, centre of the radar) to +1 (positive pole, outer ring); the dashed ring is 0. The shaded band spans mean ± 1 standard deviation over the baseline questions.</p></div>
</div>`;
  return section('profile', 'Profile', 'Mean baseline score per axis, with the spread over questions.', body);
}

// =================================================================== strips

export function stripsSection(fps: ModelSeries[], axes: AxisInfo[]): string {
  if (fps.length === 0 || axes.length === 0) return '';
  const W = 1100;
  const x0 = 170;
  const x1 = 860;
  const x = linear(-1, 1, x0, x1);
  const sub = fps.length > 1 ? 26 : 34;
  const pad = 8;
  const top = 28;
  const rowH = fps.length * sub + 2 * pad;
  const H = top + axes.length * rowH + 8;
  const out: string[] = [svgOpen(W, H, 'Per-question scores per axis')];
  out.push(scoreGrid(x, top - 4, H - 8, 16));
  const questionsBy = new Map(fps.map((s) => [s, baselineQuestions(s.fingerprint!)]));
  axes.forEach((a, ai) => {
    const y0 = top + ai * rowH;
    if (ai % 2 === 1) out.push(`<rect x="0" y="${n(y0)}" width="${W}" height="${n(rowH)}" class="band-alt"/>`);
    const mid = y0 + rowH / 2;
    out.push(text(x0 - 14, mid + 4, a.negative, 'class="pole-neg-strip" text-anchor="end"'));
    out.push(text(x1 + 14, mid + 4, a.positive, 'class="pole-pos-strip" text-anchor="start"'));
    fps.forEach((s, si) => {
      const ax = axisOf(s.fingerprint, a.id);
      if (!ax) return;
      const cyMid = y0 + pad + si * sub + sub / 2;
      const qs = questionsBy.get(s)!;
      out.push(`<rect x="${n(x(clamp(ax.mean - ax.std, -1, 1)))}" y="${n(cyMid - sub / 2 + 3)}" width="${n(Math.max(1, x(clamp(ax.mean + ax.std, -1, 1)) - x(clamp(ax.mean - ax.std, -1, 1))))}" height="${n(sub - 6)}" rx="3" fill="${s.color}" fill-opacity="0.12"/>`);
      ax.scores.forEach((v, qi) => {
        const cy = cyMid + jitter(qi, ai * 31 + si) * (sub / 2 - 6);
        out.push(`<circle cx="${n(x(clamp(v, -1, 1)))}" cy="${n(cy)}" r="3.6" fill="${s.color}" fill-opacity="0.62" stroke="#fff" stroke-width="0.6"><title>${esc(`${qs[qi] || `question ${qi + 1}`} · ${fmt(v)}`)}</title></circle>`);
      });
      out.push(line(x(clamp(ax.mean, -1, 1)), cyMid - sub / 2 + 2, x(clamp(ax.mean, -1, 1)), cyMid + sub / 2 - 2, `stroke="${s.color}" stroke-width="3" stroke-linecap="round"`));
      out.push(text(W - 8, cyMid + 4, `${fmt(ax.mean, 2, { sign: true })} ± ${fmt(ax.std)}`, `class="stat" text-anchor="end" style="fill:${s.color}"`));
    });
  });
  out.push('</svg>');
  return section(
    'strips',
    'Per-question scores',
    'One dot per baseline question (vertical jitter only separates dots). The thick tick is the mean, the shaded box mean ± 1 std.',
    `<figure>${out.join('')}${legend(fps)}</figure>`,
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
          const A = clamp(2 * (1 - ax.auc), 0, 1);
          const D = 1 - Math.min(ax.dprime / 3, 1);
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
    `<table class="data compact">${head1}${rows}</table>
<p class="fineprint">AUC: share of (positive, negative) response pairs ordered correctly (0.5 = chance, 1 = perfect); the bar runs from 0.5 to 1. d′: distance between the pole means in pooled standard deviations (bar to 4). Bar colour follows the dead-zone terms A = clip(2 (1 − AUC), 0, 1) and D = 1 − min(d′/3, 1): green is good, red is poor.</p>`,
  );
}

// =================================================================== dead zones

const DZ_COLUMNS: Array<{ key: string; title: string; sub: string }> = [
  { key: 'accuracy', title: 'accuracy', sub: 'A' },
  { key: 'separation', title: 'separation', sub: 'D' },
  { key: 'stability', title: 'stability', sub: 'S' },
  { key: 'snr', title: 'baseline SNR', sub: 'N' },
  { key: 'severity', title: 'severity', sub: 'weighted' },
  { key: 'equalWeight', title: 'equal weight', sub: 'mean of terms' },
];

function heatmapSvg(rows: DeadZone[], axes: AxisInfo[], uid: string): string {
  const labelW = 200;
  const cw = 100;
  const ch = 32;
  const top = 48;
  const levelX = labelW + DZ_COLUMNS.length * cw + 18;
  const W = levelX + 210;
  const legendH = 64;
  const H = top + rows.length * ch + legendH;
  const out: string[] = [svgOpen(W, H, 'Dead-zone severity heatmap')];
  out.push(`<defs><pattern id="hatch-${uid}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3f4f6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#d1d5db" stroke-width="2"/></pattern>
<linearGradient id="grad-${uid}" x1="0" x2="1" y1="0" y2="0">${SEVERITY_STOPS.map((c, i) => `<stop offset="${n((i / (SEVERITY_STOPS.length - 1)) * 100)}%" stop-color="${c}"/>`).join('')}</linearGradient></defs>`);
  DZ_COLUMNS.forEach((c, j) => {
    const xm = labelW + j * cw + cw / 2;
    out.push(text(xm, 20, c.title, 'class="col-head" text-anchor="middle"'));
    out.push(text(xm, 36, c.sub, 'class="col-sub" text-anchor="middle"'));
  });
  out.push(line(labelW + 4 * cw, top - 6, labelW + 4 * cw, top + rows.length * ch + 2, 'class="divider"'));
  out.push(text(levelX, 20, 'level', 'class="col-head"'));
  out.push(text(levelX, 36, 'kind', 'class="col-sub"'));
  rows.forEach((dz, i) => {
    const y = top + i * ch;
    const a = axisInfoFor(axes, dz.axis);
    out.push(`<text x="${labelW - 12}" y="${n(y + ch / 2 + 4)}" text-anchor="end" class="row-label"><tspan class="pos">${esc(a.positive)}</tspan>${a.negative ? `<tspan class="muted"> vs ${esc(a.negative)}</tspan>` : ''}</text>`);
    const values: Array<number | null> = [dz.terms.accuracy, dz.terms.separation, dz.terms.stability, dz.terms.snr, dz.severity, dz.equalWeight];
    values.forEach((v, j) => {
      const cx = labelW + j * cw;
      const partialCell = dz.partial && j >= 4;
      if (v === null) {
        out.push(`<rect x="${cx + 1}" y="${y + 1}" width="${cw - 2}" height="${ch - 2}" rx="3" fill="url(#hatch-${uid})"><title>${esc(`${a.positive}/${a.negative} · stability unknown (no stability run)`)}</title></rect>`);
        out.push(text(cx + cw / 2, y + ch / 2 + 4, 'n/a', 'class="cell-na" text-anchor="middle"'));
        return;
      }
      const bg = severityColor(v);
      out.push(`<rect x="${cx + 1}" y="${y + 1}" width="${cw - 2}" height="${ch - 2}" rx="3" fill="${bg}"${partialCell ? ' stroke="#6b7280" stroke-dasharray="3 2" stroke-width="1.2"' : ''}><title>${esc(`${a.positive}/${a.negative} · ${DZ_COLUMNS[j]!.title}: ${fmt(v, 3)}${partialCell ? ' (partial)' : ''}`)}</title></rect>`);
      out.push(text(cx + cw / 2, y + ch / 2 + 4, `${fmt(v)}${partialCell ? '*' : ''}`, `class="cell-val${j === 4 ? ' strong' : ''}" text-anchor="middle" style="fill:${textOn(bg)}"`));
    });
    const lv = dz.level;
    out.push(`<rect x="${levelX}" y="${y + 7}" width="62" height="${ch - 14}" rx="9" class="chip chip-${lv}"/>`);
    out.push(text(levelX + 31, y + ch / 2 + 4, lv, `class="chip-text chip-text-${lv}" text-anchor="middle"`));
    if (dz.kind.length) out.push(text(levelX + 72, y + ch / 2 + 4, dz.kind.join(', '), 'class="kind"'));
  });
  // colour scale legend
  const ly = top + rows.length * ch + 22;
  const lx = labelW;
  const lw = 4 * cw;
  out.push(`<rect x="${lx}" y="${ly}" width="${lw}" height="10" rx="2" fill="url(#grad-${uid})" stroke="#d1d5db" stroke-width="0.5"/>`);
  for (const t of [0, 0.15, 0.3, 0.5, 1]) {
    const tx = lx + t * lw;
    out.push(line(tx, ly - 2, tx, ly + 14, `class="${t === 0.15 || t === 0.3 ? 'thresh' : 'tickline'}"`));
    out.push(text(tx, ly + 26, fmt(t, t === 0.15 ? 2 : t === 0 || t === 1 ? 0 : 1), 'class="tick" text-anchor="middle"'));
  }
  out.push(text(lx + 0.075 * lw, ly - 5, 'healthy', 'class="tick" text-anchor="middle"'));
  out.push(text(lx + 0.225 * lw, ly - 5, 'weak', 'class="tick" text-anchor="middle"'));
  out.push(text(lx + 0.4 * lw, ly - 5, 'dead →', 'class="tick" text-anchor="middle"'));
  out.push(text(lx - 12, ly + 9, '0 = fine, 1 = worst', 'class="tick" text-anchor="end"'));
  if (rows.some((r) => r.partial)) {
    out.push(text(labelW + 4 * cw + 8, ly + 9, '* partial: no stability run, S unknown;', 'class="tick"'));
    out.push(text(labelW + 4 * cw + 8, ly + 25, 'A, D, N reweighted 0.3/0.8, 0.3/0.8, 0.2/0.8', 'class="tick"'));
  }
  out.push('</svg>');
  return out.join('');
}

export function deadZonesSection(all: ModelSeries[], axes: AxisInfo[]): string {
  const parts: string[] = [];
  for (const [index, s] of all.entries()) {
    const dz = deadZonesFor(s);
    if (!dz) continue;
    const counts = { dead: 0, weak: 0, healthy: 0 };
    for (const r of dz.rows) counts[r.level]++;
    const head = `<h3>${all.length > 1 ? swatch(s.color) : ''}${esc(s.label)} <span class="muted">· ${counts.dead} dead, ${counts.weak} weak, ${counts.healthy} healthy${dz.source === 'stability' ? ' · with stability run' : dz.rows.some((r) => r.partial) ? ' · partial (no stability run)' : ''}</span></h3>`;
    parts.push(`<figure>${head}${heatmapSvg(dz.rows, axes, `dz${index}`)}</figure>`);
  }
  if (parts.length === 0) return '';
  return section(
    'deadzones',
    'Dead zones',
    'Where the model does not follow style instructions. Each term maps to [0, 1] where 1 is worst; severity &lt; 0.15 is healthy, &lt; 0.30 weak, otherwise dead. Kinds: <b>hard</b> = poles barely separate, <b>soft</b> = direction moves between calibration sets, <b>asymmetric</b> = one pole followed far less often.',
    parts.join(''),
  );
}

// =================================================================== ICC

function iccChart(stab: Array<{ s: ModelSeries; d: StabilityDoc }>, axes: AxisInfo[]): string {
  const ids: string[] = [];
  for (const { d } of stab) for (const t of d.testRetest) if (!ids.includes(t.axis)) ids.push(t.axis);
  const lo = Math.min(0, ...stab.flatMap(({ d }) => d.testRetest.map((t) => Math.min(t.ci[0], t.icc21))));
  const dom0 = Math.floor(lo * 4) / 4;
  const W = 960;
  const x0 = 210;
  const x1 = W - 30;
  const x = linear(dom0, 1, x0, x1);
  const sub = stab.length > 1 ? 18 : 26;
  const rowH = stab.length * sub + 10;
  const top = 40;
  const H = top + ids.length * rowH + 40;
  const out: string[] = [svgOpen(W, H, 'ICC(2,1) per axis with 95% confidence interval')];
  const bands: Array<[number, number, string, string]> = [
    [dom0, 0.5, 'poor', '#fef2f2'],
    [0.5, 0.75, 'moderate', '#fffbeb'],
    [0.75, 0.9, 'good', '#f0fdf4'],
    [0.9, 1, 'excellent', '#dcfce7'],
  ];
  for (const [a, b, label, fill] of bands) {
    if (b <= dom0) continue;
    const xa = x(Math.max(a, dom0));
    out.push(`<rect x="${n(xa)}" y="${top - 6}" width="${n(x(b) - xa)}" height="${n(ids.length * rowH + 6)}" fill="${fill}"/>`);
    out.push(text((xa + x(b)) / 2, top - 14, label, 'class="tick band-label" text-anchor="middle"'));
  }
  for (const v of ticks(dom0, 1, 8)) {
    out.push(line(x(v), top - 6, x(v), top + ids.length * rowH, 'class="grid"'));
    out.push(text(x(v), top + ids.length * rowH + 16, fmt(v, 1), 'class="tick" text-anchor="middle"'));
  }
  out.push(line(x(0.75), top - 6, x(0.75), top + ids.length * rowH + 4, 'class="target"'));
  out.push(text(x(0.75), top + ids.length * rowH + 32, 'target 0.75', 'class="tick target-label" text-anchor="middle"'));
  out.push(text(x((dom0 + 0.5) / 2), top + ids.length * rowH + 32, 'ICC(2,1) (dot) with 95 % CI, ICC(2,k) (diamond)', 'class="tick axis-title" text-anchor="middle"'));
  ids.forEach((id, i) => {
    const y0 = top + i * rowH + 5;
    const a = axisInfoFor(axes, id);
    out.push(`<text x="${x0 - 12}" y="${n(y0 + (stab.length * sub) / 2 + 4)}" text-anchor="end" class="row-label"><tspan class="pos">${esc(a.positive)}</tspan>${a.negative ? `<tspan class="muted"> vs ${esc(a.negative)}</tspan>` : ''}</text>`);
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

function sampleSizeChart(d: StabilityDoc, axes: AxisInfo[]): string {
  const ns = d.sampleSize.n;
  const entries = Object.entries(d.sampleSize.perAxis);
  if (ns.length < 2 || entries.length === 0) return '';
  const W = 500;
  const H = 300;
  const m = { l: 52, r: 130, t: 18, b: 40 };
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
  out.push(text((m.l + W - m.r) / 2, H - 4, 'calibration questions per pole (n)', 'class="tick axis-title" text-anchor="middle"'));
  out.push(text(14, (m.t + H - m.b) / 2, 'median cos(vₙ, v_all)', `class="tick axis-title" text-anchor="middle" transform="rotate(-90 14 ${n((m.t + H - m.b) / 2)})"`));
  out.push(line(m.l, y(0.9), W - m.r, y(0.9), 'class="target"'));
  if (d.sampleSize.stabilisesAt !== null) {
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
          return `<tr><td><span class="pos">${esc(a.positive)}</span> <span class="muted">vs ${esc(a.negative)}</span></td><td class="num"><b class="${good ? 'ok' : 'warn'}">${fmt(t.icc21, 3)}</b></td><td class="num muted">[${fmt(t.ci[0], 2)}, ${fmt(t.ci[1], 2)}]</td><td class="num">${fmt(t.icc2k, 3)}</td><td class="num">${cs ? fmt(cs.stabilityCosine, 3) : '\u2014'}</td><td class="num muted">${cs ? `${fmt(cs.cosines.AB)} / ${fmt(cs.cosines.AC)} / ${fmt(cs.cosines.BC)}` : '\u2014'}</td><td class="num">${cs ? fmt(cs.icc2k, 3) : '\u2014'}</td></tr>`;
        })
        .join('');
      const stable = d.sampleSize.stabilisesAt === null ? 'does not reach median cosine 0.9' : `stabilise at n = ${d.sampleSize.stabilisesAt}`;
      return `<h3>${stab.length > 1 ? swatch(s.color) : ''}${esc(s.label)} <span class="muted">· axes ${stable}</span></h3>
<table class="data"><tr><th>Axis</th><th class="num">ICC(2,1)</th><th class="num">95 % CI</th><th class="num">ICC(2,k)</th><th class="num">stability cos</th><th class="num">cos AB / AC / BC</th><th class="num">calib. ICC(2,k)</th></tr>${rows}</table>`;
    })
    .join('');
  const curves = stab.map(({ s, d }) => {
    const c = sampleSizeChart(d, axes);
    return c ? `<figure><figcaption>${esc(s.label)} · sample-size curve</figcaption>${c}</figure>` : '';
  });
  return section(
    'icc',
    'Reliability (ICC)',
    'Test-retest ICC(2,1) over repeated baseline runs with 95 % bootstrap CI (dot and whiskers; hollow diamond = ICC(2,k)), and stability of the axis directions across calibration sets A, B, C.',
    `<figure>${iccChart(stab, axes)}${legend(stab.map(({ s }) => s).filter((s, i, arr) => arr.indexOf(s) === i))}</figure>
${tables}
<div class="grid2">${curves.join('')}</div>`,
  );
}

// =================================================================== PCA

function screeSvg(fps: ModelSeries[]): string {
  const withS = fps.filter((s) => s.fingerprint!.structure);
  const k = Math.max(...withS.map((s) => s.fingerprint!.structure!.eigenvalues.length));
  const W = 520;
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

function correlationSvg(s: ModelSeries, axes: AxisInfo[]): string {
  const st = s.fingerprint!.structure!;
  const k = st.axes.length;
  const cell = 44;
  const left = 112;
  const top = 84;
  const W = left + k * cell + 8;
  const H = top + k * cell + 8;
  const out: string[] = [svgOpen(W, H, `Cross-axis correlation, ${s.label}`)];
  st.axes.forEach((id, i) => {
    const label = shortAxis(axes, id);
    out.push(text(left - 8, top + i * cell + cell / 2 + 4, label, 'class="tick row-label-sm" text-anchor="end"'));
    const cx = left + i * cell + cell / 2;
    out.push(text(cx, top - 8, label, `class="tick row-label-sm" transform="rotate(-45 ${n(cx)} ${top - 8})"`));
  });
  st.correlation.forEach((row, i) =>
    row.forEach((r, j) => {
      const bg = i === j ? '#e5e7eb' : divergingColor(r);
      out.push(`<rect x="${left + j * cell + 1}" y="${top + i * cell + 1}" width="${cell - 2}" height="${cell - 2}" rx="3" fill="${bg}"><title>${esc(`${shortAxis(axes, st.axes[i]!)} × ${shortAxis(axes, st.axes[j]!)}: r = ${fmt(r, 3)}`)}</title></rect>`);
      if (i !== j) out.push(text(left + j * cell + cell / 2, top + i * cell + cell / 2 + 4, fmt(r, 2), `class="cell-sm" text-anchor="middle" style="fill:${textOn(bg)}"`));
    }),
  );
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
  const corr = withS.map((s) => `<figure><figcaption>${withS.length > 1 ? swatch(s.color) : ''}cross-axis Pearson r${withS.length > 1 ? ' · ' + esc(s.label) : ''}</figcaption>${correlationSvg(s, axes)}</figure>`).join('');
  return section(
    'pca',
    'Structure (PCA)',
    'Eigenvalues of the covariance of the baseline scores (questions × axes). Effective dimensionality is the participation ratio (Σλ)²/Σλ²: 1 means all axes move together, the number of axes means they are independent.',
    withS.length === 1
      ? `<div class="split"><figure>${screeSvg(withS)}</figure><div class="side">${stats}${corr}</div></div>`
      : `<div class="split"><figure>${screeSvg(withS)}${legend(withS)}</figure><div class="side">${stats}</div></div>
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
  const cols = 4;
  const pw = 270;
  const ph = 210;
  const W = cols * pw + 10;
  const rows = Math.ceil(axes.length / cols);
  const H = rows * ph + 10;
  const m = { l: 44, r: 14, t: 40, b: 38 };
  const out: string[] = [svgOpen(W, H, 'Score versus response length per axis')];
  axes.forEach((a, i) => {
    const ox = (i % cols) * pw + 6;
    const oy = Math.floor(i / cols) * ph + 4;
    const x = linear(t0, t1, ox + m.l, ox + pw - m.r);
    const y = linear(-1, 1, oy + ph - m.b, oy + m.t);
    out.push(`<rect x="${n(ox + m.l)}" y="${n(oy + m.t)}" width="${n(pw - m.l - m.r)}" height="${n(ph - m.t - m.b)}" class="panel"/>`);
    out.push(text(ox + m.l, oy + 14, `${a.positive} / ${a.negative}`, 'class="panel-title"'));
    for (const v of [-1, 0, 1]) {
      out.push(line(ox + m.l, y(v), ox + pw - m.r, y(v), `class="${v === 0 ? 'grid-zero' : 'grid'}"`));
      out.push(text(ox + m.l - 6, y(v) + 4, v === 0 ? '0' : fmt(v, 0, { sign: true }), 'class="tick" text-anchor="end"'));
    }
    for (const v of ticks(t0, t1, 4)) {
      out.push(text(x(v), oy + ph - m.b + 15, String(v), 'class="tick" text-anchor="middle"'));
    }
    if (i % cols === 0 || i === axes.length - 1) out.push(text(ox + pw - m.r, oy + ph - 6, 'tokens →', 'class="tick axis-title" text-anchor="end"'));
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
      const docR = s.fingerprint!.structure?.lengthConfound.perAxis[a.id];
      const r = typeof docR === 'number' ? docR : pearson(tk, ax.scores);
      const confounded = Number.isFinite(r) && Math.abs(r) >= 0.3;
      const fill = usable.length > 1 ? s.color : confounded ? '#b91c1c' : '#374151';
      rLabels.push(`<tspan fill="${fill}" font-weight="${confounded ? 700 : 500}">r ${Number.isFinite(r) ? fmt(r, 2, { sign: true }) : 'n/a'}${confounded ? ' ⚠' : ''}<title>${esc(`${s.label}: Pearson r(score, tokens)${confounded ? ', |r| ≥ 0.3: length confound' : ''}`)}</title></tspan>`);
    });
    out.push(`<text x="${n(ox + m.l)}" y="${n(oy + 30)}" class="panel-r">${rLabels.join('<tspan>  </tspan>')}</text>`);
  });
  out.push('</svg>');
  const summary = usable
    .map(({ s }) => {
      const lc = s.fingerprint!.structure?.lengthConfound;
      if (!lc) return '';
      const drop = lc.meanAbsCrossRBefore > 0 ? (lc.meanAbsCrossRBefore - lc.meanAbsCrossRAfter) / lc.meanAbsCrossRBefore : NaN;
      return `<li>${usable.length > 1 ? swatch(s.color) + esc(s.label) + ': ' : ''}mean |cross-axis r| ${fmt(lc.meanAbsCrossRBefore, 3)} → ${fmt(lc.meanAbsCrossRAfter, 3)} after regressing out length (${Number.isFinite(drop) ? (drop >= 0 ? '−' : '+') + pct(Math.abs(drop)) : '\u2014'})</li>`;
    })
    .filter(Boolean)
    .join('');
  const missing = data.filter((d) => !d.tokens).map((d) => esc(d.s.label));
  return section(
    'length',
    'Length confound',
    'Score against response length (tokens) per baseline question, with a least-squares line. |r| &lt; 0.3 counts as clean; ⚠ marks axes where length explains the score.',
    `<figure>${out.join('')}${legend(usable.map((u) => u.s))}</figure>${summary ? `<ul class="facts">${summary}</ul>` : ''}${missing.length ? note(`No aligned token counts for ${missing.join(', ')}.`) : ''}`,
  );
}

// =================================================================== steering

function steerSvg(s: ModelSeries, d: SteerDoc, axes: AxisInfo[]): string {
  const W = 540;
  const H = 320;
  const m = { l: 48, r: 118, t: 16, b: 42 };
  const pts = [...d.alphas].sort((a, b) => a.alpha - b.alpha);
  if (pts.length === 0) return '';
  const amin = pts[0]!.alpha;
  const amax = pts[pts.length - 1]!.alpha;
  const [a0, a1] = amin === amax ? [amin - 1, amax + 1] : [amin, amax];
  const x = linear(a0, a1, m.l, W - m.r);
  const y = linear(-1, 1, H - m.b, m.t);
  const out: string[] = [svgOpen(W, H, `Steering dose-response for ${d.axis}`)];
  for (const v of [-1, -0.5, 0, 0.5, 1]) {
    out.push(line(m.l, y(v), W - m.r, y(v), `class="${v === 0 ? 'grid-zero' : 'grid'}"`));
    out.push(text(m.l - 8, y(v) + 4, v === 0 ? '0' : fmt(v, 1, { sign: true }), 'class="tick" text-anchor="end"'));
  }
  for (const v of ticks(a0, a1, 6)) out.push(text(x(v), H - m.b + 16, fmt(v, Number.isInteger(v) ? 0 : 1, { sign: true }), 'class="tick" text-anchor="middle"'));
  const unit = d.unit !== undefined ? `α = 1 adds ${fmt(d.unit * 100, 0)} % of the mean ‖h‖` : 'in units of mean ‖h‖';
  out.push(text((m.l + W - m.r) / 2, H - 6, `α (steering strength; ${unit})`, 'class="tick axis-title" text-anchor="middle"'));
  const labels: Array<{ y: number; text: string; color: string; cls: string }> = [];
  const leakIds = Array.from(new Set(pts.flatMap((p) => Object.keys(p.leakage))));
  leakIds.forEach((id) => {
    const idx = Math.max(0, axes.findIndex((a) => a.id === id));
    const col = AXIS_COLORS[idx % AXIS_COLORS.length]!;
    const lp = pts.filter((p) => typeof p.leakage[id] === 'number').map((p): [number, number] => [x(p.alpha), y(clamp(p.leakage[id]!, -1, 1))]);
    if (lp.length === 0) return;
    out.push(`<path d="${polyPath(lp, false)}" fill="none" stroke="${col}" stroke-width="1.4" stroke-opacity="0.85"><title>${esc(`leakage on ${shortAxis(axes, id)}`)}</title></path>`);
    if (lp.length === 1) out.push(`<circle cx="${n(lp[0]![0])}" cy="${n(lp[0]![1])}" r="2.5" fill="${col}"/>`);
    labels.push({ y: lp[lp.length - 1]![1], text: shortAxis(axes, id), color: col, cls: 'series-label' });
  });
  const rep = pts.map((p): [number, number] => [x(p.alpha), y(clamp(p.repetition, -1, 1))]);
  out.push(`<path d="${polyPath(rep, false)}" fill="none" stroke="#6b7280" stroke-width="1.6" stroke-dasharray="5 3"><title>3-gram repetition</title></path>`);
  if (rep.length === 1) out.push(`<circle cx="${n(rep[0]![0])}" cy="${n(rep[0]![1])}" r="2.5" fill="#6b7280"/>`);
  labels.push({ y: rep[rep.length - 1]![1], text: 'repetition', color: '#6b7280', cls: 'series-label' });
  const main = pts.map((p): [number, number] => [x(p.alpha), y(clamp(p.meanScore, -1, 1))]);
  out.push(`<path d="${polyPath(main, false)}" fill="none" stroke="${s.color}" stroke-width="3.2" stroke-linejoin="round"/>`);
  pts.forEach((p, i) => out.push(`<circle cx="${n(main[i]![0])}" cy="${n(main[i]![1])}" r="4.5" fill="${s.color}" stroke="#fff" stroke-width="1.5"><title>${esc(`α ${fmt(p.alpha, 2)}: mean score ${fmt(p.meanScore, 3)}, repetition ${fmt(p.repetition, 3)}`)}</title></circle>`));
  labels.push({ y: main[main.length - 1]![1], text: `${shortAxis(axes, d.axis)} (steered)`, color: s.color, cls: 'series-label strong' });
  const ly = declutter(labels.map((l) => l.y), 13, m.t, H - m.b);
  labels.forEach((l, i) => out.push(text(W - m.r + 8, ly[i]! + 4, l.text, `class="tick ${l.cls}" style="fill:${l.color}"`)));
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
${steerSvg(s, d, axes)}
${samples ? `<details><summary>sample responses</summary>${samples}</details>` : ''}</figure>`;
    })
    .join('');
  return section(
    'steer',
    'Steering',
    'Mean score on the steered axis as the steering strength α grows (thick line), with the shift of the other axes (leakage, thin lines) and 3-gram repetition (dashed).',
    `<div class="grid2">${panels}</div>`,
  );
}

// =================================================================== compare

export function compareSection(fps: ModelSeries[], axes: AxisInfo[]): string {
  if (fps.length < 2) return '';
  const ref = fps[0]!;
  const others = fps.slice(1);
  const W = 1100;
  const x0 = 170;
  const x1 = 860;
  const x = linear(-1, 1, x0, x1);
  const rowH = 34;
  const top = 30;
  const H = top + axes.length * rowH + 10;
  const out: string[] = [svgOpen(W, H, 'Mean score per axis, models side by side')];
  out.push(scoreGrid(x, top - 6, H - 8, 16));
  axes.forEach((a, i) => {
    const cy = top + i * rowH + rowH / 2;
    if (i % 2 === 1) out.push(`<rect x="0" y="${n(cy - rowH / 2)}" width="${W}" height="${rowH}" class="band-alt"/>`);
    out.push(text(x0 - 14, cy + 4, a.negative, 'class="pole-neg-strip" text-anchor="end"'));
    out.push(text(x1 + 14, cy + 4, a.positive, 'class="pole-pos-strip" text-anchor="start"'));
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
    out.push(`<text x="${W - 8}" y="${n(cy + 4)}" text-anchor="end" class="stat">${deltas.map((dl, j) => `<tspan fill="${others[j]!.color}">Δ ${fmt(dl, 2, { sign: true })}</tspan>`).join('<tspan>   </tspan>')}</text>`);
  });
  out.push('</svg>');
  const head = `<tr><th>Axis</th>${fps.map((s) => `<th class="num">${swatch(s.color)}${esc(s.label)}</th>`).join('')}${others.map((s) => `<th class="num">Δ ${esc(s.label)} − ${esc(ref.label)}</th><th class="num">Δ / pooled std</th>`).join('')}</tr>`;
  const rows = axes
    .map((a) => {
      const ra = axisOf(ref.fingerprint, a.id);
      const cells = fps.map((s) => {
        const ax = axisOf(s.fingerprint, a.id);
        return `<td class="num">${ax ? `${fmt(ax.mean, 2, { sign: true })} <span class="muted">± ${fmt(ax.std)}</span>` : '\u2014'}</td>`;
      });
      const deltas = others.map((s) => {
        const ob = axisOf(s.fingerprint, a.id);
        if (!ra || !ob) return '<td class="num">\u2014</td><td class="num">\u2014</td>';
        const dl = ob.mean - ra.mean;
        const pooled = Math.sqrt((ra.std ** 2 + ob.std ** 2) / 2);
        const es = pooled > 1e-9 ? dl / pooled : NaN;
        const big = Math.abs(dl) >= 0.2;
        return `<td class="num"><span class="delta ${big ? (dl > 0 ? 'up' : 'down') : ''}">${fmt(dl, 2, { sign: true })}</span></td><td class="num muted">${fmt(es, 1, { sign: true })}</td>`;
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
    `Mean baseline score per axis for each model; Δ is relative to <b>${esc(ref.label)}</b> (the first fingerprint). |Δ| ≥ 0.2 is highlighted.`,
    `<figure>${out.join('')}${legend(fps)}</figure><table class="data">${head}${rows}</table><ul class="facts">${meanAbs.join('')}</ul>`,
  );
}
