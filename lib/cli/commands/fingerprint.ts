import { join, resolve } from 'node:path';
import { badInput } from '../../engine/errors.js';
import { writeFileAtomic } from '../../method/journal.js';
import { DEMO_NOTE, demoModelPath } from '../../protocols/demo.js';
import { fingerprint } from '../../protocols/fingerprint.js';
import { readStabilityFile } from '../../protocols/stability.js';
import { renderReport } from '../../report/html.js';
import { formatFingerprintTable } from '../format.js';
import { colorOut, openModel, progressReporter, status } from '../runtime.js';
import { runOptions, settingsFrom, type Command, type RunArgs } from './shared.js';
import { promptOptions, promptSettings, type PromptArgs } from './prompt-options.js';

import { controlVectorOption, loadControlVectorArgs } from './steer.js';

async function handler(a: RunArgs & PromptArgs & { model?: string; demo?: boolean; axes?: string; axesFile?: string; out?: string; html?: boolean; cache: boolean; stability?: string; controlVector?: string | string[] }) {
  if (!a.model && !a.demo) throw badInput('give a model file (moodaxis fingerprint model.gguf) or --demo');
  const path = a.model ?? (await demoModelPath());
  if (!a.model) status(a, DEMO_NOTE);
  const model = await openModel(path, a);
  let stabilityCosine: Record<string, number> | undefined;
  if (a.stability) {
    try {
      stabilityCosine = (await readStabilityFile(a.stability, model.info.identity)).cosines;
    } catch (error) {
      await model.dispose();
      throw error;
    }
    if (Object.keys(stabilityCosine).length === 0) status(a, `${a.stability} has no calibration-set stability (no sets B and C): dead zones stay partial`);
  }
  const out = resolve(a.out ?? join('moodaxis-out', model.info.name.replace(/[^\w.-]+/g, '_')));
  const progress = progressReporter(a, 'fingerprint');
  try {
    const controlVector = await loadControlVectorArgs(a, model);
    const doc = await fingerprint(model, {
      ...settingsFrom(a),
      ...promptSettings(a),
      controlVector,
      axes: a.axes,
      axesFile: a.axesFile,
      out,
      cache: a.cache,
      demo: !a.model,
      stabilityCosine,
      onProgress: (done, total) => progress.update(done, total),
      onStatus: (m) => status(a, m),
    });
    progress.done();
    if (a.html) writeFileAtomic(join(out, 'report.html'), renderReport([doc]));
    if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else if (!a.quiet) {
      process.stdout.write(`${formatFingerprintTable(doc, { color: colorOut() })}\n`);
      if (!a.model) process.stdout.write(`${DEMO_NOTE}\n`);
      status(a, `wrote ${join(out, 'fingerprint.json')}${a.html ? ` and ${join(out, 'report.html')}` : ''} (${doc.timing.seconds.toFixed(1)} s, ${doc.timing.generatedTokens} tokens)`);
    }
  } finally {
    await model.dispose();
  }
}

export const fingerprintCommand: Command = {
  command: 'fingerprint [model]',
  describe: "score a model's default style on every axis (calibrating first when needed)",
  builder: (y) =>
    promptOptions(runOptions(y))
      .positional('model', { type: 'string', describe: 'GGUF model file' })
      .option('demo', { type: 'boolean', describe: 'run on the embedded demo model (random weights)' })
      .option('axes', { type: 'string', describe: 'calibrated axes file from `moodaxis calibrate`' })
      .option('axes-file', { type: 'string', describe: 'custom axis set (questions and instructions)' })
      .option('out', { type: 'string', describe: 'output folder (default ./moodaxis-out/<model>)' })
      .option('html', { type: 'boolean', describe: 'also write report.html' })
      .option('cache', { type: 'boolean', default: true, describe: 'reuse calibrated axes cached for this model' })
      .option('stability', { type: 'string', describe: 'stability.json of this model (`moodaxis stability`): full dead-zone severity' })
      .option('control-vector', controlVectorOption),
  handler,
};
