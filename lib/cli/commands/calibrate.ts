import { join } from 'node:path';
import { fixed, legend, table } from '../format.js';
import { runModelCommand } from '../model-command.js';
import { colorOut, outDir } from '../runtime.js';
import { defineCommand, MODEL_ARG, outFlag, runOptions, settingsFrom } from './shared.js';

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
    const [{ calibrate, axesDocName }, { axisLabel, plural }] = await Promise.all([import('../../method/calibrate.js'), import('../../protocols/wording.js')]);
    const file = `${axesDocName(a.set)}.json`;
    const out = outDir(a.out, `${file} and its journal`);
    await runModelCommand(a, {
      model: a.model,
      out,
      progress: 'calibrate',
      // the library writes the axes file and its journal into `out`
      run: ({ model, out, onProgress }) => calibrate(model, { ...settingsFrom(a), axesFile: a.axesFile, set: a.set, out, onProgress }),
      // the axes without their vectors and evaluation scores
      json: (doc) => ({ ...doc, axes: doc.axes.map((x) => ({ ...x, vector: undefined, evalScores: undefined })) }),
      text: (doc) =>
        `${table(['axis', 'AUC', 'd′', 'n', 'scale'], doc.axes.map((x) => [axisLabel(x), fixed(x.auc), fixed(x.dprime), x.n, x.scale.toPrecision(3)]))}\n` +
        `${legend('AUC, d′: pole separation on held-out answers · n: questions per pole · scale: maps projections to scores in −1 … +1', colorOut())}\n`,
      summary: (doc, { out }) => `wrote ${join(out, file)} (${plural(doc.axes.length, 'axis', 'axes')}; use it with --axes ${join(out, file)})`,
    });
  },
});
