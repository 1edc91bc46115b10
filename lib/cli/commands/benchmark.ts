import { join } from 'node:path';
import { PROTOCOL_DEFAULTS } from '../../defaults.js';
import type { BenchmarkDoc } from '../../docs/types.js';
import { createColors, legend, percent, table } from '../format.js';
import { runModelCommand } from '../model-command.js';
import { colorOut, outDir, workSummary } from '../runtime.js';
import { ANSWER_TOKENS, AXES_FLAG, CACHE_FLAG, defineCommand, MODEL_ARG, outFlag, runOptions, settingsFrom } from './shared.js';
import { promptOptions, promptSettings } from './prompt-options.js';

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
    `pass rate ${c.bold(`${doc.passed}/${doc.total}`)} (${percent(doc.passRate)})`,
  ].join('\n');
}

const BENCHMARK_FILES = 'benchmark.json and its journal';

export const benchmarkCommand = defineCommand({
  command: 'benchmark <model>',
  describe: 'instruction following: nine scenarios on warm/cold, confident/cautious, verbose/concise, pass rate x/9',
  builder: (y) =>
    promptOptions(runOptions(y, { maxTokens: ANSWER_TOKENS, compat: true }))
      .positional('model', MODEL_ARG)
      .option('axes', AXES_FLAG)
      .option('axes-file', { type: 'string', requiresArg: true, describe: 'custom axis set with warm_cold, confident_cautious and verbose_concise' })
      .option('out', outFlag(BENCHMARK_FILES))
      .option('threshold', { type: 'number', default: PROTOCOL_DEFAULTS.benchmark.threshold, requiresArg: true, describe: 'score a system-prompt scenario must exceed' })
      .option('cache', CACHE_FLAG),
  async handler(a) {
    const out = outDir(a.out, BENCHMARK_FILES);
    const { benchmark } = await import('../../protocols/benchmark.js');
    await runModelCommand(a, {
      model: a.model,
      out,
      progress: 'benchmark',
      run: ({ model, out, onProgress, onStatus }) =>
        benchmark(model, { ...settingsFrom(a), ...promptSettings(a), axes: a.axes, axesFile: a.axesFile, out, cache: a.cache, threshold: a.threshold, onProgress, onStatus }),
      text: (doc) => `${formatBenchmarkTable(doc, colorOut())}\n`,
      summary: (doc, { out }) => `wrote ${join(out, 'benchmark.json')} (${workSummary(doc.timing)})`,
    });
  },
});
