/**
 * Hostile JSON inputs (issue 8, part 1): damaged calibrated-axes files (given to `score` and
 * `fingerprint --axes`), damaged axis-set files (given to `fingerprint` and `calibrate --axes-file`) and
 * damaged fingerprint documents (given to `compare` and `report`). Each one is checked in this process
 * (the library reader: a bad-input error naming the file and the field) and through the CLI in child
 * processes: exit 2, the error line names the file and the field, no crash, no partial output.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrate, errorCode, fingerprint, loadModel, writeAxesFile, type AxesDoc, type Model } from '../../lib/index.js';
import { readAxesFile } from '../../lib/docs/axes.js';
import { loadAxisSet } from '../../lib/method/axes-file.js';
import { readProtocolDoc } from '../../lib/cli/commands/report.js';
import { encodeVector } from '../../lib/docs/vectors.js';
import { testModel } from '../helpers/paths.js';
import { ensureBuilt } from '../helpers/cli.js';
import { expectNamedError, expectNoCrash, outputsIn, pool, runCli, writeMiniAxisSet, type CliRun } from './helpers.js';

const STORIES = testModel('stories260K.gguf');
const AIDREAMS = testModel('aidreams260K.gguf');
const SMALL = { maxTokens: 4, baselineMaxTokens: 4, tokenDecay: 1.0, cache: false } as const;

interface Case {
  name: string;
  /** File contents, or a special path. */
  body: string | { dir: true } | { missing: true } | { copyOf: string };
  /** The field (or problem) the error must name. */
  field: RegExp;
}

let dir: string;
let mini: string;
let goodAxes: string;
let otherAxes: string;
let goodFp: string;
let otherFp: string;
let axesJson: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let fpJson: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let miniJson: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'moodaxis-hostile-json-'));
  mini = writeMiniAxisSet(join(dir, 'mini-axes.json'));
  const models: Model[] = [];
  try {
    const stories = await loadModel(STORIES, { gpu: 'cpu', threads: 1 });
    const aidreams = await loadModel(AIDREAMS, { gpu: 'cpu', threads: 1 });
    models.push(stories, aidreams);
    const [a, b] = await Promise.all([calibrate(stories, { ...SMALL, axesFile: mini }), calibrate(aidreams, { ...SMALL, axesFile: mini })]);
    goodAxes = join(dir, 'stories-axes.json');
    otherAxes = join(dir, 'aidreams-axes.json');
    writeAxesFile(goodAxes, a);
    writeAxesFile(otherAxes, b);
    await Promise.all([fingerprint(stories, { ...SMALL, axes: a as AxesDoc, axesFile: mini, out: join(dir, 'fp-a') }), fingerprint(aidreams, { ...SMALL, axes: b as AxesDoc, axesFile: mini, out: join(dir, 'fp-b') })]);
    goodFp = join(dir, 'fp-a', 'fingerprint.json');
    otherFp = join(dir, 'fp-b', 'fingerprint.json');
  } finally {
    for (const m of models) await m.dispose();
  }
  axesJson = JSON.parse(readFileSync(goodAxes, 'utf8'));
  fpJson = JSON.parse(readFileSync(goodFp, 'utf8'));
  miniJson = JSON.parse(readFileSync(mini, 'utf8'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A deep copy of `doc` changed by `edit`, as JSON text. */
function edited<T>(doc: T, edit: (d: any) => void): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  const d = JSON.parse(JSON.stringify(doc));
  edit(d);
  return JSON.stringify(d, null, 2);
}

const floats = (n: number, value = 0.5) => encodeVector(new Float32Array(n).fill(value));

function writeCase(sub: string, c: Case): string {
  const folder = join(dir, sub);
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${c.name}.json`);
  const body = c.body;
  if (typeof body === 'string') writeFileSync(path, body);
  else if ('dir' in body) mkdirSync(path, { recursive: true });
  else if ('copyOf' in body) writeFileSync(path, readFileSync(body.copyOf));
  return path;
}

function libraryProblem(error: unknown, path: string, c: Case): string | null {
  const message = (error as Error)?.message ?? String(error);
  if (errorCode(error) !== 'BAD_INPUT') return `${c.name}: code ${errorCode(error)}: ${message}`;
  if (!message.includes(`${c.name}.json`)) return `${c.name}: the error does not name the file: ${message}`;
  if (!c.field.test(message)) return `${c.name}: the error does not name ${c.field}: ${message}`;
  return null;
}

async function expectLibraryErrors(sub: string, cases: Case[], read: (path: string) => Promise<unknown>): Promise<string[]> {
  const problems: string[] = [];
  for (const c of cases) {
    const path = writeCase(sub, c);
    try {
      await read(path);
      problems.push(`${c.name}: accepted`);
    } catch (error) {
      const p = libraryProblem(error, path, c);
      if (p) problems.push(p);
    }
  }
  return problems;
}

/** Runs `argsOf(path, out)` for every case; each must exit 2 naming the file and the field, without outputs. */
async function expectCliErrors(sub: string, cases: Case[], commands: Array<{ label: string; args: (path: string, out: string) => string[] }>): Promise<{ problems: string[]; runs: number; slowest: number }> {
  const jobs = cases.flatMap((c) => commands.map((cmd) => ({ c, cmd })));
  const problems: string[] = [];
  let slowest = 0;
  mkdirSync(join(dir, `${sub}-out`), { recursive: true }); // --out is a folder whose parent must exist
  const results = await pool(jobs, 4, async ({ c, cmd }, i) => {
    const path = join(dir, sub, `${c.name}.json`);
    const out = join(dir, `${sub}-out`, String(i));
    return { c, cmd, out, path, run: await runCli(cmd.args(path, out), { timeoutMs: 60_000, env: { MOODAXIS_CACHE_DIR: join(dir, 'cache') } }) };
  });
  for (const { c, cmd, out, path, run } of results) {
    slowest = Math.max(slowest, run.ms);
    const what = `${cmd.label} ${c.name}`;
    try {
      expectNoCrash(run, what);
      expect(run.status, `${what}: ${run.stderr.slice(-300)}`).toBe(2);
      expectNamedError(run, path, what, c.field);
      expect(outputsIn(out), `${what}: partial outputs`).toEqual([]);
    } catch (error) {
      problems.push((error as Error).message.split('\n').slice(0, 2).join(' | '));
    }
  }
  return { problems, runs: results.length, slowest };
}

function ok(run: CliRun, what: string) {
  expectNoCrash(run, what);
  expect([0, 1], `${what}: ${run.stderr}`).toContain(run.status);
}

describe('damaged calibrated axes files', () => {
  const cases = (): Case[] => {
    const text = readFileSync(goodAxes, 'utf8');
    return [
      { name: 'axes-truncated-20', body: text.slice(0, 20), field: /not valid JSON/ },
      { name: 'axes-truncated-half', body: text.slice(0, text.length >> 1), field: /not valid JSON/ },
      { name: 'axes-empty', body: '', field: /not valid JSON/ },
      { name: 'axes-null', body: 'null', field: /\(document\): expected an object, got null/ },
      { name: 'axes-array', body: '[1, 2, 3]', field: /\(document\): expected an object, got an array/ },
      { name: 'axes-kind', body: edited(axesJson, (d) => (d.kind = 'moodaxis.fingerprint')), field: /kind/ },
      { name: 'axes-schema-version', body: edited(axesJson, (d) => (d.schemaVersion = 2)), field: /schemaVersion/ },
      { name: 'axes-axes-object', body: edited(axesJson, (d) => (d.axes = {})), field: /axes/ },
      { name: 'axes-axes-empty', body: edited(axesJson, (d) => (d.axes = [])), field: /axes/ },
      { name: 'axes-vector-number', body: edited(axesJson, (d) => (d.axes[0].vector = 123)), field: /axes\[0\]\.vector/ },
      { name: 'axes-vector-short', body: edited(axesJson, (d) => (d.axes[0].vector = floats(32))), field: /axes\[0\]\.vector: has 32 values/ },
      { name: 'axes-vector-odd-bytes', body: edited(axesJson, (d) => (d.axes[0].vector = 'AAAAAAA')), field: /axes\[0\]\.vector/ },
      { name: 'axes-vector-array-string', body: edited(axesJson, (d) => (d.axes[0].vector = [...new Array(63).fill(0.1), 'x'])), field: /axes\[0\]\.vector/ },
      { name: 'axes-vector-base64-nan', body: edited(axesJson, (d) => (d.axes[0].vector = Buffer.from(new Float32Array(64).fill(Number.NaN).buffer).toString('base64'))), field: /axes\[0\]\.vector: holds values that are not finite/ },
      { name: 'axes-vector-array-long', body: edited(axesJson, (d) => (d.axes[0].vector = new Array(65).fill(0.1))), field: /axes\[0\]\.vector: has 65 values/ },
      { name: 'axes-center-string', body: edited(axesJson, (d) => (d.axes[0].center = 'zero')), field: /axes\[0\]\.center/ },
      { name: 'axes-scale-zero', body: edited(axesJson, (d) => (d.axes[0].scale = 0)), field: /axes\[0\]\.scale/ },
      { name: 'axes-scale-negative', body: edited(axesJson, (d) => (d.axes[0].scale = -1)), field: /axes\[0\]\.scale/ },
      { name: 'axes-auc-null', body: edited(axesJson, (d) => (d.axes[0].auc = null)), field: /axes\[0\]\.auc/ },
      { name: 'axes-n-fraction', body: edited(axesJson, (d) => (d.axes[0].n = 1.5)), field: /axes\[0\]\.n/ },
      { name: 'axes-id-empty', body: edited(axesJson, (d) => (d.axes[0].id = '')), field: /axes\[0\]\.id/ },
      { name: 'axes-no-manifest', body: edited(axesJson, (d) => delete d.manifest), field: /manifest/ },
      { name: 'axes-hidden-size-string', body: edited(axesJson, (d) => (d.manifest.model.hiddenSize = '64')), field: /manifest\.model\.hiddenSize/ },
      { name: 'axes-identity-number', body: edited(axesJson, (d) => (d.manifest.model.identity = 5)), field: /manifest\.model\.identity/ },
      { name: 'axes-a-gguf-file', body: { copyOf: STORIES }, field: /not valid JSON/ },
      { name: 'axes-a-directory', body: { dir: true }, field: /is a directory/ },
      { name: 'axes-missing', body: { missing: true }, field: /no such file/ },
    ];
  };
  /** Readable axes that do not fit stories260K: refused when applied to the model. */
  const misfits = (): Case[] => [
    { name: 'axes-other-model', body: { copyOf: otherAxes }, field: /another model.*calibrate axes for this model/ },
    { name: 'axes-other-hidden-size', body: edited(axesJson, (d) => { d.manifest.model.hiddenSize = 32; d.axes[0].vector = floats(32); }), field: /hidden size 32 but .* has 64/ },
  ];

  it('the library reader names the file and the field', async () => {
    expect(await expectLibraryErrors('axes', cases(), (p) => readAxesFile(p))).toEqual([]);
    for (const c of misfits()) writeCase('axes', c);
  });

  it('score and fingerprint --axes exit 2 naming the file and the field, with no output', async () => {
    const all = [...cases(), ...misfits()];
    for (const c of misfits()) writeCase('axes', c);
    const { problems, runs, slowest } = await expectCliErrors('axes', all, [
      { label: 'score', args: (p) => ['score', STORIES, '--axes', p, '--text', 'She was so happy.', '--gpu', 'cpu'] },
      { label: 'fingerprint --axes', args: (p, out) => ['fingerprint', STORIES, '--axes', p, '--axes-file', mini, '--gpu', 'cpu', '--max-tokens', '2', '--baseline-max-tokens', '2', '--no-cache', '--out', out, '--html'] },
    ]);
    console.log(`damaged axes files: ${all.length}, CLI runs: ${runs}, slowest ${(slowest / 1000).toFixed(2)} s`);
    expect(problems).toEqual([]);
    // the undamaged file works (the cases fail for their damage, not for the command line)
    ok(await runCli(['score', STORIES, '--axes', goodAxes, '--text', 'She was so happy.', '--gpu', 'cpu']), 'score with the good axes');
  });
});

describe('damaged axis-set (question) files', () => {
  const cases = (): Case[] => {
    const text = readFileSync(mini, 'utf8');
    return [
      { name: 'set-truncated', body: text.slice(0, text.length - 40), field: /not valid JSON \(/ },
      { name: 'set-empty', body: '', field: /not valid JSON/ },
      { name: 'set-axes-string', body: edited(miniJson, (d) => (d.axes = 'happy')), field: /axes: expected array/ },
      { name: 'set-one-calibration-question', body: edited(miniJson, (d) => (d.axes[0].calibration = d.axes[0].calibration.slice(0, 1))), field: /axes\[0\]\.calibration: expected at least 4 questions, got 1/ },
      { name: 'set-bad-id', body: edited(miniJson, (d) => (d.axes[0].id = 'Happy Sad')), field: /axes\[0\]\.id: must be snake_case/ },
      { name: 'set-no-baseline', body: edited(miniJson, (d) => delete d.baseline), field: /baseline: required field is missing/ },
      { name: 'set-unknown-key', body: edited(miniJson, (d) => (d.axes[0].colour = 'red')), field: /axes\[0\]: unknown key "colour"/ },
      { name: 'set-template-without-question', body: edited(miniJson, (d) => (d.axes[0].promptTemplate = '{instruction}')), field: /axes\[0\]\.promptTemplate/ },
      { name: 'set-evaluation-in-calibration', body: edited(miniJson, (d) => (d.axes[0].evaluation[1] = d.axes[0].calibration[0])), field: /axes\[0\]\.evaluation\[1\]: question .* is also a calibration question of the same axis/ },
      { name: 'set-empty-instruction', body: edited(miniJson, (d) => (d.axes[0].positiveInstruction = '  ')), field: /axes\[0\]\.positiveInstruction/ },
      { name: 'set-numbers-as-questions', body: edited(miniJson, (d) => (d.axes[0].evaluation = [1, 2])), field: /axes\[0\]\.evaluation\[0\]: expected string, got number/ },
      { name: 'set-name-number', body: edited(miniJson, (d) => (d.name = 42)), field: /name: expected string/ },
      { name: 'set-a-directory', body: { dir: true }, field: /is a directory/ },
      { name: 'set-missing', body: { missing: true }, field: /file not found/ },
    ];
  };

  it('the library reader names the file and the field', async () => {
    expect(await expectLibraryErrors('sets', cases(), (p) => loadAxisSet(p))).toEqual([]);
  });

  it('fingerprint and calibrate --axes-file exit 2 naming the file and the field, with no output', async () => {
    const all = cases();
    const { problems, runs, slowest } = await expectCliErrors('sets', all, [
      { label: 'fingerprint --axes-file', args: (p, out) => ['fingerprint', STORIES, '--axes-file', p, '--gpu', 'cpu', '--max-tokens', '2', '--baseline-max-tokens', '2', '--no-cache', '--out', out, '--html'] },
      { label: 'calibrate --axes-file', args: (p, out) => ['calibrate', STORIES, '--axes-file', p, '--gpu', 'cpu', '--max-tokens', '2', '--out', out] },
    ]);
    console.log(`damaged axis-set files: ${all.length}, CLI runs: ${runs}, slowest ${(slowest / 1000).toFixed(2)} s`);
    expect(problems).toEqual([]);
  });
});

describe('damaged response files (score --input)', () => {
  const cases = (): Case[] => [
    { name: 'input-truncated-line', body: '{"question": "Hi", "response": "She was happy."}\n{"question": "Hi", "resp', field: /line 2: not valid JSON/ },
    { name: 'input-no-response', body: '{"question": "Hi", "response": "She was happy."}\n{"question": "Hi"}\n', field: /line 2: response: expected a string/ },
    { name: 'input-response-number', body: '{"question": "Hi", "response": 42}\n', field: /line 1: response: expected a string/ },
    { name: 'input-a-gguf-file', body: { copyOf: STORIES }, field: /line 1: not valid JSON/ },
    { name: 'input-a-directory', body: { dir: true }, field: /is a directory/ },
    { name: 'input-missing', body: { missing: true }, field: /no such file/ },
  ];

  it('score --input exits 2 naming the file and the line', async () => {
    const all = cases();
    for (const c of all) writeCase('inputs', c);
    const { problems, runs } = await expectCliErrors('inputs', all, [{ label: 'score --input', args: (p) => ['score', STORIES, '--axes', goodAxes, '--input', p, '--gpu', 'cpu'] }]);
    console.log(`damaged response files: ${all.length}, CLI runs: ${runs}`);
    expect(problems).toEqual([]);
  });
});

describe('damaged fingerprint documents', () => {
  const cases = (): Case[] => {
    const text = readFileSync(goodFp, 'utf8');
    return [
      { name: 'fp-truncated-100', body: text.slice(0, 100), field: /not valid JSON/ },
      { name: 'fp-truncated-half', body: text.slice(0, text.length >> 1), field: /not valid JSON/ },
      { name: 'fp-empty', body: '', field: /not valid JSON|empty/ },
      { name: 'fp-null', body: 'null', field: /\(document\)/ },
      { name: 'fp-kind-axes', body: edited(fpJson, (d) => (d.kind = 'moodaxis.axes')), field: /kind/ },
      { name: 'fp-schema-version', body: edited(fpJson, (d) => (d.schemaVersion = 99)), field: /schemaVersion/ },
      { name: 'fp-axes-string', body: edited(fpJson, (d) => (d.axes = 'none')), field: /axes: expected an array/ },
      { name: 'fp-score-string', body: edited(fpJson, (d) => (d.axes[0].scores[1] = 'x')), field: /axes\[0\]\.scores/ },
      { name: 'fp-mean-null', body: edited(fpJson, (d) => (d.axes[0].mean = null)), field: /axes\[0\]\.mean/ },
      { name: 'fp-no-axis-id', body: edited(fpJson, (d) => delete d.axes[0].id), field: /axes\[0\]\.id/ },
      { name: 'fp-scores-ragged', body: edited(fpJson, (d) => d.axes.push({ ...d.axes[0], id: 'other_axis', scores: [0.1] })), field: /axes\[1\]\.scores: expected \d+ scores/ },
      { name: 'fp-stop-reason', body: edited(fpJson, (d) => (d.responses[0].stopReason = 'maybe')), field: /responses\[0\]\.stopReason/ },
      { name: 'fp-no-tool', body: edited(fpJson, (d) => delete d.manifest.tool), field: /manifest\.tool/ },
      { name: 'fp-model-array', body: edited(fpJson, (d) => (d.manifest.model = [])), field: /manifest\.model/ },
      { name: 'fp-no-timing', body: edited(fpJson, (d) => delete d.timing), field: /timing/ },
      { name: 'fp-a-gguf-file', body: { copyOf: STORIES }, field: /not valid JSON/ },
      { name: 'fp-a-directory', body: { dir: true }, field: /is a directory/ },
      { name: 'fp-missing', body: { missing: true }, field: /no such file/ },
    ];
  };

  it('the library reader names the file and the field', async () => {
    expect(await expectLibraryErrors('fps', cases(), (p) => readProtocolDoc(p))).toEqual([]);
  });

  it('compare and report exit 2 naming the file and the field, and write no report', async () => {
    const all = cases();
    const { problems, runs, slowest } = await expectCliErrors('fps', all, [
      { label: 'compare', args: (p) => ['compare', goodFp, p] },
      { label: 'report', args: (p, out) => ['report', goodFp, p, '--out', out] },
    ]);
    console.log(`damaged fingerprint documents: ${all.length}, CLI runs: ${runs}, slowest ${(slowest / 1000).toFixed(2)} s`);
    expect(problems).toEqual([]);
  });

  it('the undamaged documents compare and render', async () => {
    ok(await runCli(['compare', goodFp, otherFp]), 'compare');
    const out = join(dir, 'good-report', 'report.html');
    const run = await runCli(['report', goodFp, otherFp, '--out', join(dir, 'good-report')]);
    ok(run, 'report');
    expect(run.status).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(readFileSync(out, 'utf8')).toMatch(/<\/html>\s*$/);
  });
});
