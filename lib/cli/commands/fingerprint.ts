import { join } from 'node:path';
import { PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../../defaults.js';
import { badInput } from '../../engine/errors.js';
import { missingArgument } from '../usage.js';
import { colorOut, DEFAULT_OUT, defaultOutDir, openModel, OUT_RULE, outDir, progressReporter, status, workSummary } from '../runtime.js';
import { BASELINE_TOKENS, runOptions, settingsFrom, type Command, type RunArgs } from './shared.js';
import { controlVectorOption, loadControlVectorArgs } from './control-vector.js';
import { promptOptions, promptSettings, type PromptArgs } from './prompt-options.js';

type FingerprintArgs = RunArgs &
  PromptArgs & {
  model?: string;
  demo?: boolean;
  axes?: string;
  axesFile?: string;
  out?: string;
  html?: boolean;
  cache: boolean;
  stability?: string;
  controlVector?: string | string[];
};

async function handler(a: FingerprintArgs) {
  if (!a.model && !a.demo) throw badInput(`fingerprint: ${missingArgument('model')} or --demo (see moodaxis fingerprint --help)`);
  const [{ DEMO_NOTE, demoModelPath }, { fingerprint }, { readStabilityFile }, { formatFingerprintTable }] = await Promise.all([
    import('../../protocols/demo.js'),
    import('../../protocols/fingerprint.js'),
    import('../../protocols/stability.js'),
    import('../format.js'),
  ]);
  const explicitOut = a.out === undefined ? undefined : outDir(a.out, '', 'fingerprint.json, its journal and report.html');
  const path = a.model ?? (await demoModelPath());
  if (!a.model) status(a, DEMO_NOTE);
  const model = await openModel(path, a);
  try {
    let stabilityCosine: Record<string, number> | undefined;
    if (a.stability) {
      stabilityCosine = (await readStabilityFile(a.stability, model.info.identity)).cosines;
      if (Object.keys(stabilityCosine).length === 0) status(a, `${a.stability} has no calibration-set stability (no sets B and C): dead zones stay partial`);
    }
    const out = explicitOut ?? defaultOutDir(model.info.name);
    const progress = progressReporter(a, 'fingerprint');
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
      onProgress: progress.update,
      onStatus: (m) => status(a, m),
    });
    progress.done();
    if (a.html) {
      const [{ renderReport }, { writeFileAtomic }] = await Promise.all([import('../../report/html.js'), import('../../docs/write.js')]);
      writeFileAtomic(join(out, 'report.html'), renderReport([doc]));
    }
    if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else {
      process.stdout.write(`${formatFingerprintTable(doc, { color: colorOut() })}\n`);
      if (!a.model) process.stdout.write(`${DEMO_NOTE}\n`);
    }
    status(a, `wrote ${join(out, 'fingerprint.json')}${a.html ? ` and ${join(out, 'report.html')}` : ''} (${workSummary(doc.timing)})`);
  } finally {
    await model.dispose();
  }
}

export const fingerprintCommand: Command = {
  command: 'fingerprint [model]',
  describe: "score a model's default style on every axis (calibrating first when no axes are cached for it)",
  builder: (y) =>
    promptOptions(runOptions(y, { maxTokens: `new tokens per calibration answer, when it calibrates (default ${RUN_DEFAULTS.maxTokens})`, baselineMaxTokens: BASELINE_TOKENS, compat: true }))
      .positional('model', { type: 'string', describe: 'GGUF model file' })
      .option('demo', { type: 'boolean', describe: 'run on the embedded demo model (random weights)' })
      .option('axes', { type: 'string', requiresArg: true, describe: 'calibrated axes file (from `moodaxis calibrate`) instead of the cache' })
      .option('axes-file', { type: 'string', requiresArg: true, describe: 'custom axis set (questions and instructions)' })
      .option('out', { type: 'string', requiresArg: true, describe: `${OUT_RULE} for fingerprint.json, its journal and report.html (default ${DEFAULT_OUT})` })
      .option('html', { type: 'boolean', describe: 'also write report.html into the output folder' })
      .option('cache', { type: 'boolean', default: PROTOCOL_DEFAULTS.cache, describe: 'reuse the axes calibrated for this model with the same seed and settings (--no-cache: calibrate again)' })
      .option('stability', { type: 'string', requiresArg: true, describe: 'stability.json of this model (`moodaxis stability`): full dead-zone severity' })
      .option('control-vector', controlVectorOption),
  handler,
};
