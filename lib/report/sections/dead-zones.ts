/** The report's dead zones: severity, its terms and the kind of each weak or dead axis. */
import type { DeadZone } from '../../docs/types.js';
import { deadZonesFor, type ModelSeries } from '../data.js';
import { SEVERITY_STOPS, esc, fmt, n, severityColor, textOn } from '../svg.js';
import { type AxisInfo, section, swatch, axisInfoFor } from './common.js';

const DZ_COLUMNS: Array<{ key: string; title: string; sub: string }> = [
  { key: 'accuracy', title: 'accuracy', sub: 'A' },
  { key: 'separation', title: 'separation', sub: 'D' },
  { key: 'stability', title: 'stability', sub: 'S' },
  { key: 'snr', title: 'baseline SNR', sub: 'N' },
  { key: 'severity', title: 'severity', sub: 'sev.' },
  { key: 'equalWeight', title: 'equal weight', sub: 'eq.' },
];

/** The colour scale of the dead-zone table, as an HTML bar (0 = fine … 1 = worst) with the level thresholds. */
function severityLegend(): string {
  const stops = SEVERITY_STOPS.map((c, i) => `${c} ${n((i / (SEVERITY_STOPS.length - 1)) * 100)}%`).join(', ');
  const marks = [0, 0.15, 0.3, 0.5, 1]
    .map((t) => `<span class="mark${t === 0.15 || t === 0.3 ? ' thresh' : ''}" style="left:${n(t * 100)}%">${fmt(t, t === 0.15 ? 2 : t === 0 || t === 1 ? 0 : 1)}</span>`)
    .join('');
  return `<div class="scale-legend" role="img" aria-label="colour scale from 0 (fine) to 1 (worst)"><span class="scale-end">0 = fine</span><span class="scale-bar-wrap"><span class="scale-bar" style="background:linear-gradient(to right, ${stops})"></span>${marks}</span><span class="scale-end">1 = worst</span></div>`;
}

function deadZoneTable(rows: DeadZone[], axes: AxisInfo[]): string {
  const head = `<tr><th>Axis</th>${DZ_COLUMNS.map((c) => `<th class="num" title="${esc(c.title)}"><span class="col-full">${esc(c.title)}</span> <span class="col-sub">${esc(c.sub)}</span></th>`).join('')}<th class="level-col">level · kind</th></tr>`;
  const body = rows
    .map((dz) => {
      const a = axisInfoFor(axes, dz.axis);
      const values: Array<number | null> = [dz.terms.accuracy, dz.terms.separation, dz.terms.stability, dz.terms.snr, dz.severity, dz.equalWeight];
      const cells = values
        .map((v, j) => {
          if (v === null) return `<td class="num dz-na" title="${esc(`${a.positive}/${a.negative} · stability unknown (no stability run)`)}">n/a</td>`;
          const partialCell = dz.partial && j >= 4;
          const bg = severityColor(v);
          return `<td class="num dz-cell${j === 4 ? ' strong' : ''}${partialCell ? ' partial' : ''}" style="background:${bg};color:${textOn(bg)}" title="${esc(`${a.positive}/${a.negative} · ${DZ_COLUMNS[j]!.title}: ${fmt(v, 3)}${partialCell ? ' (partial)' : ''}`)}">${fmt(v)}${partialCell ? '*' : ''}</td>`;
        })
        .join('');
      const level = `<span class="chip chip-${dz.level}">${dz.level}</span>${dz.kind.length ? ` <span class="kind">${esc(dz.kind.join(', '))}</span>` : ''}`;
      // narrow screens: the level goes under the axis name and its column is hidden
      return `<tr><td class="axis-cell"><span class="pos">${esc(a.positive)}</span>${a.negative ? ` <span class="muted">vs ${esc(a.negative)}</span>` : ''}<div class="level-under">${level}</div></td>${cells}<td class="level-col">${level}</td></tr>`;
    })
    .join('');
  const partial = rows.some((r) => r.partial)
    ? '<p class="fineprint">* partial: no stability run, so S is unknown; A, D and N are reweighted 0.3/0.8, 0.3/0.8 and 0.2/0.8.</p>'
    : '';
  return `<div class="table-wrap"><table class="data dz">${head}${body}</table></div>${severityLegend()}${partial}`;
}

export function deadZonesSection(all: ModelSeries[], axes: AxisInfo[]): string {
  const parts: string[] = [];
  for (const [index, s] of all.entries()) {
    const dz = deadZonesFor(s);
    if (!dz) continue;
    const counts = { dead: 0, weak: 0, healthy: 0 };
    for (const r of dz.rows) counts[r.level]++;
    const head = `<h3>${all.length > 1 ? swatch(s.color) : ''}${esc(s.label)} <span class="muted">· ${counts.dead} dead, ${counts.weak} weak, ${counts.healthy} healthy${dz.source === 'stability' ? ' · with stability run' : dz.rows.some((r) => r.partial) ? ' · partial (no stability run)' : ''}</span></h3>`;
    void index;
    parts.push(`<figure>${head}${deadZoneTable(dz.rows, axes)}</figure>`);
  }
  if (parts.length === 0) return '';
  return section(
    'deadzones',
    'Dead zones',
    'Where the model does not follow style instructions. Each term maps to [0, 1] where 1 is worst; severity &lt; 0.15 is healthy, &lt; 0.30 weak, otherwise dead. Kinds: <b>hard</b> = poles barely separate, <b>soft</b> = direction moves between calibration sets, <b>asymmetric</b> = one pole followed far less often.',
    `${parts.join('')}<p class="fineprint"><b>A</b> (accuracy) = clip(2 (1 − AUC), 0, 1): how often held-out answers of the two poles are ordered wrongly. <b>D</b> (separation) = clip(1 − d′/3, 0, 1): how little the pole means are apart. <b>S</b> (stability) = clip(1 − stability cosine, 0, 1): how much the direction changes between calibration sets A, B and C. <b>N</b> (baseline SNR) = 1 − min(SNR/3, 1), SNR = |mean| / std of the baseline scores: how little the default style stands out from its noise. Severity = 0.3 A + 0.3 D + 0.2 S + 0.2 N (the weights are a heuristic, hence the equal-weight mean beside it).</p>`,
  );
}
