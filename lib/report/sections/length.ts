/** The report's length confound: score against answer length, and the correlations with length regressed out. */
import { lengthRText, truncationWarning } from '../../protocols/wording.js';
import { baselineTokens, leastSquares, pearson, type ModelSeries } from '../data.js';
import { clamp, esc, fmt, line, linear, n, niceDomain, pct, svgOpen, text, ticks } from '../svg.js';
import { type AxisInfo, section, note, warnBox, swatch, legend, axisOf } from './common.js';

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
