/**
 * `moodaxis drift MODEL [--scenarios FILE]`: hostile and neutral multi-turn conversations, the drift of
 * every axis per category (slope per turn, last − first turn, both against the neutral controls);
 * writes drift.json into --out, prints a table (or the document with --json).
 */
import { join } from 'node:path';
import { PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../../defaults.js';
import type { DriftDoc } from '../../docs/types.js';
import { categoryLabel } from '../../protocols/wording.js';
import { createColors, legend, table } from '../format.js';
import { colorOut, DEFAULT_OUT, defaultOutDir, openModel, OUT_RULE, outDir, progressReporter, status, workSummary } from '../runtime.js';
import { runOptions, settingsFrom, type Command, type RunArgs } from './shared.js';
import { promptOptions, promptSettings, type PromptArgs } from './prompt-options.js';

const f = (x: number | null) => (x === null ? '—' : `${x > 0 ? '+' : ''}${x.toFixed(3)}`);
const ci = (c: [number, number] | null) => (c ? `[${f(c[0])}, ${f(c[1])}]` : '—');
/** "x [lo, hi]", highlighted when the CI excludes 0. */
const withCI = (x: number | null, c: [number, number] | null, mark: (s: string) => string) => {
  const s = `${f(x)} ${ci(c)}`;
  return c && (c[0] > 0 || c[1] < 0) ? mark(s) : s;
};

/** One row per category and axis: slope per turn, last − first turn, and both minus the neutral controls. */
export function formatDriftTable(doc: DriftDoc, color = false): string {
  const c = createColors(color);
  const names = new Map(doc.axes.map((a) => [a.id, `${a.positive}/${a.negative}`]));
  const rows = doc.categories.flatMap((cat) =>
    cat.axes.map((a, i) => [
      i === 0 ? (cat.control ? c.dim(`${categoryLabel(cat.id)} (${cat.scenarios})`) : `${categoryLabel(cat.id)} (${cat.scenarios})`) : '',
      names.get(a.axis) ?? a.axis,
      withCI(a.slope, a.slopeCI, c.bold),
      withCI(a.delta, a.deltaCI, c.bold),
      a.vsControl ? withCI(a.vsControl.slope, a.vsControl.slopeCI, c.yellow) : '',
      a.vsControl ? withCI(a.vsControl.delta, a.vsControl.deltaCI, c.yellow) : '',
    ]),
  );
  const conversations = doc.conversations.length;
  return [
    `${c.bold(doc.manifest.model.name)} ${c.dim(`· drift over ${doc.turns} turns, ${conversations} ${conversations === 1 ? 'conversation' : 'conversations'}`)}`,
    ...doc.warnings.map((w) => c.yellow(`warning: ${w}`)),
    table(['category (scenarios)', 'axis', 'slope per turn [95 % CI]', 'last − first [95 % CI]', 'slope − neutral', 'Δ − neutral'], rows, { color }),
    legend(`slope: OLS of score on turn; last − first: mean score of turn ${doc.turns} minus turn 1; "− neutral": the same minus the neutral controls (drift attributable to hostility); CIs: bootstrap over the scenarios of a category, ${doc.bootstrap.resamples.toLocaleString('en-US')} resamples, seed ${doc.bootstrap.seed}`, color),
  ].join('\n');
}

type DriftArgs = RunArgs & PromptArgs & { model: string; scenarios?: string; axes?: string; axesFile?: string; out?: string; cache: boolean; resamples: number; bootstrapSeed: number };

async function handler(a: DriftArgs) {
  const explicitOut = a.out === undefined ? undefined : outDir(a.out, '', 'drift.json and its journal');
  const { drift } = await import('../../protocols/drift.js');
  const { loadScenarioSet } = await import('../../protocols/drift-scenarios.js');
  // a bad scenario file fails before the model loads
  if (a.scenarios !== undefined) loadScenarioSet(a.scenarios);
  const model = await openModel(a.model, a);
  const out = explicitOut ?? defaultOutDir(model.info.name);
  const progress = progressReporter(a, 'drift');
  try {
    const doc = await drift(model, {
      ...settingsFrom(a),
      ...promptSettings(a),
      scenarios: a.scenarios,
      axes: a.axes,
      axesFile: a.axesFile,
      out,
      cache: a.cache,
      resamples: a.resamples,
      bootstrapSeed: a.bootstrapSeed,
      onProgress: progress.update,
      onStatus: (m) => status(a, m),
    });
    progress.done();
    if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else process.stdout.write(`${formatDriftTable(doc, colorOut())}\n`);
    status(a, `wrote ${join(out, 'drift.json')} (${workSummary(doc.timing)})`);
  } finally {
    await model.dispose();
  }
}

export const driftCommand: Command = {
  command: 'drift <model>',
  describe: 'behaviour drift over long hostile conversations: per category and axis, slope per turn and last − first turn against neutral controls',
  builder: (y) =>
    promptOptions(runOptions(y, { maxTokens: `new tokens per answer, the calibration answers included (default ${RUN_DEFAULTS.maxTokens})`, compat: true }))
      .positional('model', { type: 'string', demandOption: true, describe: 'GGUF model file' })
      .option('scenarios', { type: 'string', requiresArg: true, describe: 'scenario file (default: the built-in axes/drift-scenarios.json)' })
      .option('axes', { type: 'string', requiresArg: true, describe: 'calibrated axes file (from `moodaxis calibrate`) instead of the cache' })
      .option('axes-file', { type: 'string', requiresArg: true, describe: 'custom axis set (questions and instructions)' })
      .option('out', { type: 'string', requiresArg: true, describe: `${OUT_RULE} for drift.json and its journal (default ${DEFAULT_OUT})` })
      .option('resamples', { type: 'number', default: PROTOCOL_DEFAULTS.drift.resamples, requiresArg: true, describe: 'bootstrap resamples of the scenarios' })
      .option('bootstrap-seed', { type: 'number', default: RUN_DEFAULTS.seed, requiresArg: true, describe: 'bootstrap seed' })
      .option('cache', { type: 'boolean', default: PROTOCOL_DEFAULTS.cache, describe: 'reuse the axes calibrated for this model with the same seed and settings (--no-cache: calibrate again)' }),
  handler,
};
