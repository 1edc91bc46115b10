/**
 * The commands on stories260K with a small axis set: --quiet hides only progress and status, --out is a
 * folder for every command, tables follow the shared formats with a legend, a resumed run says what came
 * from the journal and times only its own work, and a calibration says why no cached axes fit.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { repoPath, testModel } from '../helpers/paths.js';

const STORIES = testModel('stories260K.gguf');
let dir: string;
let small: string;
let env: Record<string, string>;
const run = (args: string[]) => cli(args, { env });
/** A fingerprint on the small axis set with 8-token answers. */
const fpArgs = (out: string, ...more: string[]) => ['fingerprint', STORIES, '--axes-file', small, '--max-tokens', '8', '--baseline-max-tokens', '8', '--gpu', 'cpu', '--out', out, ...more];

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'moodaxis-cli-runs-'));
  env = { MOODAXIS_CACHE_DIR: join(dir, 'cache') };
  const full = JSON.parse(readFileSync(repoPath('test/data/story-mood.json'), 'utf8'));
  const [axis] = full.axes;
  small = join(dir, 'small.json');
  writeFileSync(small, JSON.stringify({ ...full, name: 'story-mood-small', axes: [{ ...axis, calibration: axis.calibration.slice(0, 8), evaluation: axis.evaluation.slice(0, 4) }] }));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fingerprint', () => {
  it('--quiet still prints the table (AUC with 2 decimals, d′, a legend); a rerun resumes from the journal and times only its own work', async () => {
    const out = join(dir, 'fp');
    const quiet = await run(fpArgs(out, '--no-cache', '--quiet'));
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    const table = quiet.stdout;
    expect(table).toMatch(/│\s+sad\s+│.*│\s+happy\s+│/);
    expect(table).toContain('d′');
    expect(table).toMatch(/│\s+\d\.\d\d\s+│\s+-?\d\.\d\d\s+│/); // AUC and d′, 2 decimals each
    expect(table).toMatch(/^legend: score: mean ± std over the questions · AUC, d′: /m);
    const first = JSON.parse(readFileSync(join(out, 'fingerprint.json'), 'utf8'));
    expect(first.timing.restoredResponses).toBeUndefined();

    // an interrupted run: the journal keeps its header and the first half of the responses
    const journal = readFileSync(join(out, 'fingerprint.journal.jsonl'), 'utf8').trim().split('\n');
    const total = journal.length - 1;
    const kept = Math.floor(total / 2);
    writeFileSync(join(out, 'fingerprint.journal.jsonl'), `${journal.slice(0, 1 + kept).join('\n')}\n`);
    const resumed = await run(fpArgs(out, '--no-cache'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`moodaxis: resuming: ${kept} of ${total} responses come from the journal`);
    expect(resumed.stderr).toMatch(new RegExp(`fingerprint ${total}/${total} done in \\d+:\\d\\d \\([^)]*, ${kept} from the journal\\)`));
    expect(resumed.stderr).not.toMatch(/\d{5,}\/s/);
    const doc = JSON.parse(readFileSync(join(out, 'fingerprint.json'), 'utf8'));
    expect(doc.timing.restoredResponses).toBe(kept);
    expect(doc.timing.generatedTokens + doc.timing.restoredTokens).toBe(first.timing.generatedTokens);
    expect(doc.timing.generatedTokens).toBeLessThan(first.timing.generatedTokens);
    expect(resumed.stderr).toContain(`${doc.timing.generatedTokens.toLocaleString('en-US')} tokens generated, ${kept} responses from the journal`);
    // deterministic on the CPU: the resumed run gives the same answers, so the same scores (d′ to float rounding)
    expect(doc.responses.map((r: { text: string }) => r.text)).toEqual(first.responses.map((r: { text: string }) => r.text));
    expect(doc.axes[0].scores).toEqual(first.axes[0].scores);
    expect(doc.axes[0].dprime).toBeCloseTo(first.axes[0].dprime, 6);
  });

  it('calibration says why no cached axes fit (another seed), and the baseline token limit does not change the cache key', async () => {
    const first = await run(fpArgs(join(dir, 'c1')));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('calibrating 1 axis (24 responses; no cached axes for this model yet)');
    const seed = await run(fpArgs(join(dir, 'c2'), '--seed', '3'));
    expect(seed.stderr).toContain('calibrating 1 axis (24 responses; no cached axes for these settings: seed 3 (cached: 42))');
    const baseline = await run(fpArgs(join(dir, 'c3'), '--baseline-max-tokens', '6'));
    expect(baseline.stderr).toMatch(/using cached axes /);
    expect(baseline.stderr).not.toContain('calibrating');
  });
});

describe('calibrate, score, steer, report: --out is a folder', () => {
  it('calibrate writes axes.json into the folder; score and steer read it; steer writes steer-<axis>.json into its folder', async () => {
    const cal = await run(['calibrate', STORIES, '--axes-file', small, '--max-tokens', '8', '--gpu', 'cpu', '--out', join(dir, 'cal')]);
    expect(cal.code, cal.stderr).toBe(0);
    const axes = join(dir, 'cal', 'axes.json');
    expect(existsSync(axes)).toBe(true);
    expect(cal.stdout).toMatch(/│ axis\s+│ AUC\s+│ d′\s+│ n\s+│ scale\s+│/);
    expect(cal.stdout).toMatch(/│ happy\/sad │ \d\.\d\d │/);
    expect(cal.stdout).toMatch(/^legend: AUC, d′: .* n: questions per pole · scale: /m);
    expect(cal.stderr).toContain(`wrote ${axes} (1 axis; use it with --axes ${axes})`);

    const score = await run(['score', STORIES, '--axes', axes, '--text', 'She was so happy.', '--gpu', 'cpu', '--deterministic']);
    expect(score.code, score.stderr).toBe(0);
    expect(score.stdout).toMatch(/│ #\s+│ tokens\s+│ happy\/sad\s+│/);
    const seeded = await run(['score', STORIES, '--axes', axes, '--text', 'x', '--seed', '3']);
    expect(seeded.code).toBe(2);
    expect(seeded.stderr).toContain('score: unknown option --seed');

    const steerOut = join(dir, 'steer-out');
    const vec = join(dir, 'happy.gguf');
    const steer = await run(['steer', STORIES, '--axes', axes, '--axis', 'happy_sad', '--axes-file', small, '--alpha=-4,0,4', '--layers', '2-3', '--baseline-max-tokens', '8', '--gpu', 'cpu', '--out', `${steerOut}/`, '--export', vec]);
    expect(steer.code, steer.stderr).toBe(0);
    expect(existsSync(join(steerOut, 'steer-happy_sad.json'))).toBe(true);
    expect(steer.stdout).toContain('happy/sad score');
    expect(steer.stdout).toMatch(/· layers 2, 3 ·/);
    expect(steer.stdout).toMatch(/^legend: α: strength · score: /m);
    expect(steer.stdout + steer.stderr).not.toMatch(/blocks|->/);
    expect(steer.stderr).toContain(`llama-cli --control-vector-scaled ${vec}:2`);
    expect(steer.stderr).toContain('steering happy/sad on 6 questions × 1 at α -4, 0, 4; layers 2, 3');

    const report = await run(['report', join(dir, 'fp', 'fingerprint.json'), join(steerOut, 'steer-happy_sad.json'), '--out', join(dir, 'rep'), '--json']);
    expect(report.code, report.stderr).toBe(0);
    expect(JSON.parse(report.stdout)).toEqual({ report: join(dir, 'rep', 'report.html'), documents: [join(dir, 'fp', 'fingerprint.json'), join(steerOut, 'steer-happy_sad.json')] });
    expect(report.stderr).toBe('');
    expect(readFileSync(join(dir, 'rep', 'report.html'), 'utf8')).toMatch(/<\/html>\s*$/);
  });
});

describe('stats and doctor: --quiet and --json', () => {
  it('stats --quiet prints only the statistic; --form is the ICC form and --model its old name', async () => {
    const csv = join(dir, 'm.csv');
    writeFileSync(csv, '9,2,5,8\n6,1,3,2\n8,4,6,8\n7,1,2,6\n10,5,6,9\n6,2,4,7\n');
    expect((await run(['stats', 'icc', csv, '--quiet'])).stdout).toBe('0.2898\n');
    expect((await run(['stats', 'icc', csv, '--form', '3,k', '--quiet'])).stdout).toBe('0.9093\n');
    expect((await run(['stats', 'icc', csv, '--model', '3,k', '--quiet'])).stdout).toBe('0.9093\n');
    const table = await run(['stats', 'icc', csv]);
    expect(table.stdout).toMatch(/^legend: \* the form asked for \(--form 2,1\)/m);
    expect((await run(['stats', 'pca', csv, '--quiet'])).stdout).toMatch(/^\d\.\d\d \/ 4\n$/);
  });

  it('doctor --quiet prints the cuda line, --json the report', async () => {
    const quiet = await run(['doctor', '--quiet']);
    expect(quiet.stdout).toMatch(/^cuda (usable|not usable)\n$/);
    expect(JSON.parse((await run(['doctor', '--json'])).stdout).backends).toContain('CPU');
  });
});
