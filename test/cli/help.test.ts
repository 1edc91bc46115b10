/**
 * `--help` of every command: whole words at every width, a description on every option and
 * positional, and only the flags the command uses.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../lib/cli/commands/index.js';
import { PARALLEL_DEFAULTS, PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../../lib/defaults.js';
import { visibleWidth } from '../../lib/cli/format.js';
import { readFileSync } from 'node:fs';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';

const names = commands.map((c) => c.command.split(' ')[0]!);
const help = async (args: string[], columns: number) => {
  const r = await cli([...args, '--help'], { env: { COLUMNS: String(columns) } });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};
// yargs right-aligns "[string]" and may set it against the last word of a full line: not a broken word
const words = (text: string) => text.split(/\s+|(?=\[(?:string|number|boolean|required|default|choices|array))/).filter(Boolean);

/** Option and positional lines of a help text read at a width where nothing wraps: [name, description]. */
function entries(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let section = '';
  for (const line of text.split('\n')) {
    if (/^(Positionals|Options):$/.test(line)) section = line;
    else if (/^\S/.test(line)) section = '';
    const m = /^ {2}(--?[\w-]+(?:, --?[\w-]+)*|\w+)(?: {2,}(.*))?$/.exec(line);
    if (section && m) out.push([m[1]!, (m[2] ?? '').replace(/(\s*\[[^\]]*\])+\s*$/, '').trim()]);
  }
  return out;
}

describe('moodaxis --help', () => {
  /** Every command's help where nothing wraps. */
  const wide = new Map<string, string>();
  beforeAll(async () => {
    await ensureBuilt();
    const texts = await Promise.all(names.map((n) => help([n], 2000)));
    names.forEach((n, i) => wide.set(n, texts[i]!));
  }, 120_000);

  it.each(['', ...names])('%s: no word is broken across lines at widths 60, 80 and 120', async (name) => {
    const args = name ? [name] : [];
    const [wide, ...texts] = await Promise.all([2000, 60, 80, 120].map((w) => help(args, w)));
    const reference = new Set(words(wide!));
    for (const [i, width] of [60, 80, 120].entries()) {
      const text = texts[i]!;
      const broken = words(text).filter((w) => !reference.has(w));
      expect(broken, `width ${width}`).toEqual([]);
      for (const line of text.split('\n')) expect(visibleWidth(line), `width ${width}: ${line}`).toBeLessThanOrEqual(width);
    }
  });

  it.each(names)('%s: every option and positional has a description', async (name) => {
    const list = entries(wide.get(name)!);
    expect(list.length).toBeGreaterThan(2);
    for (const [flag, description] of list) expect(description, `${name} ${flag}`).not.toBe('');
  });

  it('each command lists only the flags it uses', async () => {
    const flags = async (name: string) => entries(wide.get(name)!).map(([f]) => f.split(',')[0]!);
    expect(await flags('calibrate')).not.toContain('--baseline-max-tokens');
    const score = await flags('score');
    for (const unused of ['--seed', '--max-tokens', '--baseline-max-tokens', '--compat']) expect(score).not.toContain(unused);
    expect(score).toEqual(expect.arrayContaining(['--parallel', '--deterministic', '--gpu', '--json', '--quiet']));
    expect(await flags('steer')).not.toContain('--max-tokens');
    expect(await flags('benchmark')).not.toContain('--baseline-max-tokens');
    expect(await flags('generate')).not.toContain('--parallel');
    for (const name of ['report', 'stats', 'doctor', 'compare']) expect(await flags(name), name).toEqual(expect.arrayContaining(['--json', '--quiet']));
    expect(await flags('stats')).toContain('--form');
  });

  it('says the --out rule, where report.html goes, and that another seed calibrates again', async () => {
    const top = (await help([], 2000)).replace(/\s+/g, ' ');
    expect(top).toMatch(/--out is always a folder/);
    expect(top).toMatch(/another --seed calibrates again/);
    for (const name of ['fingerprint', 'calibrate', 'stability', 'benchmark', 'steer', 'report']) {
      const out = entries(wide.get(name)!).find(([f]) => f === '--out');
      expect(out?.[1], name).toMatch(/^output folder \(created when missing; its parent must exist\)/);
    }
    expect(entries(wide.get('fingerprint')!).find(([f]) => f === '--html')?.[1]).toMatch(/report\.html into the output folder/);
  });

  it('the defaults the help shows are those of lib/defaults.ts, the library\'s', () => {
    const line = (name: string, flag: string) => wide.get(name)!.split('\n').find((l) => l.trimStart().startsWith(`${flag} `)) ?? '';
    expect(line('compare', '--threshold')).toContain(`[default: ${PROTOCOL_DEFAULTS.compare.threshold}]`);
    expect(line('steer', '--alpha')).toContain(`[default: "${PROTOCOL_DEFAULTS.steer.alphas.join(',')}"]`);
    expect(line('fingerprint', '--seed')).toContain(`[default: ${RUN_DEFAULTS.seed}]`);
    expect(line('fingerprint', '--baseline-max-tokens')).toContain(`(default ${RUN_DEFAULTS.baselineMaxTokens})`);
    expect(line('fingerprint', '--parallel')).toContain(`(default ${PARALLEL_DEFAULTS.cpu} on CPU; on CUDA ${PARALLEL_DEFAULTS.cuda}, fewer where`);
    expect(line('generate', '--temperature')).toContain(`[default: ${RUN_DEFAULTS.temperature}]`);
    expect(line('stability', '--bootstrap')).toContain(`[default: ${PROTOCOL_DEFAULTS.stability.bootstrap}]`);
    expect(line('fingerprint', '--out')).toContain(`(default ./${PROTOCOL_DEFAULTS.outDir}/<model>)`);
  });

  it('the README\'s command examples use only flags their commands have', () => {
    const readme = readFileSync(repoPath('README.md'), 'utf8');
    const lines = [...readme.matchAll(/^npx moodaxis ([\w-]+)(.*)$/gm)];
    expect(lines.length).toBeGreaterThan(15);
    for (const [line, name, rest] of lines) {
      expect(names, line).toContain(name);
      const known = entries(wide.get(name!)!).flatMap(([f]) => f.split(', '));
      const flags = [...rest!.replace(/#.*$/, '').matchAll(/(?:^|[\s[])(--[\w-]+)/g)].map((m) => m[1]!.replace(/^--no-/, '--'));
      for (const flag of flags) expect(known, `${line}: ${flag}`).toContain(flag);
    }
  });
});
