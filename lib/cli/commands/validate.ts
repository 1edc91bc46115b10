/**
 * `moodaxis validate FINGERPRINT.json (--ratings RATINGS.csv | --judge JUDGE.gguf)`: hidden-state scores
 * against independent ratings; writes validation.json beside the fingerprint (or into --out), prints a
 * table (or the document with --json).
 */
import { join, dirname, resolve } from 'node:path';
import { badInput } from '../../engine/errors.js';
import { ENGINE_DEFAULTS, PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../../defaults.js';
import { validateWithRatings } from '../../protocols/validate.js';
import type { ValidationDoc } from '../../docs/types.js';
import { createColors, fixed, table } from '../format.js';
import { runModelCommand } from '../model-command.js';
import { placementOptions } from '../placement.js';
import { colorOut, printResult, warn, type ResultOutput } from '../runtime.js';
import { defineCommand, PARALLEL_TEXT } from './shared.js';

const FLAG_TEXT = { negative: 'ρ < 0', 'ci-includes-0': 'CI includes 0', undefined: 'ρ undefined' } as const;
/** A correlation: 2 decimals, signed. */
const f = (x: number | null) => fixed(x, { plus: 'positive' });
const ci = (c: [number, number] | null) => (c ? `[${f(c[0])}, ${f(c[1])}]` : '—');

/** The validation table: per axis n, ρ, CI and flags, then the pooled row and the notes. */
export function formatValidationTable(doc: ValidationDoc, color = false): string {
  const c = createColors(color);
  const rows = doc.axes.map((a) => [`${a.positive}/${a.negative}`, a.n, f(a.rho), ci(a.ci), a.flags.length ? c.red(a.flags.map((x) => FLAG_TEXT[x]).join(', ')) : c.green('ok')]);
  rows.push([c.bold(`pooled (${doc.axes.length} ${doc.axes.length === 1 ? 'axis' : 'axes'})`), doc.pooled.n, c.bold(f(doc.pooled.rho)), ci(doc.pooled.ci), '']);
  const per = doc.responses.ratingsPerResponse;
  const lines = [
    table(['axis', { header: 'n', align: 'right' }, { header: 'Spearman ρ', align: 'right' }, { header: '95 % CI', align: 'right' }, ''], rows, { color }),
    `${doc.responses.rated} rated ${doc.responses.rated === 1 ? 'response' : 'responses'}, ${per.min === per.max ? per.min : `${per.min}–${per.max}`} ${per.max === 1 ? 'rating' : 'ratings'} per response and axis (averaged); bootstrap ${doc.bootstrap.resamples.toLocaleString('en-US')} resamples of the responses, seed ${doc.bootstrap.seed}`,
  ];
  for (const n of doc.notes) lines.push(c.dim(`note: ${n}`));
  if (doc.flagged.length) lines.push(c.yellow(`flagged (ρ < 0, CI includes 0 or ρ undefined): ${doc.axes.filter((a) => a.flags.length).map((a) => `${a.positive}/${a.negative}`).join(', ')}`));
  return lines.join('\n');
}

export const validateCommand = defineCommand({
  command: 'validate <fingerprint>',
  describe: "check a fingerprint's scores against independent ratings (a ratings CSV or a local judge model)",
  builder: (y) =>
    // the judge's placement flags (--rpc, --isolate, …) as on every command that loads a model
    placementOptions(y)
      .positional('fingerprint', { type: 'string', demandOption: true, describe: 'fingerprint.json' })
      .option('ratings', { type: 'string', describe: 'CSV with header questionId,pole,axis,rating (higher = positive pole; several raters: several rows)' })
      .option('judge', { type: 'string', describe: 'GGUF chat model that rates every baseline answer on every axis, 1–5' })
      .option('axes-file', { type: 'string', describe: "the fingerprint's custom axis set: pole instructions for the judge's rubric" })
      .option('parallel', { type: 'number', describe: `judge: sequences at once (${PARALLEL_TEXT})` })
      .option('gpu', { choices: ['auto', 'cuda', 'cpu'] as const, default: ENGINE_DEFAULTS.gpu, describe: 'judge: where to run it' })
      .option('out', { type: 'string', describe: "folder for validation.json (default: the fingerprint's folder)" })
      .option('resamples', { type: 'number', default: PROTOCOL_DEFAULTS.validate.resamples, describe: 'bootstrap resamples of the responses' })
      .option('seed', { type: 'number', default: RUN_DEFAULTS.seed, describe: 'bootstrap seed' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON on stdout and nothing else' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no table or status output' }),
  async handler(a) {
    if (!a.ratings === !a.judge) throw badInput('give exactly one source of ratings: --ratings RATINGS.csv or --judge JUDGE.gguf');
    const out = resolve(a.out ?? dirname(a.fingerprint));
    const options = { out, resamples: a.resamples, seed: a.seed };
    const output: ResultOutput<ValidationDoc> = {
      text: (doc) => (a.quiet ? '' : `${formatValidationTable(doc, colorOut())}\n`),
      summary: () => `wrote ${join(out, 'validation.json')}`,
    };
    if (a.judge) {
      const { validateWithJudge } = await import('../../protocols/judge.js');
      await runModelCommand(a, {
        model: a.judge,
        progress: 'judge',
        run: ({ model, onProgress }) =>
          validateWithJudge(a.fingerprint, { ...options, judge: model, parallel: a.parallel, axesFile: a.axesFile, onProgress, onWarning: (m) => warn(a, m) }),
        ...output,
      });
    } else printResult(a, await validateWithRatings(a.fingerprint, a.ratings!, options), output);
  },
});
