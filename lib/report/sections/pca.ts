/** The report's PCA: scree of the profile, cross-axis correlations, effective dimensionality. */
import type { ModelSeries } from '../data.js';
import { DIVERGING_STOPS, divergingColor, esc, fmt, line, linear, n, niceDomain, pct, polyPath, svgOpen, text, textOn, ticks } from '../svg.js';
import { type AxisInfo, section, note, byWidth, swatch, legend, shortAxis } from './common.js';

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
