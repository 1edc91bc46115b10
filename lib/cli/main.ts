/**
 * The moodaxis command line: thin over the library API. Each command parses flags, calls the library,
 * prints a table (or JSON with --json), and maps errors to exit codes (2: bad input, 1: other).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { badInput } from '../engine/errors.js';
import { writeAxesFile } from '../method/axes-doc.js';
import { calibrate } from '../method/calibrate.js';
import { Journal, runKey, writeFileAtomic } from '../method/journal.js';
import { score, type ScoreItem } from '../method/score.js';
import { resolveSettings } from '../method/settings.js';
import { DEMO_NOTE, demoModelPath } from '../protocols/demo.js';
import { doctorReport, formatDoctor } from '../protocols/doctor.js';
import { fingerprint } from '../protocols/fingerprint.js';
import { renderReport } from '../report/html.js';
import { formatFingerprintTable, table } from './format.js';
import { colorOut, fail, installSignalHandlers, openModel, progressReporter, status, type CommonArgs } from './runtime.js';

const runOptions = (y: Argv) =>
  y
    .option('seed', { type: 'number', default: 42, describe: 'run seed (per-response seeds derive from it)' })
    .option('parallel', { type: 'number', describe: 'sequences generated at once (default 16 on CPU, 64 on CUDA)' })
    .option('gpu', { choices: ['auto', 'cuda', 'cpu'] as const, default: 'auto' as const, describe: 'where to run the model' })
    .option('max-tokens', { type: 'number', describe: 'new tokens per calibration/evaluation response (default 200)' })
    .option('baseline-max-tokens', { type: 'number', describe: 'new tokens per baseline response (default 384)' })
    .option('compat', { choices: ['mood-axis'] as const, describe: "reproduce the reference code's capture positions" })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON on stdout and nothing else' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress or status output' });

type RunArgs = CommonArgs & { seed: number; parallel?: number; maxTokens?: number; baselineMaxTokens?: number; compat?: 'mood-axis' };

const settingsFrom = (a: RunArgs) =>
  resolveSettings({ seed: a.seed, parallel: a.parallel, maxTokens: a.maxTokens, baselineMaxTokens: a.baselineMaxTokens, compat: a.compat ?? null });

async function cmdFingerprint(a: RunArgs & { model?: string; demo?: boolean; axes?: string; axesFile?: string; out?: string; html?: boolean; cache: boolean }) {
  if (!a.model && !a.demo) throw badInput('give a model file (moodaxis fingerprint model.gguf) or --demo');
  const path = a.model ?? (await demoModelPath());
  if (!a.model) status(a, DEMO_NOTE);
  const model = await openModel(path, a);
  const out = resolve(a.out ?? join('moodaxis-out', model.info.name.replace(/[^\w.-]+/g, '_')));
  const progress = progressReporter(a, 'fingerprint');
  try {
    const doc = await fingerprint(model, {
      ...settingsFrom(a),
      axes: a.axes,
      axesFile: a.axesFile,
      out,
      cache: a.cache,
      demo: !a.model,
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

async function cmdCalibrate(a: RunArgs & { model: string; axesFile?: string; out: string; set: 'A' | 'B' | 'C' }) {
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

async function readScoreItems(a: { input?: string; text?: string; question: string }): Promise<ScoreItem[]> {
  if (a.text !== undefined) return [{ question: a.question, response: a.text }];
  if (!a.input) throw badInput('give --text "…" or --input responses.jsonl');
  let body: string;
  try {
    body = await readFile(a.input, 'utf8');
  } catch (error) {
    throw badInput(`${a.input}: cannot read (${(error as NodeJS.ErrnoException).code})`);
  }
  return body.split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    let item: ScoreItem;
    try {
      item = JSON.parse(line);
    } catch (error) {
      throw badInput(`${a.input}: line ${i + 1}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof item?.response !== 'string') throw badInput(`${a.input}: line ${i + 1}: response: expected a string`);
    return [{ question: typeof item.question === 'string' ? item.question : '', response: item.response }];
  });
}

async function cmdScore(a: RunArgs & { model: string; axes: string; input?: string; text?: string; question: string }) {
  const items = await readScoreItems(a);
  const model = await openModel(a.model, a);
  try {
    const doc = await score(model, a.axes, items, { parallel: a.parallel });
    if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else if (!a.quiet) {
      const axes = Object.keys(doc.items[0]?.scores ?? {});
      process.stdout.write(`${table(['#', 'tokens', ...axes], doc.items.map((it, i) => [i + 1, it.tokens, ...axes.map((k) => it.scores[k].toFixed(2))]))}\n`);
    }
  } finally {
    await model.dispose();
  }
}

async function cmdDoctor(a: { json?: boolean }) {
  const report = await doctorReport();
  process.stdout.write(a.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
}

export async function main(argv = hideBin(process.argv)): Promise<void> {
  installSignalHandlers();
  const wrap = <T>(fn: (a: T) => Promise<void>) => async (a: T) => {
    try {
      await fn(a);
    } catch (error) {
      fail(error);
    }
  };
  await yargs(argv)
    .scriptName('moodaxis')
    .usage('$0 <command> [options]\n\nBehavioural fingerprint of an open-weight LLM from its hidden states.')
    .command(
      'fingerprint [model]',
      "score a model's default style on every axis (calibrating first when needed)",
      (y) =>
        runOptions(y)
          .positional('model', { type: 'string', describe: 'GGUF model file' })
          .option('demo', { type: 'boolean', describe: 'run on the embedded demo model (random weights)' })
          .option('axes', { type: 'string', describe: 'calibrated axes file from `moodaxis calibrate`' })
          .option('axes-file', { type: 'string', describe: 'custom axis set (questions and instructions)' })
          .option('out', { type: 'string', describe: 'output folder (default ./moodaxis-out/<model>)' })
          .option('html', { type: 'boolean', describe: 'also write report.html' })
          .option('cache', { type: 'boolean', default: true, describe: 'reuse calibrated axes cached for this model' }),
      wrap(cmdFingerprint as (a: unknown) => Promise<void>),
    )
    .command(
      'calibrate <model>',
      'calibrate the axes for a model and write the axes file',
      (y) =>
        runOptions(y)
          .positional('model', { type: 'string', demandOption: true })
          .option('axes-file', { type: 'string', describe: 'custom axis set' })
          .option('set', { choices: ['A', 'B', 'C'] as const, default: 'A' as const, describe: 'calibration set' })
          .option('out', { type: 'string', demandOption: true, describe: 'axes file to write' }),
      wrap(cmdCalibrate as (a: unknown) => Promise<void>),
    )
    .command(
      'score <model>',
      'score given responses teacher-forced on calibrated axes',
      (y) =>
        runOptions(y)
          .positional('model', { type: 'string', demandOption: true })
          .option('axes', { type: 'string', demandOption: true })
          .option('input', { type: 'string', describe: 'JSON lines: {"question": …, "response": …}' })
          .option('text', { type: 'string', describe: 'one response to score' })
          .option('question', { type: 'string', default: '', describe: 'the question --text answers' }),
      wrap(cmdScore as (a: unknown) => Promise<void>),
    )
    .command('doctor', 'report the build, backends and devices, and whether CUDA is usable', (y) => y.option('json', { type: 'boolean' }), wrap(cmdDoctor))
    .demandCommand(1, 'give a command (moodaxis --help lists them)')
    .strict()
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help()}\n`);
      process.stderr.write(`moodaxis: error: ${msg}\n`);
      process.exit(2);
    })
    .help()
    .version()
    .parseAsync();
}
