/**
 * `moodaxis validate FINGERPRINT.json (--ratings RATINGS.csv | --judge JUDGE.gguf)`: hidden-state scores
 * against independent ratings; writes validation.json beside the fingerprint (or into --out), prints a
 * table (or the document with --json).
 */
import { join, dirname, resolve } from 'node:path';
import { badInput } from '../../engine/errors.js';
import type { GpuChoice } from '../../engine/model.js';
import { validateWithJudge } from '../../protocols/judge.js';
import { DEFAULT_VALIDATION_RESAMPLES, DEFAULT_VALIDATION_SEED, validateWithRatings } from '../../protocols/validate.js';
import type { ValidationDoc } from '../../protocols/validation-doc.js';
import { createColors, table } from '../format.js';
import { colorOut, onInterrupt, progressReporter, status, type CommonArgs } from '../runtime.js';
import { loadModel } from '../../engine/model.js';
import type { Command } from './shared.js';

const FLAG_TEXT = { negative: 'ρ < 0', 'ci-includes-0': 'CI includes 0', undefined: 'ρ undefined' } as const;
const f = (x: number | null) => (x === null ? '—' : `${x > 0 ? '+' : ''}${x.toFixed(2)}`);
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

type ValidateArgs = CommonArgs & { fingerprint: string; ratings?: string; judge?: string; axesFile?: string; parallel?: number; gpu?: GpuChoice; out?: string; resamples: number; seed: number };

async function judged(a: ValidateArgs, options: { out: string; resamples: number; seed: number }) {
  const judge = await loadModel(a.judge!, { gpu: a.gpu ?? 'auto', onWarning: (m) => !a.quiet && process.stderr.write(`moodaxis: warning: ${m}\n`) });
  onInterrupt(() => judge.dispose());
  const progress = progressReporter(a, 'judge');
  try {
    const doc = await validateWithJudge(a.fingerprint, {
      ...options,
      judge,
      parallel: a.parallel,
      axesFile: a.axesFile,
      onProgress: (done, total) => progress.update(done, total),
      onWarning: (m) => !a.quiet && process.stderr.write(`moodaxis: warning: ${m}\n`),
    });
    progress.done();
    return doc;
  } finally {
    await judge.dispose();
  }
}

async function handler(a: ValidateArgs) {
  if (!a.ratings === !a.judge) throw badInput('give exactly one source of ratings: --ratings RATINGS.csv or --judge JUDGE.gguf');
  const out = resolve(a.out ?? dirname(a.fingerprint));
  const options = { out, resamples: a.resamples, seed: a.seed };
  const doc = a.judge ? await judged(a, options) : await validateWithRatings(a.fingerprint, a.ratings!, options);
  if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else if (!a.quiet) process.stdout.write(`${formatValidationTable(doc, colorOut())}\n`);
  status(a, `wrote ${join(out, 'validation.json')}`);
}

export const validateCommand: Command = {
  command: 'validate <fingerprint>',
  describe: "check a fingerprint's scores against independent ratings (a ratings CSV or a local judge model)",
  builder: (y) =>
    y
      .positional('fingerprint', { type: 'string', demandOption: true, describe: 'fingerprint.json' })
      .option('ratings', { type: 'string', describe: 'CSV with header questionId,pole,axis,rating (higher = positive pole; several raters: several rows)' })
      .option('judge', { type: 'string', describe: 'GGUF chat model that rates every baseline answer on every axis, 1–5' })
      .option('axes-file', { type: 'string', describe: "the fingerprint's custom axis set: pole instructions for the judge's rubric" })
      .option('parallel', { type: 'number', describe: 'judge: sequences at once (default 16 on CPU; on CUDA 256, fewer where their KV cache would take over half the free GPU memory)' })
      .option('gpu', { choices: ['auto', 'cuda', 'cpu'] as const, default: 'auto' as const, describe: 'judge: where to run it' })
      .option('out', { type: 'string', describe: "folder for validation.json (default: the fingerprint's folder)" })
      .option('resamples', { type: 'number', default: DEFAULT_VALIDATION_RESAMPLES, describe: 'bootstrap resamples of the responses' })
      .option('seed', { type: 'number', default: DEFAULT_VALIDATION_SEED, describe: 'bootstrap seed' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON on stdout and nothing else' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no table or status output' }),
  handler,
};
