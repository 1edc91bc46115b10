/** The report's quality: held-out accuracy and d′ of every axis. */
import { accuracyTerm, separationTerm } from '../../stats/deadzone.js';
import type { ModelSeries } from '../data.js';
import { clamp, esc, fmt, n, qualityColor } from '../svg.js';
import { type AxisInfo, section, swatch, axisOf } from './common.js';

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
