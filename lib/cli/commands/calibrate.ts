import { join } from 'node:path';
import { fixed, legend, table } from '../format.js';
import { runModelCommand } from '../model-command.js';
import { colorOut, outDir } from '../runtime.js';
import { defineCommand, MODEL_ARG, outFlag, runOptions, settingsFrom } from './shared.js';

/** The axes file calibrate writes into its output folder: axes.json for set A, axes-B.json, axes-C.json. */
export const axesFileName = (set: 'A' | 'B' | 'C') => (set === 'A' ? 'axes.json' : `axes-${set}.json`);

export const calibrateCommand = defineCommand({
  command: 'calibrate <model>',
  describe: 'calibrate the axes for a model and write the axes file (the cache of fingerprint and benchmark holds the same)',
  builder: (y) =>
    runOptions(y, { compat: true })
      .positional('model', MODEL_ARG)
      .option('axes-file', { type: 'string', requiresArg: true, describe: 'custom axis set (questions and instructions)' })
      .option('set', { choices: ['A', 'B', 'C'] as const, default: 'A' as const, describe: 'calibration question set (B and C: for stability checks)' })
      .option('out', outFlag('axes.json (set B: axes-B.json, C: axes-C.json) and its journal')),
  async handler(a) {
    const file = axesFileName(a.set);
    const out = outDir(a.out, `${file} and its journal`);
    const [{ writeAxesFile }, { calibrate }, { Journal, runKey }, { resolveSettings }, { axisLabel, plural }] = await Promise.all([
      import('../../method/axes-doc.js'),
      import('../../method/calibrate.js'),
      import('../../method/journal.js'),
      import('../../method/settings.js'),
      import('../../protocols/wording.js'),
    ]);
    const settings = resolveSettings(settingsFrom(a));
    await runModelCommand(a, {
      model: a.model,
      out,
      progress: 'calibrate',
      async run({ model, out, onProgress }) {
        const journal = new Journal(`${join(out, file)}.journal.jsonl`, runKey({ kind: 'calibrate', identity: model.info.identity, settings, axesFile: a.axesFile ?? 'builtin', set: a.set }));
        return calibrate(model, { ...settings, axesFile: a.axesFile, set: a.set, journal, onProgress }).finally(() => journal.close());
      },
      save: (doc, { out }) => writeAxesFile(join(out, file), doc),
      // the axes without their vectors and evaluation scores
      json: (doc) => ({ ...doc, axes: doc.axes.map((x) => ({ ...x, vector: undefined, evalScores: undefined })) }),
      text: (doc) =>
        `${table(['axis', 'AUC', 'd′', 'n', 'scale'], doc.axes.map((x) => [axisLabel(x), fixed(x.auc), fixed(x.dprime), x.n, x.scale.toPrecision(3)]))}\n` +
        `${legend('AUC, d′: pole separation on held-out answers · n: questions per pole · scale: maps projections to scores in −1 … +1', colorOut())}\n`,
      summary: (doc, { out }) => `wrote ${join(out, file)} (${plural(doc.axes.length, 'axis', 'axes')}; use it with --axes ${join(out, file)})`,
    });
  },
});
