import { PROTOCOL_DEFAULTS } from '../../defaults.js';
import type { CompareDoc } from '../../docs/types.js';
import { createColors, fixed, legend, table, type NumberStyle } from '../format.js';
import { colorOut, printResult } from '../runtime.js';
import { defineCommand, outputOptions } from './shared.js';

/** A mean or a change of it: 2 decimals, signed. */
const SIGNED: NumberStyle = { plus: 'positive' };

/** Two fingerprints side by side: means ± std, delta, std ratio, flags. */
export function formatCompareTable(doc: CompareDoc, color = false): string {
  const c = createColors(color);
  const label = new Map(doc.axes.map((x) => [x.id, `${x.positive}/${x.negative}`]));
  const rows = doc.axes.map((x) => [
    `${x.positive}/${x.negative}`,
    `${fixed(x.a.mean, SIGNED)} ± ${fixed(x.a.std)}`,
    `${fixed(x.b.mean, SIGNED)} ± ${fixed(x.b.std)}`,
    x.moved ? c.red(fixed(x.delta, SIGNED)) : fixed(x.delta, SIGNED),
    x.suppressed ? c.yellow(fixed(x.stdRatio)) : fixed(x.stdRatio),
    [x.moved ? c.red('moved') : '', x.suppressed ? c.yellow('suppressed') : ''].filter(Boolean).join(', '),
  ]);
  const lines = [
    `${c.bold('A')} ${doc.a.model} ${c.dim(`(${doc.a.file})`)}`,
    `${c.bold('B')} ${doc.b.model} ${c.dim(`(${doc.b.file})`)}`,
    table(['axis', 'A mean ± std', 'B mean ± std', 'Δ (B − A)', 'std B/A', ''], rows, { color }),
    legend(`Δ: change of the mean score · std B/A: spread of B over A's (suppressed: under half of A's) · moved: |Δ| > ${doc.threshold}`, color),
  ];
  for (const n of doc.notes) lines.push(c.dim(`note: ${n}`));
  const moved = doc.moved.map((id) => label.get(id) ?? id);
  lines.push(
    moved.length
      ? c.red(`${moved.length} ${moved.length === 1 ? 'axis' : 'axes'} moved more than ${doc.threshold}: ${moved.join(', ')}`)
      : c.green(`no axis moved more than ${doc.threshold}`),
  );
  return lines.join('\n');
}

export const compareCommand = defineCommand({
  command: 'compare <a> <b>',
  describe: 'compare two fingerprints (score deltas, std ratios); exit 1 when an axis moved more than the threshold',
  builder: (y) =>
    outputOptions(y, 'no table: the exit code says it (0 still, 1 moved, 2 bad input)')
      .positional('a', { type: 'string', demandOption: true, describe: 'fingerprint.json (A, e.g. the base model or the old version)' })
      .positional('b', { type: 'string', demandOption: true, describe: 'fingerprint.json (B)' })
      .option('threshold', { type: 'number', default: PROTOCOL_DEFAULTS.compare.threshold, requiresArg: true, describe: 'largest |Δ mean| allowed before exiting 1' }),
  async handler(a) {
    const { compareFiles } = await import('../../protocols/compare.js');
    const doc = await compareFiles(a.a, a.b, { threshold: a.threshold });
    printResult(a, doc, { text: (d) => (a.quiet ? '' : `${formatCompareTable(d, colorOut())}\n`) });
    // 1: the style moved (a CI job can fail on it); bad input exits 2 through the shared handler.
    if (doc.moved.length) process.exitCode = 1;
  },
});
