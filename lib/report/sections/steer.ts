/** The report's steering: score of every axis against α for the steered axis. */
import type { SteerDoc } from '../../docs/types.js';
import type { ModelSeries } from '../data.js';
import { AXIS_COLORS, declutter, esc, fmt, line, linear, n, niceDomain, pct, polyPath, svgOpen, text, ticks } from '../svg.js';
import { type AxisInfo, section, byWidth, swatch, axisInfoFor, shortAxis } from './common.js';

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
