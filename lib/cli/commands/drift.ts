/**
 * `moodaxis drift MODEL [--scenarios FILE]`: hostile and neutral multi-turn conversations, the drift of
 * every axis per category (slope per turn, last − first turn, both against the neutral controls);
 * writes drift.json into --out, prints a table (or the document with --json).
 */
import { join } from 'node:path';
import { PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../../defaults.js';
import type { DriftDoc } from '../../docs/types.js';
import { categoryLabel } from '../../protocols/wording.js';
import { createColors, fixed, legend, table, type NumberStyle } from '../format.js';
import { runModelCommand } from '../model-command.js';
import { colorOut, outDir, workSummary } from '../runtime.js';
import { ANSWER_TOKENS, AXES_FLAG, CACHE_FLAG, defineCommand, MODEL_ARG, outFlag, runOptions, settingsFrom } from './shared.js';
import { promptOptions, promptSettings } from './prompt-options.js';

/** Drift values: 3 decimals, signed. */
const DRIFT: NumberStyle = { digits: 3, plus: 'positive' };
const f = (x: number | null) => fixed(x, DRIFT);
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

const DRIFT_FILES = 'drift.json and its journal';

export const driftCommand = defineCommand({
  command: 'drift <model>',
  describe: 'behaviour drift over long hostile conversations: per category and axis, slope per turn and last − first turn against neutral controls',
  builder: (y) =>
    promptOptions(runOptions(y, { maxTokens: ANSWER_TOKENS, compat: true }))
      .positional('model', MODEL_ARG)
      .option('scenarios', { type: 'string', requiresArg: true, describe: 'scenario file (default: the built-in axes/drift-scenarios.json)' })
      .option('axes', AXES_FLAG)
      .option('axes-file', { type: 'string', requiresArg: true, describe: 'custom axis set (questions and instructions)' })
      .option('out', outFlag(DRIFT_FILES))
      .option('resamples', { type: 'number', default: PROTOCOL_DEFAULTS.drift.resamples, requiresArg: true, describe: 'bootstrap resamples of the scenarios' })
      .option('bootstrap-seed', { type: 'number', default: RUN_DEFAULTS.seed, requiresArg: true, describe: 'bootstrap seed' })
      .option('cache', CACHE_FLAG),
  async handler(a) {
    const out = outDir(a.out, DRIFT_FILES);
    const { drift } = await import('../../protocols/drift.js');
    const { loadScenarioSet } = await import('../../protocols/drift-scenarios.js');
    // a bad scenario file fails before the model loads
    if (a.scenarios !== undefined) loadScenarioSet(a.scenarios);
    await runModelCommand(a, {
      model: a.model,
      out,
      progress: 'drift',
      run: ({ model, out, onProgress, onStatus }) =>
        drift(model, {
          ...settingsFrom(a),
          ...promptSettings(a),
          scenarios: a.scenarios,
          axes: a.axes,
          axesFile: a.axesFile,
          out,
          cache: a.cache,
          resamples: a.resamples,
          bootstrapSeed: a.bootstrapSeed,
          onProgress,
          onStatus,
        }),
      text: (doc) => `${formatDriftTable(doc, colorOut())}\n`,
      summary: (doc, { out }) => `wrote ${join(out, 'drift.json')} (${workSummary(doc.timing)})`,
    });
  },
});
