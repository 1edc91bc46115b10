/**
 * `renderReport`: one self-contained HTML file (inline styles, inline SVG, no scripts, no fonts,
 * no network) built only from protocol documents (lib/docs/types.ts). A strict
 * Content-Security-Policy forbids any request at view time.
 */
import type { FingerprintDoc, Manifest, ProtocolDoc } from '../docs/types.js';
import { groupByModel, mean, type ModelSeries } from './data.js';
import {
  collectAxes,
  compareSection,
  deadZonesSection,
  driftSection,
  iccSection,
  lengthSection,
  pcaSection,
  profileSection,
  qualitySection,
  steerSection,
  stripsSection,
  validationSection,
  type AxisInfo,
} from './sections/index.js';
import { esc, fmt } from './svg.js';
import { truncationWarning } from '../protocols/wording.js';

export { validateDoc, parseDoc, DOC_KINDS, SCHEMA_VERSION } from '../docs/read.js';

export interface ReportOptions {
  /** Page title and heading; defaults to "moodaxis report · <model names>". */
  title?: string;
}

/** Section ids in page order (each rendered as `<section data-section="id">`). */
export const SECTION_IDS = ['profile', 'strips', 'compare', 'quality', 'deadzones', 'icc', 'pca', 'length', 'steer', 'validation', 'drift'] as const;

const SECTION_TITLES: Record<string, string> = {
  profile: 'Profile',
  strips: 'Per-question',
  compare: 'Comparison',
  quality: 'Axis quality',
  deadzones: 'Dead zones',
  icc: 'Reliability',
  pca: 'Structure',
  length: 'Length',
  steer: 'Steering',
  validation: 'Validation',
  drift: 'Drift',
};

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '\u2014';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** ISO timestamps as "2026-03-02 10:15 UTC"; anything else unchanged. */
function when(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$/.exec(iso);
  if (!m) return iso;
  return `${m[1]} ${m[2]}${m[3] === 'Z' ? ' UTC' : m[3] ? ' ' + m[3] : ''}`;
}

function int(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '\u2014';
}

function summaryCards(fps: ModelSeries[]): string {
  if (fps.length === 0) return '';
  return `<div class="summary">${fps
    .map((s) => {
      const fp = s.fingerprint as FingerprintDoc;
      const dz = s.stability.find((d) => d.deadZones.length)?.deadZones ?? fp.deadZones;
      const dead = dz.filter((d) => d.level === 'dead').length;
      const weak = dz.filter((d) => d.level === 'weak').length;
      const st = fp.structure;
      const items: Array<[string, string, string?]> = [
        ['axes', String(fp.axes.length)],
        ['baseline questions', String(fp.axes[0]?.scores.length ?? 0)],
        ['mean held-out AUC', fmt(mean(fp.axes.map((a) => a.auc)), 3)],
        ['dead zones', dz.length ? `${dead} dead · ${weak} weak` : '\u2014', dead ? 'bad' : weak ? 'warn' : 'ok'],
        ['effective dim.', st ? `${fmt(st.participationRatio, 2)} / ${st.axes.length}` : '\u2014'],
        ['generated', `${int(fp.timing.generatedTokens)} tok · ${duration(fp.timing.seconds)}`],
      ];
      return `<div class="summary-row" style="--model:${esc(s.color)}"><div class="summary-model">${esc(s.label)}${s.manifest.model.demo ? ' <span class="badge demo">DEMO</span>' : ''}</div>${items
        .map(([k, v, cls]) => `<div class="kv"><span class="k">${esc(k)}</span><span class="v${cls ? ' ' + cls : ''}">${esc(v)}</span></div>`)
        .join('')}</div>`;
    })
    .join('')}</div>`;
}

function kvRows(entries: Array<[string, unknown]>): string {
  return entries
    .map(([k, v]) => {
      const val =
        v === null || v === undefined
          ? '\u2014'
          : typeof v === 'object'
            ? `<code>${esc(JSON.stringify(v))}</code>`
            : esc(String(v));
      return `<dt>${esc(k)}</dt><dd>${val}</dd>`;
    })
    .join('');
}

function manifestBlock(doc: ProtocolDoc, label: string): string {
  const m: Manifest = doc.manifest;
  const known = new Set(['tool', 'createdAt', 'model', 'capture', 'sampler', 'questions']);
  const extra = Object.entries(m).filter(([k]) => !known.has(k));
  const kindName = doc.kind.replace('moodaxis.', '');
  const what = doc.kind === 'moodaxis.steer' ? ` · ${doc.axis}` : '';
  return `<details class="manifest"><summary><span class="kind-tag">${esc(kindName)}</span> ${esc(label)}${esc(what)} <span class="muted">· ${esc(when(m.createdAt))}</span></summary>
<dl>${kvRows([
    ['model name', m.model.name],
    ['model path', m.model.path],
    ['identity', m.model.identity],
    ['architecture', m.model.architecture],
    ['layers × hidden size', `${m.model.layers} × ${m.model.hiddenSize}`],
    ['chat template', m.model.chatTemplate ? 'yes' : 'no (base model)'],
    ['backend', m.model.backend],
    ['demo model', m.model.demo ? 'yes' : 'no'],
    ['created', m.createdAt],
    ['capture layers', m.capture.layers.join(', ')],
    ['layer weights', m.capture.layerWeights.join(', ')],
    ['token decay', m.capture.tokenDecay],
    ['compat mode', m.capture.compat ?? 'none'],
    ['sampler', `T ${m.sampler.temperature} · top-k ${m.sampler.topK} · top-p ${m.sampler.topP} · order ${m.sampler.order}`],
    ['seed · parallel', `${m.sampler.seed} · ${m.sampler.parallel}`],
    ['deterministic', m.sampler.deterministic === undefined ? '\u2014' : m.sampler.deterministic ? 'yes' : 'no'],
    ['max tokens', `${m.sampler.maxTokens}${m.sampler.baselineMaxTokens !== undefined ? ` (baseline ${m.sampler.baselineMaxTokens})` : ''}`],
    ['questions', `${m.questions.name} ${m.questions.version}`],
    ['tool', `${m.tool.name} ${m.tool.version}`],
    ...extra,
  ])}</dl></details>`;
}

const CSS = `
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f4f5f7;--card:#fff;--accent:#2563eb}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans","Helvetica Neue",Arial,sans-serif;font-variant-numeric:tabular-nums}
main{max-width:1180px;margin:0 auto;padding:24px 20px 48px}
header.top{background:#111827;color:#f9fafb;padding:22px 0 18px}
header.top .inner{max-width:1180px;margin:0 auto;padding:0 20px}
header.top h1{margin:0 0 6px;font-size:26px;font-weight:650;letter-spacing:-.01em}
header.top .models{display:flex;flex-wrap:wrap;gap:8px 18px;align-items:center;font-size:15px}
header.top .models .swatch{width:12px;height:12px}
header.top .meta{color:#9ca3af;font-size:13px;margin-top:6px}
nav.toc{display:flex;flex-wrap:wrap;gap:6px;margin-top:14px}
nav.toc a{color:#e5e7eb;text-decoration:none;font-size:13px;padding:3px 10px;border:1px solid #374151;border-radius:999px}
nav.toc a:hover{background:#1f2937}
.badge{display:inline-block;font-size:11px;font-weight:700;letter-spacing:.06em;padding:2px 8px;border-radius:999px;vertical-align:middle}
.badge.demo{background:#fbbf24;color:#422006}
.demo-banner{background:#fffbeb;border:1px solid #fcd34d;color:#78350f;border-radius:10px;padding:10px 14px;margin:0 0 16px;font-size:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 24px;margin:0 0 18px;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.card h2{margin:0 0 4px;font-size:19px;font-weight:650}
.card h3{margin:18px 0 6px;font-size:15px;font-weight:600}
p.intro{margin:0 0 14px;color:#4b5563;font-size:14px;max-width:900px}
p.note{background:#f9fafb;border:1px dashed #d1d5db;border-radius:8px;padding:12px 14px;color:#374151;margin:8px 0}
p.fineprint{color:var(--muted);font-size:12.5px;margin:10px 0 0}
figure{margin:0}
figcaption{font-size:13px;font-weight:600;color:#374151;margin:4px 0 6px}
svg.chart{display:block;max-width:100%;height:auto;font-size:12px;overflow:visible}
svg text{fill:#374151}
.split{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}
.split>figure{flex:0 1 auto;min-width:0;max-width:100%}
.split>.side{flex:1 1 320px;min-width:0;max-width:100%}
.side table.data th{white-space:normal}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));gap:18px;margin-top:10px}
.grid2>*{min-width:0}
.steer-grid{display:grid;grid-template-columns:1fr;gap:18px;margin-top:10px}
.steer-grid>*{min-width:0}
svg.chart.wide{width:100%}
.w-narrow,.w-medium{display:none}
@media (max-width:1180px){.w-wide{display:none}.w-medium{display:block}}
@media (max-width:700px){.w-medium{display:none}.w-narrow{display:block}}
.axis-label.compact .pole-pos{font-size:12px}
.level-under{display:none;margin-top:2px}
.panels{display:flex;flex-wrap:wrap;gap:4px 10px}
.panels>svg.chart{flex:1 1 258px;max-width:340px}
figure{overflow-x:auto;overflow-y:hidden;max-width:100%}
.table-wrap{overflow-x:auto;max-width:100%}
.warn-box{background:#fff7ed;border:1px solid #fdba74;color:#7c2d12;border-radius:8px;padding:10px 14px;margin:0 0 14px;font-size:14px}
ul.facts.notes{color:#7c2d12}
table.data.dz td.dz-cell{font-weight:500;border-bottom:2px solid #fff;text-align:center}
table.data.dz td.dz-cell.strong{font-weight:700}
table.data.dz td.dz-cell.partial{outline:1.5px dashed #6b7280;outline-offset:-3px}
table.data.dz td.dz-na{background:repeating-linear-gradient(45deg,#f3f4f6 0 4px,#e5e7eb 4px 6px);color:#6b7280;font-style:italic;text-align:center}
table.data.dz th .col-sub{color:#111827;font-weight:700}
.chip{display:inline-block;font-size:12px;font-weight:650;padding:1px 9px;border-radius:999px}
.chip.chip-healthy{background:#dcfce7;color:#166534}.chip.chip-weak{background:#fef3c7;color:#92400e}.chip.chip-dead{background:#fee2e2;color:#991b1b}
.kind{font-size:12px;color:#4b5563}
.scale-legend{display:flex;align-items:center;gap:10px;font-size:12px;color:var(--muted);margin:10px 0 22px;max-width:520px}
.scale-bar-wrap{position:relative;flex:1 1 auto;height:12px}
.scale-bar{display:block;height:12px;border-radius:2px;border:1px solid #d1d5db}
.scale-legend .mark{position:absolute;top:14px;transform:translateX(-50%);font-size:11px;line-height:1}
.scale-legend .mark.thresh{color:#111827;font-weight:650}
.scale-end{white-space:nowrap}
.corr-row{display:flex;flex-wrap:wrap;gap:24px;margin-top:14px}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:13px;margin:8px 0 0}
.swatch{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:6px;vertical-align:-1px}
table.data{border-collapse:collapse;font-size:13.5px;width:100%;margin:4px 0}
table.data th{text-align:left;font-weight:600;color:#4b5563;border-bottom:2px solid var(--line);padding:6px 10px;white-space:nowrap;font-size:12.5px}
table.data.compact{width:auto;min-width:70%}
table.data th.num{text-align:right}
table.data th.group{text-align:center;border-bottom:1px solid var(--line)}
table.data td{border-bottom:1px solid #f0f1f3;padding:5px 10px;white-space:nowrap}
table.data tr:hover td{background:#fafafa}
.num{text-align:right}
td.cellbar{white-space:nowrap}
td.cellbar span{display:inline-block;min-width:44px;margin-right:8px}
svg.mini{vertical-align:-1px}
svg.mini .track{fill:#f3f4f6}
.muted{color:var(--muted)}
.pos{font-weight:600}
.ok{color:#15803d}.warn{color:#b45309}.bad{color:#b91c1c}
.delta.big{color:#111827;font-weight:700}
.delta-text{fill:#111827}
.summary{display:flex;flex-direction:column;gap:10px;margin:0 0 18px}
.summary-row{display:flex;flex-wrap:wrap;gap:8px 0;align-items:stretch;background:var(--card);border:1px solid var(--line);border-left:5px solid var(--model);border-radius:12px;padding:10px 14px}
.summary-model{flex:1 1 100%;font-weight:650;font-size:16px;overflow-wrap:anywhere}
.kv{flex:1 1 150px;display:flex;flex-direction:column;padding:2px 12px;border-left:1px solid var(--line);min-width:0}
.kv .v{overflow-wrap:anywhere}
.kv .k{font-size:11.5px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.kv .v{font-size:15px;font-weight:600}
.bignum{border:1px solid var(--line);border-radius:10px;padding:12px 16px;margin:0 0 10px}
.bignum>div{display:flex;justify-content:space-between;gap:12px;align-items:baseline}
.bn-model{font-weight:600;margin-bottom:4px}
.bn-label{color:var(--muted);font-size:13px}
.bn-value{font-size:22px;font-weight:650}
ul.facts{margin:10px 0 0;padding-left:20px;font-size:13.5px;color:#374151}
.facts-inline{font-size:13px;color:#374151;margin:0 0 4px}
.steer-panel{border:1px solid var(--line);border-radius:10px;padding:10px 12px}
.sample{font-size:12.5px;color:#374151;border-left:3px solid var(--line);padding:2px 8px;margin:6px 0}
details summary{cursor:pointer}
details.manifest{border:1px solid var(--line);border-radius:8px;padding:8px 12px;margin:6px 0;background:#fcfcfd}
details.manifest summary{font-size:14px}
details.manifest dl{display:grid;grid-template-columns:190px 1fr;gap:3px 14px;margin:10px 0 4px;font-size:13px}
details.manifest dt{color:var(--muted)}
details.manifest dd{margin:0;word-break:break-all}
.kind-tag{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;background:#e0e7ff;color:#3730a3;border-radius:4px;padding:1px 6px;margin-right:4px}
code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}
/* svg classes */
.grid{stroke:#e5e7eb;stroke-width:1}
.grid-zero{stroke:#9ca3af;stroke-width:1.2}
.ring{fill:none;stroke:#e5e7eb;stroke-width:1}
.ring-zero{fill:none;stroke:#9ca3af;stroke-width:1.3;stroke-dasharray:5 4}
.spoke{stroke:#e5e7eb;stroke-width:1}
.tick{font-size:11.5px;fill:#6b7280}
.ring-label{font-size:10.5px}
.halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.axis-title{font-size:12px;fill:#4b5563}
.axis-label .pole-pos{font-size:14px;font-weight:650;fill:#111827}
.axis-label .pole-neg{font-size:11.5px;fill:#6b7280}
.pole-pos-strip{font-size:13px;font-weight:650;fill:#111827}
.pole-neg-strip{font-size:13px;fill:#4b5563}
.stat{font-size:12.5px;font-weight:600}
.band-alt{fill:#f9fafb}
.row-label{font-size:13px}
.row-label .pos{fill:#111827}
.row-label .muted{fill:#6b7280;font-size:12px}
.row-label-sm{font-size:11.5px;fill:#374151}
.col-head{font-size:12.5px;font-weight:650;fill:#111827}
.col-sub{font-size:11px;fill:#6b7280}
.cell-val{font-size:12.5px}
.cell-val.strong{font-weight:700}
.cell-na{font-size:11.5px;fill:#6b7280;font-style:italic}
.cell-sm{font-size:10.5px}
.divider{stroke:#9ca3af;stroke-width:1.5}
.thresh{stroke:#111827;stroke-width:1.5}
.tickline{stroke:#9ca3af;stroke-width:1}
.chip-healthy{fill:#dcfce7}.chip-weak{fill:#fef3c7}.chip-dead{fill:#fee2e2}
.chip-text{font-size:12px;font-weight:650}
.chip-text-healthy{fill:#166534}.chip-text-weak{fill:#92400e}.chip-text-dead{fill:#991b1b}
.kind{font-size:12px;fill:#4b5563}
.target{stroke:#111827;stroke-width:1.2;stroke-dasharray:4 3}
.target-label{fill:#111827}
.band-label{font-size:11px}
.series-label{font-size:11.5px;font-weight:600}
.series-label.strong{font-weight:700}
.panel{fill:#fcfcfd;stroke:#e5e7eb}
.panel-title{font-size:13px;font-weight:650;fill:#111827}
.panel-r{font-size:12px}
.baseline{stroke:#9ca3af}
.clip-count{font-size:11px;font-weight:650;fill:#111827}
.dumbbell{stroke:#9ca3af;stroke-width:3;stroke-linecap:round}
@media (max-width:1180px){table.data th{white-space:normal}svg.mini{width:56px}}
@media (max-width:700px){
main{padding:14px 8px 32px}
header.top .inner{padding:0 10px}
header.top h1{font-size:20px;overflow-wrap:anywhere}
.card{padding:14px 10px;border-radius:10px}
table.data{font-size:13px}
table.data th,table.data td{padding:5px 6px;white-space:normal}
table.data td.cellbar,table.data td.num{white-space:nowrap}
table.data .opt{display:none}
svg.mini{display:none}
td.cellbar span{min-width:0;margin-right:0}
table.data.dz .col-full{display:none}
table.data.dz .level-col{display:none}
table.data.dz .level-under{display:block}
table.data.dz td.dz-cell,table.data.dz td.dz-na{padding:5px 3px}
details.manifest dl{grid-template-columns:1fr}
.kv{flex-basis:130px}
}
@media print{body{background:#fff}.card{box-shadow:none;break-inside:avoid}header.top{background:#fff;color:#000}nav.toc{display:none}}
`;

/**
 * Render protocol documents into one self-contained HTML page. Fingerprints define the models
 * (one colour each); stability and steer documents attach to the fingerprint of the same model
 * identity. Sections without data are left out, except the ICC section which says that there
 * was no stability run.
 */
export function renderReport(docs: ProtocolDoc[], options: ReportOptions = {}): string {
  const all = groupByModel(docs);
  const fps = all.filter((s) => s.fingerprint);
  const axes: AxisInfo[] = collectAxes(fps);
  if (axes.length === 0) {
    // no fingerprint: take axis ids from stability/steer documents
    const ids = new Set<string>();
    for (const d of docs) {
      if (d.kind === 'moodaxis.stability') d.testRetest.forEach((t) => ids.add(t.axis));
      if (d.kind === 'moodaxis.steer') ids.add(d.axis);
    }
    ids.forEach((id) => axes.push({ id, positive: id, negative: '' }));
  }
  const names = all.map((s) => s.label);
  const title = options.title ?? `moodaxis report · ${names.length ? names.join(' vs ') : 'no documents'}`;

  const sections = [
    profileSection(fps, axes),
    stripsSection(fps, axes),
    compareSection(fps, axes),
    qualitySection(fps, axes),
    deadZonesSection(all, axes),
    fps.length || all.some((s) => s.stability.length) ? iccSection(all, axes) : '',
    pcaSection(fps, axes),
    lengthSection(fps, axes),
    steerSection(all, axes),
    validationSection(docs.filter((d) => d.kind === 'moodaxis.validation')),
    driftSection(docs.filter((d) => d.kind === 'moodaxis.drift')),
  ].filter(Boolean);
  const present = SECTION_IDS.filter((id) => sections.some((s) => s.includes(`data-section="${id}"`)));
  const demo = all.filter((s) => s.manifest.model.demo);
  const tool = docs[0]?.manifest.tool.version;
  const created = docs.map((d) => d.manifest.createdAt).sort();

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="moodaxis${tool ? ' ' + esc(tool) : ''}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top"><div class="inner">
<h1>${esc(title)}</h1>
<div class="models">${all
    .map((s) => `<span><span class="swatch" style="background:${esc(s.color)}"></span>${esc(s.label)} <span style="color:#9ca3af">${esc(s.manifest.model.architecture)} · ${esc(s.manifest.model.layers)} layers · d ${esc(s.manifest.model.hiddenSize)}</span>${s.manifest.model.demo ? ' <span class="badge demo">DEMO</span>' : ''}</span>`)
    .join('')}</div>
<div class="meta">${docs.length} document${docs.length === 1 ? '' : 's'}${created.length ? ` · ${esc(when(created[0]!))}${created.length > 1 && created[created.length - 1] !== created[0] ? ` … ${esc(when(created[created.length - 1]!))}` : ''}` : ''}${tool ? ` · moodaxis ${esc(tool)}` : ''}</div>
${present.length ? `<nav class="toc">${present.map((id) => `<a href="#sec-${id}">${esc(SECTION_TITLES[id] ?? id)}</a>`).join('')}</nav>` : ''}
</div></header>
<main>
${demo.length ? `<div class="demo-banner"><span class="badge demo">DEMO</span> ${demo.map((s) => `<b>${esc(s.label)}</b>`).join(', ')} ${demo.length === 1 ? 'is a demo model' : 'are demo models'}: a tiny model for trying the tool out; its numbers say nothing about real chat models.</div>` : ''}
${fps
  .map((s) => [s, truncationWarning(s.fingerprint!.truncation)] as const)
  .filter(([, w]) => w)
  .map(([s, w]) => `<p class="warn-box" role="note"><b>Warning${fps.length > 1 ? ` · ${esc(s.label)}` : ''}:</b> ${esc(w)}</p>`)
  .join('\n')}
${summaryCards(fps)}
${sections.join('\n')}
${docs.length === 0 ? '<section class="card"><p class="note">No documents were given.</p></section>' : ''}
<section class="card manifests"><h2>Manifests</h2><p class="intro">The model identity and every setting that shaped the numbers, per document.</p>
${docs.map((d) => manifestBlock(d, d.manifest.model.name)).join('\n')}
</section>
<footer>Generated by moodaxis${tool ? ' ' + esc(tool) : ''} from ${docs.length} protocol document${docs.length === 1 ? '' : 's'}. Self-contained: no scripts, no fonts, no network.</footer>
</main>
</body>
</html>
`;
}
