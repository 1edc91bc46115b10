/**
 * Interruptions (issue 8, part 2): `moodaxis fingerprint` on stories260K with the story-mood axis set,
 * stopped by SIGINT and then by SIGTERM part-way through, exits within 2 s with 130 / 143, leaves its
 * journal flushed (every line complete) and no fingerprint.json, and a rerun with the same arguments
 * resumes to the same document as an uninterrupted run (createdAt and timing.seconds aside).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoPath, testModel } from '../helpers/paths.js';
import { ensureBuilt } from '../helpers/cli.js';
import { expectNoCrash, runCli } from './helpers.js';

const STORIES = testModel('stories260K.gguf');
const TOTAL = 106; // 30 + 20 questions per pole, and 6 baseline questions
// 160 tokens per answer: about 3 s on one core, enough to be interrupted twice.
const args = (out: string) => ['fingerprint', STORIES, '--axes-file', repoPath('test/data/story-mood.json'), '--gpu', 'cpu', '--max-tokens', '160', '--baseline-max-tokens', '160', '--parallel', '4', '--no-cache', '--out', out];

let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'moodaxis-interrupt-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const journalLines = (out: string): string[] => {
  const p = join(out, 'fingerprint.journal.jsonl');
  return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter((l) => l !== '') : [];
};

/** The document without what differs between runs by design. */
function stable(path: string) {
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  // timing is each run's own work (a resumed run counts what it generated, and what came from the journal apart)
  return { ...doc, manifest: { ...doc.manifest, createdAt: null }, timing: null };
}

/** Starts the run, sends `signal` once the journal holds `after` responses, and measures the exit. */
function interruptAt(out: string, signal: 'SIGINT' | 'SIGTERM', after: number): Promise<{ status: number | null; signal: NodeJS.Signals | null; exitMs: number; stderr: string; sentAt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [repoPath('bin/moodaxis.js'), ...args(out)], { cwd: repoPath('.'), stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let sent = 0;
    let sentAt = -1;
    const poll = setInterval(() => {
      const n = journalLines(out).length - 1;
      if (!sent && n >= after) {
        sent = performance.now();
        sentAt = n;
        child.kill(signal);
      }
    }, 10);
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status, sig) => {
      clearInterval(poll);
      clearTimeout(guard);
      resolve({ status, signal: sig, exitMs: sent ? performance.now() - sent : -1, stderr, sentAt });
    });
  });
}

describe('interrupting fingerprint', () => {
  it('SIGINT, then SIGTERM, then a rerun: 130 and 143 within 2 s, the journal kept, the same result as an uninterrupted run', async () => {
    const whole = join(dir, 'whole');
    const t0 = performance.now();
    const ref = await runCli(args(whole), { timeoutMs: 120_000 });
    const wholeSeconds = (performance.now() - t0) / 1000;
    expectNoCrash(ref, 'uninterrupted run');
    expect(ref.status, ref.stderr).toBe(0);

    const out = join(dir, 'interrupted');
    // 1. SIGINT at about a third
    const first = await interruptAt(out, 'SIGINT', 30);
    expect(first.exitMs, 'the signal was never sent: the run ended first').toBeGreaterThan(0);
    expect(first.signal).toBeNull();
    expect(first.status, first.stderr).toBe(130);
    expect(first.exitMs).toBeLessThan(2000);
    expect(first.stderr).toMatch(/interrupted; finished responses are kept in the journal/);
    const afterFirst = journalLines(out);
    for (const line of afterFirst) JSON.parse(line); // flushed: every line complete
    expect(afterFirst.length - 1).toBeGreaterThanOrEqual(30);
    expect(afterFirst.length - 1).toBeLessThan(TOTAL);
    expect(existsSync(join(out, 'fingerprint.json'))).toBe(false);

    // 2. the rerun resumes; SIGTERM at about two thirds
    const second = await interruptAt(out, 'SIGTERM', 70);
    expect(second.exitMs).toBeGreaterThan(0);
    expect(second.signal).toBeNull();
    expect(second.status, second.stderr).toBe(143);
    expect(second.exitMs).toBeLessThan(2000);
    expect(second.stderr).toMatch(/terminated; finished responses are kept/);
    const afterSecond = journalLines(out);
    for (const line of afterSecond) JSON.parse(line);
    expect(afterSecond.slice(0, afterFirst.length)).toEqual(afterFirst); // kept, not rewritten
    expect(afterSecond.length - 1).toBeGreaterThanOrEqual(70);
    expect(afterSecond.length - 1).toBeLessThan(TOTAL);
    expect(existsSync(join(out, 'fingerprint.json'))).toBe(false);

    // 3. the last rerun finishes what is left and gives the uninterrupted result
    const t1 = performance.now();
    const last = await runCli(args(out), { timeoutMs: 120_000 });
    const lastSeconds = (performance.now() - t1) / 1000;
    expectNoCrash(last, 'resumed run');
    expect(last.status, last.stderr).toBe(0);
    expect(journalLines(out).length - 1).toBe(TOTAL);
    expect(stable(join(out, 'fingerprint.json'))).toEqual(stable(join(whole, 'fingerprint.json')));
    const [resumed, uninterrupted] = [join(out, 'fingerprint.json'), join(whole, 'fingerprint.json')].map((p) => JSON.parse(readFileSync(p, 'utf8')).timing);
    expect(resumed.restoredResponses).toBe(afterSecond.length - 1);
    expect(resumed.generatedTokens + resumed.restoredTokens).toBe(uninterrupted.generatedTokens);
    expect(last.stderr).toContain(`resuming: ${afterSecond.length - 1} of ${TOTAL} responses come from the journal`);
    console.log(
      `uninterrupted ${wholeSeconds.toFixed(2)} s; SIGINT after ${first.sentAt} responses → exit ${first.status} in ${first.exitMs.toFixed(0)} ms; ` +
        `SIGTERM after ${second.sentAt} → exit ${second.status} in ${second.exitMs.toFixed(0)} ms; resumed the last ${TOTAL - (afterSecond.length - 1)} in ${lastSeconds.toFixed(2)} s`,
    );
  });
});
