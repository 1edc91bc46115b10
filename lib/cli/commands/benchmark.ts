import { join, resolve } from 'node:path';
import { benchmark, type BenchmarkDoc } from '../../protocols/benchmark.js';
import { createColors, table } from '../format.js';
import { colorOut, openModel, progressReporter, status } from '../runtime.js';
import { runOptions, settingsFrom, type Command, type RunArgs } from './shared.js';
import { promptOptions, promptSettings, type PromptArgs } from './prompt-options.js';


/** The benchmark as a terminal table: one row per scenario with its check, then the pass rate. */
export function formatBenchmarkTable(doc: BenchmarkDoc, color = false): string {
  const c = createColors(color);
  const rows = doc.scenarios.map((s) => {
    const axis = doc.axes.find((a) => a.id === s.axis);
    return [
      s.name,
      axis ? `${axis.positive}/${axis.negative}` : s.axis,
      s.checks.map((k) => k.explanation).join('; '),
      s.passed ? c.green('pass') : c.red('FAIL'),
    ];
  });
  return [
    `${c.bold(doc.manifest.model.name)} ${c.dim('· instruction following (METHOD §6)')}`,
    table(['scenario', 'axis', 'check', 'result'], rows, { color }),
    `pass rate ${c.bold(`${doc.passed}/${doc.total}`)} (${Math.round(doc.passRate * 100)} %)`,
  ].join('\n');
}

async function handler(a: RunArgs & PromptArgs & { model: string; axes?: string; axesFile?: string; out?: string; threshold: number; cache: boolean }) {
  const model = await openModel(a.model, a);
  const out = resolve(a.out ?? join('moodaxis-out', model.info.name.replace(/[^\w.-]+/g, '_')));
  const progress = progressReporter(a, 'benchmark');
  try {
    const doc = await benchmark(model, {
      ...settingsFrom(a),
      ...promptSettings(a),
      axes: a.axes,
      axesFile: a.axesFile,
      out,
      cache: a.cache,
      threshold: a.threshold,
      onProgress: (done, total) => progress.update(done, total),
      onStatus: (m) => status(a, m),
    });
    progress.done();
    if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else if (!a.quiet) {
      process.stdout.write(`${formatBenchmarkTable(doc, colorOut())}\n`);
      status(a, `wrote ${join(out, 'benchmark.json')} (${doc.timing.seconds.toFixed(1)} s, ${doc.timing.generatedTokens} tokens)`);
    }
  } finally {
    await model.dispose();
  }
}

export const benchmarkCommand: Command = {
  command: 'benchmark <model>',
  describe: 'instruction following: nine scenarios on warm/cold, confident/cautious, verbose/concise, pass rate x/9',
  builder: (y) =>
    promptOptions(runOptions(y))
      .positional('model', { type: 'string', demandOption: true, describe: 'GGUF model file' })
      .option('axes', { type: 'string', describe: 'calibrated axes file from `moodaxis calibrate`' })
      .option('axes-file', { type: 'string', describe: 'custom axis set with warm_cold, confident_cautious and verbose_concise' })
      .option('out', { type: 'string', describe: 'output folder (default ./moodaxis-out/<model>): benchmark.json and its journal' })
      .option('threshold', { type: 'number', default: 0.1, describe: 'score a system-prompt scenario must exceed' })
      .option('cache', { type: 'boolean', default: true, describe: 'reuse calibrated axes cached for this model' }),
  handler,
};
