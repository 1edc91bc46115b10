import { join } from 'node:path';
import { colorOut, defaultOutDir, openModel, OUT_RULE, outDir, progressReporter, status } from '../runtime.js';
import { runOptions, settingsFrom, type Command, type RunArgs } from './shared.js';

/** The axes file calibrate writes into its output folder: axes.json for set A, axes-B.json, axes-C.json. */
export const axesFileName = (set: 'A' | 'B' | 'C') => (set === 'A' ? 'axes.json' : `axes-${set}.json`);

async function handler(a: RunArgs & { model: string; axesFile?: string; out?: string; set: 'A' | 'B' | 'C' }) {
  const file = axesFileName(a.set);
  const explicitOut = a.out === undefined ? undefined : outDir(a.out, '', `${file} and its journal`);
  const [{ writeAxesFile }, { calibrate }, { Journal, runKey }, { resolveSettings }, { table, legend }, { axisLabel, plural }] = await Promise.all([
    import('../../method/axes-doc.js'),
    import('../../method/calibrate.js'),
    import('../../method/journal.js'),
    import('../../method/settings.js'),
    import('../format.js'),
    import('../../protocols/wording.js'),
  ]);
  const model = await openModel(a.model, a);
  const path = join(explicitOut ?? defaultOutDir(model.info.name), file);
  const progress = progressReporter(a, 'calibrate');
  const settings = resolveSettings(settingsFrom(a));
  const journal = new Journal(`${path}.journal.jsonl`, runKey({ kind: 'calibrate', identity: model.info.identity, settings, axesFile: a.axesFile ?? 'builtin', set: a.set }));
  try {
    const doc = await calibrate(model, { ...settings, axesFile: a.axesFile, set: a.set, journal, onProgress: progress.update });
    progress.done();
    journal.close();
    writeAxesFile(path, doc);
    if (a.json) process.stdout.write(`${JSON.stringify({ ...doc, axes: doc.axes.map((x) => ({ ...x, vector: undefined, evalScores: undefined })) }, null, 2)}\n`);
    else {
      process.stdout.write(`${table(['axis', 'AUC', 'd′', 'n', 'scale'], doc.axes.map((x) => [axisLabel(x), x.auc.toFixed(2), x.dprime.toFixed(2), x.n, x.scale.toPrecision(3)]))}\n`);
      process.stdout.write(`${legend('AUC, d′: pole separation on held-out answers · n: questions per pole · scale: maps projections to scores in −1 … +1', colorOut())}\n`);
    }
    status(a, `wrote ${path} (${plural(doc.axes.length, 'axis', 'axes')}; use it with --axes ${path})`);
  } finally {
    journal.close();
    await model.dispose();
  }
}

export const calibrateCommand: Command = {
  command: 'calibrate <model>',
  describe: 'calibrate the axes for a model and write the axes file (the cache of fingerprint and benchmark holds the same)',
  builder: (y) =>
    runOptions(y, { compat: true })
      .positional('model', { type: 'string', demandOption: true, describe: 'GGUF model file' })
      .option('axes-file', { type: 'string', requiresArg: true, describe: 'custom axis set (questions and instructions)' })
      .option('set', { choices: ['A', 'B', 'C'] as const, default: 'A' as const, describe: 'calibration question set (B and C: for stability checks)' })
      .option('out', { type: 'string', requiresArg: true, describe: `${OUT_RULE} for axes.json (set B: axes-B.json, C: axes-C.json) and its journal (default ./moodaxis-out/<model>)` }),
  handler,
};
