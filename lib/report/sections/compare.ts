/** The report's comparison: two or more models' mean scores side by side, with the differences. */
import { mean, type ModelSeries } from '../data.js';
import { clamp, esc, fmt, line, linear, n, svgOpen } from '../svg.js';
import { type AxisInfo, section, byWidth, swatch, legend, axisLabel, axisOf, scoreGrid, scoreRowLayout, poleLabels } from './common.js';

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
