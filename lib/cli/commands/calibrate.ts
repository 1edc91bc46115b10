import { join } from 'node:path';
import { colorOut, DEFAULT_OUT, defaultOutDir, openModel, OUT_RULE, outDir, progressReporter, status } from '../runtime.js';
import { runOptions, settingsFrom, type Command, type RunArgs } from './shared.js';

async function handler(a: RunArgs & { model: string; axesFile?: string; out?: string; set: 'A' | 'B' | 'C' }) {
  const [{ calibrate, axesDocName }, { table, legend }, { axisLabel, plural }] = await Promise.all([
    import('../../method/calibrate.js'),
    import('../format.js'),
    import('../../protocols/wording.js'),
  ]);
  const file = `${axesDocName(a.set)}.json`;
  const explicitOut = a.out === undefined ? undefined : outDir(a.out, '', `${file} and its journal`);
  const model = await openModel(a.model, a);
  const out = explicitOut ?? defaultOutDir(model.info.name);
  const path = join(out, file);
  const progress = progressReporter(a, 'calibrate');
  try {
    const doc = await calibrate(model, { ...settingsFrom(a), axesFile: a.axesFile, set: a.set, out, onProgress: progress.update });
    progress.done();
    if (a.json) process.stdout.write(`${JSON.stringify({ ...doc, axes: doc.axes.map((x) => ({ ...x, vector: undefined, evalScores: undefined })) }, null, 2)}\n`);
    else {
      process.stdout.write(`${table(['axis', 'AUC', 'd′', 'n', 'scale'], doc.axes.map((x) => [axisLabel(x), x.auc.toFixed(2), x.dprime.toFixed(2), x.n, x.scale.toPrecision(3)]))}\n`);
      process.stdout.write(`${legend('AUC, d′: pole separation on held-out answers · n: questions per pole · scale: maps projections to scores in −1 … +1', colorOut())}\n`);
    }
    status(a, `wrote ${path} (${plural(doc.axes.length, 'axis', 'axes')}; use it with --axes ${path})`);
  } finally {
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
      .option('out', { type: 'string', requiresArg: true, describe: `${OUT_RULE} for axes.json (set B: axes-B.json, C: axes-C.json) and its journal (default ${DEFAULT_OUT})` }),
  handler,
};
