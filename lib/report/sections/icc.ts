/** The report's ICC: test-retest ICC per axis, calibration stability, the sample-size curve. */
import { PROTOCOL_DEFAULTS } from '../../defaults.js';
import type { StabilityDoc } from '../../docs/types.js';
import { iccAgreement, iccText, sampleSizeVerdict, truncationWarning } from '../../protocols/wording.js';
import type { ModelSeries } from '../data.js';
import { AXIS_COLORS, declutter, esc, fmt, line, linear, n, polyPath, svgOpen, text, ticks } from '../svg.js';
import { type AxisInfo, section, note, byWidth, warnBox, swatch, legend, axisLabel, axisInfoFor, shortAxis } from './common.js';

/** An ICC with its words: "−2.560 (no agreement)" for a negative one (see lib/protocols/wording.ts). */
function iccCell(value: number | null): string {
  const words = iccAgreement(value);
  return words === 'no agreement' ? `${fmt(value, 3)} <span class="bad">(no agreement)</span>` : esc(iccText(value, (x) => fmt(x, 3)));
}

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
