/**
 * The report's validation section (validation.json from `moodaxis validate`): one scatter per axis,
 * hidden-state score against the independent rating, with Spearman ρ, its bootstrap CI and n, and a
 * table with the pooled ρ and the flagged axes.
 */
import type { ValidationAxis, ValidationDoc } from '../../docs/types.js';
import { modelBlock, section } from './common.js';
import { esc, fmt, line, linear, n, niceDomain, svgOpen, text, ticks } from '../svg.js';

const FLAG_TEXT: Record<ValidationAxis['flags'][number], string> = {
  negative: 'ρ < 0',
  'ci-includes-0': 'CI includes 0',
  undefined: 'ρ undefined',
};

const ci = (c: [number, number] | null) => (c ? `[${fmt(c[0])}, ${fmt(c[1])}]` : '\u2014');

/** Where the ratings came from, in words. */
export function validationSourceLabel(doc: ValidationDoc): string {
  const v = doc.manifest.validation as { kind?: string; file?: string; model?: { name?: string } } | undefined;
  if (v?.kind === 'judge') return `judge model ${v.model?.name ?? '?'}`;
  if (v?.kind === 'ratings') return `ratings file ${v.file ?? '?'}`;
  return 'ratings';
}

function scatterSvg(a: ValidationAxis): string {
  const W = 330;
  const H = 266;
  const m = { l: 46, r: 12, t: 40, b: 44 };
  const xs = a.points.map((p) => p.score);
  const ys = a.points.map((p) => p.rating);
  const [x0, x1] = niceDomain(Math.min(...xs), Math.max(...xs), 4);
  const [y0, y1] = niceDomain(Math.min(...ys), Math.max(...ys), 4);
  const x = linear(x0, x1, m.l, W - m.r);
  const y = linear(y0, y1, H - m.b, m.t);
  const out: string[] = [svgOpen(W, H, `Score against rating: ${a.positive}/${a.negative}`)];
  out.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" class="panel"/>`);
  out.push(text(m.l, 15, `${a.positive}/${a.negative}`, 'class="panel-title"'));
  const flagged = a.flags.length > 0;
  out.push(text(m.l, 31, `ρ ${fmt(a.rho, 2, { sign: true })} · 95 % CI ${ci(a.ci)} · n ${a.n}${flagged ? ' ⚠' : ''}`, `class="panel-r"${flagged ? ' style="fill:#b91c1c"' : ''}`));
  for (const v of ticks(x0, x1, 4)) {
    out.push(line(x(v), m.t, x(v), H - m.b, 'class="grid"'));
    out.push(text(x(v), H - m.b + 20, fmt(v, Math.abs(x1 - x0) < 0.5 ? 2 : 1), 'class="tick" text-anchor="middle"'));
  }
  for (const v of ticks(y0, y1, 4)) {
    out.push(line(m.l, y(v), W - m.r, y(v), 'class="grid"'));
    out.push(text(m.l - 6, y(v) + 4, fmt(v, Number.isInteger(v) ? 0 : 1), 'class="tick" text-anchor="end"'));
  }
  out.push(text(W - m.r, H - 4, 'hidden-state score →', 'class="tick axis-title" text-anchor="end"'));
  for (const p of a.points) {
    out.push(`<circle cx="${n(x(p.score))}" cy="${n(y(p.rating))}" r="3.6" fill="#2563eb" fill-opacity="0.6" stroke="#fff" stroke-width="0.6"><title>${esc(`${p.questionId}: score ${fmt(p.score)}, rating ${fmt(p.rating)} (${p.ratings} ${p.ratings === 1 ? 'rating' : 'ratings'})`)}</title></circle>`);
  }
  out.push('</svg>');
  return out.join('');
}

function validationBlock(doc: ValidationDoc, many: boolean): string {
  const rows = doc.axes
    .map((a) => `<tr><td><span class="pos">${esc(a.positive)}</span> <span class="muted">vs ${esc(a.negative)}</span></td><td class="num">${a.n}</td><td class="num"><b>${fmt(a.rho, 2, { sign: true })}</b></td><td class="num">${ci(a.ci)}</td><td class="${a.flags.length ? 'bad' : 'ok'}">${a.flags.length ? esc(a.flags.map((f) => FLAG_TEXT[f]).join(', ')) : 'ok'}</td></tr>`)
    .join('');
  const pooled = `<tr><td><b>pooled</b> <span class="muted">(${doc.axes.length} ${doc.axes.length === 1 ? 'axis' : 'axes'})</span></td><td class="num">${doc.pooled.n}</td><td class="num"><b>${fmt(doc.pooled.rho, 2, { sign: true })}</b></td><td class="num">${ci(doc.pooled.ci)}</td><td></td></tr>`;
  const per = doc.responses.ratingsPerResponse;
  const facts = [
    `${doc.responses.rated} rated ${doc.responses.rated === 1 ? 'response' : 'responses'}; ${per.min === per.max ? per.min : `${per.min}–${per.max}`} ${per.max === 1 ? 'rating' : 'ratings'} per response and axis (averaged)`,
    `bootstrap: ${doc.bootstrap.resamples.toLocaleString('en-US')} resamples of the responses, seed ${doc.bootstrap.seed}`,
    ...doc.notes,
  ];
  return modelBlock({
    title: `${doc.manifest.model.name} · ${validationSourceLabel(doc)}`,
    many,
    table: `<table class="data compact"><tr><th>Axis</th><th class="num">n</th><th class="num">Spearman ρ</th><th class="num">95 % CI</th><th>flag</th></tr>${rows}${pooled}</table>`,
    facts,
    figures: doc.axes.filter((a) => a.points.length > 0).map((a) => scatterSvg(a)),
    gridClass: 'validation-grid',
  });
}

export function validationSection(docs: ValidationDoc[]): string {
  if (docs.length === 0) return '';
  return section(
    'validation',
    'External validation',
    'Hidden-state score against an independent rating of the same baseline response, per axis. Spearman ρ with a percentile bootstrap 95 % CI over responses; the pooled ρ ranks within each axis, then correlates all pairs at once. ⚠ marks an axis whose ρ is negative or whose CI includes 0.',
    docs.map((d) => validationBlock(d, docs.length > 1)).join('\n'),
  );
}
