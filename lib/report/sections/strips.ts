/** The report's strips: every baseline answer's score on each axis, per model. */
import { baselineQuestions, type ModelSeries } from '../data.js';
import { clamp, esc, fmt, jitter, line, linear, n, svgOpen, text } from '../svg.js';
import { type AxisInfo, section, byWidth, legend, axisOf, scoreGrid, scoreRowLayout, poleLabels } from './common.js';

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
