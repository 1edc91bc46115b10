import { join } from 'node:path';
import { RUN_DEFAULTS } from '../../defaults.js';
import { badInput } from '../../engine/errors.js';
import { missingArgument } from '../usage.js';
import { runModelCommand } from '../model-command.js';
import { colorOut, outDir, status, workSummary } from '../runtime.js';
import { AXES_FLAG, BASELINE_TOKENS, CACHE_FLAG, defineCommand, outFlag, runOptions, settingsFrom } from './shared.js';
import { controlVectorOption, loadControlVectorArgs } from './control-vector.js';
import { promptOptions, promptSettings } from './prompt-options.js';

const FINGERPRINT_FILES = 'fingerprint.json, its journal and report.html';

export const fingerprintCommand = defineCommand({
  command: 'fingerprint [model]',
  describe: "score a model's default style on every axis (calibrating first when no axes are cached for it)",
  builder: (y) =>
    promptOptions(runOptions(y, { maxTokens: `new tokens per calibration answer, when it calibrates (default ${RUN_DEFAULTS.maxTokens})`, baselineMaxTokens: BASELINE_TOKENS, compat: true }))
      .positional('model', { type: 'string', describe: 'GGUF model file' })
      .option('demo', { type: 'boolean', describe: 'run on the embedded demo model (random weights)' })
      .option('axes', AXES_FLAG)
      .option('axes-file', { type: 'string', requiresArg: true, describe: 'custom axis set (questions and instructions)' })
      .option('out', outFlag(FINGERPRINT_FILES))
      .option('html', { type: 'boolean', describe: 'also write report.html into the output folder' })
      .option('cache', CACHE_FLAG)
      .option('stability', { type: 'string', requiresArg: true, describe: 'stability.json of this model (`moodaxis stability`): full dead-zone severity' })
      .option('control-vector', controlVectorOption),
  async handler(a) {
    if (!a.model && !a.demo) throw badInput(`fingerprint: ${missingArgument('model')} or --demo (see moodaxis fingerprint --help)`);
    const [{ DEMO_NOTE, demoModelPath }, { fingerprint }, { readStabilityFile }, { formatFingerprintTable }] = await Promise.all([
      import('../../protocols/demo.js'),
      import('../../protocols/fingerprint.js'),
      import('../../protocols/stability.js'),
      import('../format.js'),
    ]);
    const out = outDir(a.out, FINGERPRINT_FILES);
    const path = a.model ?? (await demoModelPath());
    if (!a.model) status(a, DEMO_NOTE);
    await runModelCommand(a, {
      model: path,
      out,
      progress: 'fingerprint',
      async run({ model, out, onProgress, onStatus }) {
        let stabilityCosine: Record<string, number> | undefined;
        if (a.stability) {
          stabilityCosine = (await readStabilityFile(a.stability, model.info.identity)).cosines;
          if (Object.keys(stabilityCosine).length === 0) onStatus(`${a.stability} has no calibration-set stability (no sets B and C): dead zones stay partial`);
        }
        const controlVector = await loadControlVectorArgs(a, model);
        return fingerprint(model, {
          ...settingsFrom(a),
          ...promptSettings(a),
          controlVector,
          axes: a.axes,
          axesFile: a.axesFile,
          out,
          cache: a.cache,
          demo: !a.model,
          stabilityCosine,
          onProgress,
          onStatus,
        });
      },
      async save(doc, { out }) {
        if (!a.html) return;
        const [{ renderReport }, { writeFileAtomic }] = await Promise.all([import('../../report/html.js'), import('../../docs/write.js')]);
        writeFileAtomic(join(out, 'report.html'), renderReport([doc]));
      },
      text: (doc) => `${formatFingerprintTable(doc, { color: colorOut() })}\n${a.model ? '' : `${DEMO_NOTE}\n`}`,
      summary: (doc, { out }) => `wrote ${join(out, 'fingerprint.json')}${a.html ? ` and ${join(out, 'report.html')}` : ''} (${workSummary(doc.timing)})`,
    });
  },
});
