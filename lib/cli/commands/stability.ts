import { join, resolve } from 'node:path';
import { stability } from '../../protocols/stability.js';
import type { StabilityDoc } from '../../protocols/types.js';
import { createColors, table } from '../format.js';
import { colorOut, openModel, progressReporter, status } from '../runtime.js';
import { runOptions, settingsFrom, type Command, type RunArgs } from './shared.js';
import { promptOptions, promptSettings, type PromptArgs } from './prompt-options.js';


const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

/** The stability document as terminal tables: reliability per axis, then the sample-size curve. */
export function formatStabilityTable(doc: StabilityDoc, color = false): string {
  const c = createColors(color);
  const ids = doc.sampleSize.perAxis ? Object.keys(doc.sampleSize.perAxis) : [];
  for (const t of doc.testRetest) if (!ids.includes(t.axis)) ids.push(t.axis);
  const dz = new Map(doc.deadZones.map((d) => [d.axis, d]));
  const levelColor = { healthy: c.green, weak: c.yellow, dead: c.red } as const;
  const rows = ids.map((id) => {
    const t = doc.testRetest.find((x) => x.axis === id);
    const s = doc.calibrationSets.find((x) => x.axis === id);
    const d = dz.get(id);
    const icc = t ? (t.icc21 > 0.75 ? f(t.icc21) : c.yellow(f(t.icc21))) : '—';
    return [
      id,
      icc,
      t ? `[${f(t.ci[0], 2)}, ${f(t.ci[1], 2)}]` : '—',
      t ? f(t.icc2k) : '—',
      s ? f(s.stabilityCosine) : '—',
      s ? `${f(s.cosines.AB, 2)} / ${f(s.cosines.AC, 2)} / ${f(s.cosines.BC, 2)}` : '—',
      s ? f(s.icc2k) : '—',
      d ? `${levelColor[d.level](d.level)} ${f(d.severity, 2)}${d.partial ? '*' : ''} ${c.dim(`(eq. ${f(d.equalWeight, 2)})`)}${d.kind.length ? ' ' + d.kind.join(',') : ''}` : '—',
    ];
  });
  const runs = doc.retest ? `${doc.retest.runs} runs × ${doc.retest.questions} questions` : 'repeated runs';
  const lines = [
    `${c.bold(doc.manifest.model.name)} ${c.dim(`· test-retest over ${runs} · calibration sets ${doc.calibrationSets.length ? 'A, B, C' : 'A only'}`)}`,
    table(['axis', 'ICC(2,1)', '95 % CI', 'ICC(2,k)', 'stab. cos', 'cos AB / AC / BC', 'sets ICC(2,k)', 'dead zone'], rows, { color }),
  ];
  const n = doc.sampleSize.n;
  lines.push(
    table(
      ['sample-size curve: n', ...n.map(String)],
      Object.entries(doc.sampleSize.perAxis).flatMap(([id, e]) => [
        [`${id} median cos`, ...e.medianCosine.map((x) => (x >= 0.9 ? f(x, 2) : c.yellow(f(x, 2))))],
        [`${id} held-out AUC`, ...e.auc.map((x) => f(x, 2))],
      ]),
      { color },
    ),
  );
  const foot = [doc.sampleSize.stabilisesAt === null ? 'axes do not reach median cosine 0.9' : `axes stabilise at n = ${doc.sampleSize.stabilisesAt}`];
  if (doc.deadZones.some((d) => d.partial)) foot.push('* partial severity (no calibration sets B/C)');
  lines.push(c.dim(foot.join(' · ')));
  for (const note of doc.notes ?? []) lines.push(c.yellow(`note: ${note}`));
  return lines.join('\n');
}

async function handler(a: RunArgs & PromptArgs & { model: string; axesFile?: string; out?: string; runs: number; bootstrap: number; draws: number }) {
  const model = await openModel(a.model, a);
  const out = resolve(a.out ?? join('moodaxis-out', model.info.name.replace(/[^\w.-]+/g, '_')));
  const progress = progressReporter(a, 'stability');
  try {
    const doc = await stability(model, {
      ...settingsFrom(a),
      ...promptSettings(a),
      axesFile: a.axesFile,
      runs: a.runs,
      bootstrap: a.bootstrap,
      draws: a.draws,
      out,
      onProgress: (done, total) => progress.update(done, total),
      onStatus: (m) => status(a, m),
    });
    progress.done();
    if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else if (!a.quiet) {
      process.stdout.write(`${formatStabilityTable(doc, colorOut())}\n`);
      status(a, `wrote ${join(out, 'stability.json')} (${doc.timing!.seconds.toFixed(1)} s, ${doc.timing!.generatedTokens} tokens)`);
    }
  } finally {
    await model.dispose();
  }
}

export const stabilityCommand: Command = {
  command: 'stability <model>',
  describe: 'test-retest ICC, calibration-set stability (sets A, B, C), sample-size curve and dead zones',
  builder: (y) =>
    promptOptions(runOptions(y))
      .positional('model', { type: 'string', demandOption: true, describe: 'GGUF model file' })
      .option('runs', { type: 'number', default: 5, describe: 'baseline repetitions with different seeds (test-retest raters)' })
      .option('axes-file', { type: 'string', describe: 'custom axis set (without sets B and C only test-retest and the sample-size curve run)' })
      .option('out', { type: 'string', describe: 'output folder (default ./moodaxis-out/<model>): stability.json and its journal' })
      .option('bootstrap', { type: 'number', default: 1000, describe: 'bootstrap resamples of the ICC confidence interval' })
      .option('draws', { type: 'number', default: 20, describe: 'random subsets per sample size' }),
  handler,
};
