import { join } from 'node:path';
import { PROTOCOL_DEFAULTS } from '../../defaults.js';
import type { StabilityDoc } from '../../docs/types.js';
import { iccText, sampleSizeVerdict } from '../../protocols/wording.js';
import { createColors, fixed, legend, table } from '../format.js';
import { runModelCommand } from '../model-command.js';
import { colorOut, outDir, workSummary } from '../runtime.js';
import { BASELINE_TOKENS, defineCommand, MODEL_ARG, outFlag, runOptions, settingsFrom } from './shared.js';
import { promptOptions, promptSettings } from './prompt-options.js';

/** Stability's numbers: 3 decimals unless said, unsigned. */
const f = (x: number | null | undefined, digits = 3) => fixed(x, { digits });

/** The stability document as terminal tables: reliability per axis, then the sample-size curve. */
export function formatStabilityTable(doc: StabilityDoc, color = false, label: (id: string) => string = (id) => id): string {
  const c = createColors(color);
  const ids = doc.sampleSize.perAxis ? Object.keys(doc.sampleSize.perAxis) : [];
  for (const t of doc.testRetest) if (!ids.includes(t.axis)) ids.push(t.axis);
  const dz = new Map(doc.deadZones.map((d) => [d.axis, d]));
  const levelColor = { healthy: c.green, weak: c.yellow, dead: c.red } as const;
  const rows = ids.map((id) => {
    const t = doc.testRetest.find((x) => x.axis === id);
    const s = doc.calibrationSets.find((x) => x.axis === id);
    const d = dz.get(id);
    const icc = t ? (t.icc21 > 0.75 ? f(t.icc21) : c.yellow(iccText(t.icc21, (v) => f(v)))) : '—';
    return [
      label(id),
      icc,
      t ? `[${f(t.ci[0], 2)}, ${f(t.ci[1], 2)}]` : '—',
      t ? iccText(t.icc2k, (v) => f(v)) : '—',
      s ? f(s.stabilityCosine) : '—',
      s ? `${f(s.cosines.AB, 2)} / ${f(s.cosines.AC, 2)} / ${f(s.cosines.BC, 2)}` : '—',
      s ? iccText(s.icc2k, (v) => f(v)) : '—',
      d ? `${levelColor[d.level](d.level)} ${f(d.severity, 2)}${d.partial ? '*' : ''} ${c.dim(`(eq. ${f(d.equalWeight, 2)})`)}${d.kind.length ? ' ' + d.kind.join(',') : ''}` : '—',
    ];
  });
  const runs = doc.retest ? `${doc.retest.runs} runs × ${doc.retest.questions} questions` : 'repeated runs';
  const lines = [
    `${c.bold(doc.manifest.model.name)} ${c.dim(`· test-retest over ${runs} · calibration sets ${doc.calibrationSets.length ? 'A, B, C' : 'A only'}`)}`,
    table(['axis', 'ICC(2,1)', '95 % CI', 'ICC(2,k)', 'stab. cos', 'cos AB / AC / BC', 'sets ICC(2,k)', 'dead zone'], rows, { color }),
    legend('ICC: agreement of the repeated runs (yellow ≤ 0.75) · stab. cos: mean cosine of the set A, B, C directions · hard/soft/asymmetric: dead-zone kind', color),
  ];
  const n = doc.sampleSize.n;
  lines.push(
    table(
      ['sample-size curve: n per half', ...n.map(String)],
      Object.entries(doc.sampleSize.perAxis).flatMap(([id, e]) => [
        [`${label(id)} median cos`, ...e.medianCosine.map((x) => (x >= 0.9 ? f(x, 2) : c.yellow(f(x, 2))))],
        [`${label(id)} held-out AUC`, ...e.auc.map((x) => f(x, 2))],
      ]),
      { color },
    ),
    legend('n: calibration questions per pole in each of two halves that share no question · median cos: between the two halves\' directions · AUC on held-out questions', color),
  );
  const foot = [sampleSizeVerdict(doc.sampleSize, label)];
  if (doc.deadZones.some((d) => d.partial)) foot.push('* partial severity (no calibration sets B/C)');
  lines.push(c.dim(foot.join(' · ')));
  for (const note of doc.notes ?? []) lines.push(c.yellow(`note: ${note}`));
  return lines.join('\n');
}

const STABILITY_FILES = 'stability.json and its journal';

export const stabilityCommand = defineCommand({
  command: 'stability <model>',
  describe: 'test-retest ICC, calibration-set stability (sets A, B, C), sample-size curve and dead zones',
  builder: (y) =>
    promptOptions(runOptions(y, { baselineMaxTokens: BASELINE_TOKENS, compat: true }))
      .positional('model', MODEL_ARG)
      .option('runs', { type: 'number', default: PROTOCOL_DEFAULTS.stability.runs, requiresArg: true, describe: 'baseline repetitions with different seeds (test-retest raters)' })
      .option('axes-file', { type: 'string', requiresArg: true, describe: 'custom axis set (without sets B and C only test-retest and the sample-size curve run)' })
      .option('out', outFlag(STABILITY_FILES))
      .option('bootstrap', { type: 'number', default: PROTOCOL_DEFAULTS.stability.bootstrap, requiresArg: true, describe: 'bootstrap resamples of the ICC confidence interval' })
      .option('draws', { type: 'number', default: PROTOCOL_DEFAULTS.stability.draws, requiresArg: true, describe: 'random subsets per sample size' }),
  async handler(a) {
    const out = outDir(a.out, STABILITY_FILES);
    const [{ stability }, { resolveAxisSet }, { axisLabel }] = await Promise.all([import('../../protocols/stability.js'), import('../../method/calibrate.js'), import('../../protocols/wording.js')]);
    const axisSet = await resolveAxisSet({ axesFile: a.axesFile });
    const labels = new Map(axisSet.axes.map((x) => [x.id, axisLabel(x)]));
    await runModelCommand(a, {
      model: a.model,
      out,
      progress: 'stability',
      run: ({ model, out, onProgress, onStatus }) =>
        stability(model, { ...settingsFrom(a), axisSet, ...promptSettings(a), runs: a.runs, bootstrap: a.bootstrap, draws: a.draws, out, onProgress, onStatus }),
      text: (doc) => `${formatStabilityTable(doc, colorOut(), (id) => labels.get(id) ?? id)}\n`,
      summary: (doc, { out }) => `wrote ${join(out, 'stability.json')} (${workSummary(doc.timing)}); use it with: moodaxis fingerprint ${a.model} --stability ${join(out, 'stability.json')}`,
    });
  },
});
