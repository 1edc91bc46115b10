import { resolve } from 'node:path';
import { writeAxesFile } from '../../method/axes-doc.js';
import { calibrate } from '../../method/calibrate.js';
import { Journal, runKey } from '../../method/journal.js';
import { table } from '../format.js';
import { openModel, progressReporter, status } from '../runtime.js';
import { runOptions, settingsFrom, type Command, type RunArgs } from './shared.js';

async function handler(a: RunArgs & { model: string; axesFile?: string; out: string; set: 'A' | 'B' | 'C' }) {
  const model = await openModel(a.model, a);
  const progress = progressReporter(a, 'calibrate');
  const settings = settingsFrom(a);
  const journal = new Journal(`${resolve(a.out)}.journal.jsonl`, runKey({ kind: 'calibrate', identity: model.info.identity, settings, axesFile: a.axesFile ?? 'builtin', set: a.set }));
  try {
    const doc = await calibrate(model, { ...settings, axesFile: a.axesFile, set: a.set, journal, onProgress: (d, t) => progress.update(d, t) });
    progress.done();
    journal.close();
    writeAxesFile(a.out, doc);
    if (a.json) process.stdout.write(`${JSON.stringify({ ...doc, axes: doc.axes.map((x) => ({ ...x, vector: undefined, evalScores: undefined })) }, null, 2)}\n`);
    else if (!a.quiet) {
      process.stdout.write(
        `${table(['axis', 'AUC', "d'", 'n', 'scale'], doc.axes.map((x) => [`${x.positive}/${x.negative}`, x.auc.toFixed(2), x.dprime.toFixed(2), x.n, x.scale.toPrecision(3)]))}\n`,
      );
      status(a, `wrote ${a.out}`);
    }
  } finally {
    journal.close();
    await model.dispose();
  }
}

export const calibrateCommand: Command = {
  command: 'calibrate <model>',
  describe: 'calibrate the axes for a model and write the axes file',
  builder: (y) =>
    runOptions(y)
      .positional('model', { type: 'string', demandOption: true })
      .option('axes-file', { type: 'string', describe: 'custom axis set' })
      .option('set', { choices: ['A', 'B', 'C'] as const, default: 'A' as const, describe: 'calibration set' })
      .option('out', { type: 'string', demandOption: true, describe: 'axes file to write' }),
  handler,
};
