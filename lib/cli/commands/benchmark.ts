import { join } from 'node:path';
import { PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../../defaults.js';
import type { BenchmarkDoc } from '../../docs/types.js';
import { createColors, legend, table } from '../format.js';
import { colorOut, DEFAULT_OUT, defaultOutDir, openModel, OUT_RULE, outDir, progressReporter, status, workSummary } from '../runtime.js';
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
    `${c.bold(doc.manifest.model.name)} ${c.dim('· instruction following')}`,
    ...(doc.warnings ?? []).map((w) => c.yellow(`warning: ${w}`)),
    table(['scenario', 'axis', 'check', 'result'], rows, { color }),
    legend('check: what the scenario asks of the score on its axis (system prompt, or a follow-up asking for more or less)', color),
    `pass rate ${c.bold(`${doc.passed}/${doc.total}`)} (${Math.round(doc.passRate * 100)} %)`,
  ].join('\n');
}

async function handler(a: RunArgs & PromptArgs & { model: string; axes?: string; axesFile?: string; out?: string; threshold: number; cache: boolean }) {
  const explicitOut = a.out === undefined ? undefined : outDir(a.out, '', 'benchmark.json and its journal');
  const { benchmark } = await import('../../protocols/benchmark.js');
  const model = await openModel(a.model, a);
  const out = explicitOut ?? defaultOutDir(model.info.name);
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
      onProgress: progress.update,
      onStatus: (m) => status(a, m),
    });
    progress.done();
    if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else process.stdout.write(`${formatBenchmarkTable(doc, colorOut())}\n`);
    status(a, `wrote ${join(out, 'benchmark.json')} (${workSummary(doc.timing)})`);
  } finally {
    await model.dispose();
  }
}

export const benchmarkCommand: Command = {
  command: 'benchmark <model>',
  describe: 'instruction following: nine scenarios on warm/cold, confident/cautious, verbose/concise, pass rate x/9',
  builder: (y) =>
    promptOptions(runOptions(y, { maxTokens: `new tokens per answer, the calibration answers included (default ${RUN_DEFAULTS.maxTokens})`, compat: true }))
      .positional('model', { type: 'string', demandOption: true, describe: 'GGUF model file' })
      .option('axes', { type: 'string', requiresArg: true, describe: 'calibrated axes file (from `moodaxis calibrate`) instead of the cache' })
      .option('axes-file', { type: 'string', requiresArg: true, describe: 'custom axis set with warm_cold, confident_cautious and verbose_concise' })
      .option('out', { type: 'string', requiresArg: true, describe: `${OUT_RULE} for benchmark.json and its journal (default ${DEFAULT_OUT})` })
      .option('threshold', { type: 'number', default: PROTOCOL_DEFAULTS.benchmark.threshold, requiresArg: true, describe: 'score a system-prompt scenario must exceed' })
      .option('cache', { type: 'boolean', default: PROTOCOL_DEFAULTS.cache, describe: 'reuse the axes calibrated for this model with the same seed and settings (--no-cache: calibrate again)' }),
  handler,
};
