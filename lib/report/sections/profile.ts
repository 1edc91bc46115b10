/** The report's profile: the radar of mean scores, one polygon per model. */
import type { ModelSeries } from '../data.js';
import { clamp, esc, fmt, line, n, polyPath, svgOpen, text } from '../svg.js';
import { type AxisInfo, section, byWidth, swatch, legend, axisLabel, axisOf } from './common.js';

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
