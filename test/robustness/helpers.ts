/** Shared helpers of the robustness tests: CLI child processes with a time limit, a small pool, files. */
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect } from 'vitest';
import { repoPath } from '../helpers/paths.js';
import { nodeHonouringPermissions } from '../helpers/privileges.js';

export interface CliRun {
  args: string[];
  /** Exit status (null when killed by a signal). */
  status: number | null;
  /** The signal that ended the process, if any (a crash: SIGSEGV, SIGABRT; or our time limit: SIGKILL). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** `node bin/moodaxis.js ...args` in a child process, killed after `timeoutMs`. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  return runNode([repoPath('bin/moodaxis.js'), ...args], options);
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run so that file permissions apply even as root (test/helpers/privileges.ts). */
  honourPermissions?: boolean;
}

/** `node ...args` in a child process, killed after `timeoutMs`. */
export function runNode(args: string[], options: RunOptions = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const spawnOptions: SpawnOptions = {
      cwd: options.cwd ?? repoPath('.'),
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    };
    const [cmd, cmdArgs] = options.honourPermissions ? nodeHonouringPermissions(args) : [process.execPath, args];
    const child = spawn(cmd, cmdArgs, spawnOptions);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      // could not start (e.g. EPERM switching user): report it like a failed run
      clearTimeout(timer);
      resolve({ args, status: null, signal: null, stdout, stderr: `${stderr}spawn failed: ${error.message}`, ms: performance.now() - t0, timedOut });
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ args, status, signal, stdout, stderr, ms: performance.now() - t0, timedOut });
    });
  });
}

/** Runs `fn` over `items` with at most `width` at a time; results in input order. */
export async function pool<T, R>(items: T[], width: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** A small custom axis set (story-mood cut to the minimum sizes): a fingerprint of it takes well under a second. */
export function writeMiniAxisSet(path: string): string {
  const full = JSON.parse(readFileSync(repoPath('test/data/story-mood.json'), 'utf8'));
  full.name = 'story-mood-mini';
  full.axes = full.axes.map((a: { calibration: string[]; evaluation: string[] }) => ({ ...a, calibration: a.calibration.slice(0, 4), evaluation: a.evaluation.slice(0, 2) }));
  full.baseline = full.baseline.slice(0, 2);
  writeFileSync(path, JSON.stringify(full, null, 2));
  return path;
}

/** Output files a failed run must not leave behind (partial or not). */
export const OUTPUTS = ['fingerprint.json', 'report.html', 'axes.json', 'stability.json', 'benchmark.json'];

/** The output files present in `dir` (temporary `*.tmp-*` files count: they are partial outputs). */
export function outputsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => OUTPUTS.includes(f) || /\.tmp-\d+$/.test(f));
}

/** A crash is a signal or the status a shell reports for one (134 abort, 139 segfault, 137 kill). */
export function expectNoCrash(run: CliRun, what: string): void {
  expect(run.timedOut, `${what}: still running after the time limit\n${run.stderr.slice(-500)}`).toBe(false);
  expect(run.signal, `${what}: killed by ${run.signal}\n${run.stderr.slice(-800)}`).toBeNull();
  expect([134, 137, 139], `${what}: exit ${run.status}\n${run.stderr.slice(-800)}`).not.toContain(run.status);
}

/** The CLI's error line names `file` and says what is wrong (more than the name). */
export function expectNamedError(run: CliRun, file: string, what: string, ...patterns: RegExp[]): string {
  const line = run.stderr.split('\n').find((l) => l.startsWith('moodaxis: error: ')) ?? '';
  expect(line, `${what}: no "moodaxis: error:" line in\n${run.stderr.slice(-800)}`).not.toBe('');
  const name = basename(file);
  expect(line.includes(name), `${what}: the error does not name ${name}: ${line}`).toBe(true);
  const detail = line.slice(line.indexOf(name) + name.length).replace(/^[:\s]+/, '');
  expect(detail.length, `${what}: the error says nothing after the file name: ${line}`).toBeGreaterThan(8);
  expect(run.stderr, `${what}: a stack trace was printed`).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
  for (const p of patterns) expect(line, what).toMatch(p);
  return line;
}

export const tmpOf = (dir: string, name: string) => join(dir, name);
