/**
 * Usage mistakes: one line (with a suggestion when there is one) and exit 2, never the help; one style
 * for missing arguments; values that are wrong say what was given and what is expected; --out is a
 * folder whose parent must exist, and a missing value writes nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closest, editDistance, usageMessage } from '../../lib/cli/usage.js';
import { parseControlVectorSpec } from '../../lib/method/control-vector.js';
import { icc } from '../../lib/stats/index.js';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { testModel } from '../helpers/paths.js';

const STORIES = testModel('stories260K.gguf');
let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'moodaxis-usage-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** stderr of a usage error: exactly one line, exit 2, nothing on stdout. */
async function oneLine(args: string[], cwd?: string): Promise<string> {
  const r = await cli(args, cwd ? { cwd } : {});
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^moodaxis: error: /);
  return lines[0]!;
}

describe('suggestions', () => {
  it('edit distance and the closest name', () => {
    expect(editDistance('fingerprnt', 'fingerprint')).toBe(1);
    expect(editDistance('outt', 'out')).toBe(1);
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(closest('fingerprnt', ['fingerprint', 'calibrate'])).toBe('fingerprint');
    expect(closest('stab', ['stability', 'steer'])).toBe('stability');
    expect(closest('xyz', ['fingerprint', 'calibrate'])).toBeNull();
  });

  it('rewrites yargs messages as one line pointing to --help', () => {
    const ctx = { command: 'steer', positionals: ['model'], options: ['axes', 'axis', 'out'], commands: ['steer'] };
    expect(usageMessage('Missing required arguments: axes, axis', ctx, ['steer', 'm'])).toBe('steer: missing --axes, missing --axis (see moodaxis steer --help)');
    expect(usageMessage('Not enough non-option arguments: got 0, need at least 1', ctx, ['steer'])).toBe('steer: missing <model> (a GGUF model file) (see moodaxis steer --help)');
    expect(usageMessage('Unknown argument: axs', ctx, ['steer', 'm', '--axs', 'x'])).toBe('steer: unknown option --axs; did you mean --axes? (see moodaxis steer --help)');
  });
});

describe('mistakes on the command line', () => {
  it('a typo in a command or an option: one line with the suggestion, exit 2', async () => {
    expect(await oneLine(['fingerprnt', STORIES])).toBe('moodaxis: error: unknown command "fingerprnt"; did you mean fingerprint? (see moodaxis --help)');
    expect(await oneLine(['fingerprint', STORIES, '--outt', 'x'])).toBe('moodaxis: error: fingerprint: unknown option --outt; did you mean --out? (see moodaxis fingerprint --help)');
    expect(await oneLine([])).toMatch(/give a command \(see moodaxis --help\)/);
  });

  it('missing arguments and options in one style', async () => {
    const style = /^moodaxis: error: \w+: missing .* \(see moodaxis \w+ --help\)$/;
    for (const args of [['calibrate'], ['steer'], ['steer', STORIES], ['score', STORIES], ['fingerprint'], ['generate', STORIES], ['compare', 'a.json'], ['stats', 'icc']]) {
      const line = await oneLine(args);
      expect(line, args.join(' ')).toMatch(style);
    }
    expect(await oneLine(['steer', STORIES])).toContain('missing --axes, missing --axis');
    expect(await oneLine(['calibrate'])).toContain('missing <model> (a GGUF model file)');
  });

  it('a value of the wrong kind says what was given and what is expected', async () => {
    expect(await oneLine(['compare', 'a.json', 'b.json', '--threshold', 'abc'])).toBe('moodaxis: error: compare: --threshold: expected a number, got "abc" (see moodaxis compare --help)');
    expect(await oneLine(['fingerprint', STORIES, '--seed=x'])).toContain('--seed: expected a number, got "x"');
    expect(await oneLine(['fingerprint', STORIES, '--gpu', 'tpu'])).toContain('--gpu: "tpu" is not one of "auto", "cuda", "cpu"');
  });

  it('--control-vector FILE:abc where FILE exists: the scale is wrong, not the file', async () => {
    const vec = join(dir, 'warm.gguf');
    writeFileSync(vec, 'x');
    expect(() => parseControlVectorSpec(`${vec}:abc`)).toThrow(`--control-vector ${vec}:abc: the scale "abc" is not a number (FILE:SCALE, e.g. ${vec}:2)`);
    expect(parseControlVectorSpec(`${vec}:2`)).toEqual({ path: vec, scale: 2 });
    expect(await oneLine(['generate', STORIES, '--prompt', 'Hi', '--gpu', 'cpu', '--control-vector', `${vec}:abc`])).toContain('the scale "abc" is not a number');
  });

  it('score --axes with a fingerprint says it is not an axes file and where axes come from', async () => {
    const fp = join(dir, 'fingerprint.json');
    writeFileSync(fp, JSON.stringify({ kind: 'moodaxis.fingerprint', schemaVersion: 1, axes: [] }));
    const line = await oneLine(['score', STORIES, '--axes', fp, '--text', 'Hello.', '--gpu', 'cpu']);
    expect(line).toContain(`${fp}: kind is "moodaxis.fingerprint": this is a fingerprint document, not an axes file`);
    expect(line).toContain('moodaxis calibrate MODEL --out DIR');
    expect(line).toContain('~/.cache/moodaxis/axes');
  });

  it('icc(matrix) without options uses the CLI default form ICC(2,1)', () => {
    const m = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]];
    expect(icc(m).value).toBeCloseTo(icc(m, { model: '2,1' }).value, 15);
    expect(icc(m).value).toBeCloseTo(0.2898, 4);
  });
});

describe('--out', () => {
  it('without a value (or an empty one) is refused and writes nothing', async () => {
    const cwd = join(dir, 'empty-cwd');
    mkdirSync(cwd);
    expect(await oneLine(['fingerprint', STORIES, '--out'], cwd)).toContain('fingerprint: --out needs a value');
    expect(await oneLine(['fingerprint', STORIES, '--out='], cwd)).toContain('--out needs a folder');
    expect(await oneLine(['report', 'a.json', '--out'], cwd)).toContain('report: --out needs a value');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('is a folder: a file name, an existing file or a missing parent folder is refused, naming it', async () => {
    expect(await oneLine(['report', 'a.json', '--out', '/nonexistent/dir'])).toBe('moodaxis: error: --out /nonexistent/dir: the folder /nonexistent does not exist');
    expect(await oneLine(['report', 'a.json', '--out', join(dir, 'r.html')])).toContain('looks like a file name; --out is a folder (moodaxis writes report.html into it)');
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    expect(await oneLine(['calibrate', STORIES, '--out', file])).toContain('is a file; --out is a folder (moodaxis writes axes.json and its journal into it)');
    expect(await oneLine(['steer', STORIES, '--axes', 'a.json', '--axis', 'warm_cold', '--out', join(dir, 'no', 'such', 'steer-out/')])).toContain(`the folder ${join(dir, 'no', 'such')} does not exist`);
    expect(existsSync('/nonexistent')).toBe(false);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });
});
