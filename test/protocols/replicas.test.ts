/**
 * Data parallel replicas on the real addon: a deterministic fingerprint of stories260K split over two
 * replicas (two child processes; on this CPU-only CI `replicas: 2` with `gpu: 'cpu'` stands where
 * `gpus` names two GPUs: the same code splits the work, only the pinning differs) is byte-identical,
 * apart from timing, to the one of one in-process model; progress, journal and resume work across the
 * replicas; and the CLI takes the flags.
 *
 * Byte-identity needs every sequence computed the same way whoever its batch neighbours are. On a GPU
 * deterministic mode decodes each sequence alone, so it holds at any `parallel`. On the CPU the batched
 * path matches to the bit only while no decode holds a single token: ggml's CPU matrix product takes
 * llamafile's sgemm for two or more columns and its vec_dot loop (another summation order) for one, and
 * which sequences end up alone in a decode (the tail of a call) depends on how the requests were
 * split. So the byte-identical runs use `parallel: 1` (every decode one token: the same path in both);
 * at the default `parallel` the texts are identical and the scores agree to 1e-6.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, loadModel, type FingerprintDoc, type Model } from '../../lib/index.js';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { repoPath, testModel } from '../helpers/paths.js';

const STORIES = testModel('stories260K.gguf');
const STORY_MOOD = repoPath('test/data/story-mood.json');
const SMALL = { maxTokens: 8, baselineMaxTokens: 8, tokenDecay: 1.0, cache: false, axesFile: STORY_MOOD, parallel: 1 } as const;

/** The document as written, without what differs between any two runs (the time it was made, timing). */
function stable(doc: FingerprintDoc): string {
  return JSON.stringify({ ...doc, manifest: { ...doc.manifest, createdAt: null }, timing: null }, null, 2);
}

describe('replicas: one generate call split over two child processes', () => {
  let dir: string;
  let single: Model;
  let replicas: Model;
  let reference: FingerprintDoc;
  beforeAll(async () => {
    await ensureBuilt(); // the replicas run the compiled library (dist/)
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-replicas-'));
    single = await loadModel(STORIES, { gpu: 'cpu' });
    replicas = await loadModel(STORIES, { gpu: 'cpu', replicas: 2 });
    reference = await fingerprint(single, { ...SMALL, out: join(dir, 'single') });
  }, 180_000);
  afterAll(async () => {
    await single?.dispose();
    await replicas?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('a deterministic fingerprint with 2 replicas is byte-identical to one model, apart from timing', async () => {
    expect(replicas.info.replicas).toBe(2);
    const seen: Array<[number, number]> = [];
    const doc = await fingerprint(replicas, { ...SMALL, out: join(dir, 'replicas'), onProgress: (done, total) => seen.push([done, total]) });
    expect(doc.manifest.sampler.deterministic).toBe(true);
    expect(stable(doc)).toBe(stable(reference));
    const written = JSON.parse(await readFile(join(dir, 'replicas', 'fingerprint.json'), 'utf8')) as FingerprintDoc;
    expect(stable(written)).toBe(stable(JSON.parse(await readFile(join(dir, 'single', 'fingerprint.json'), 'utf8')) as FingerprintDoc));
    // one count over both replicas, up to every response
    const total = reference.responses.length;
    expect(seen.every(([, t]) => t === total)).toBe(true);
    expect(seen.map(([d]) => d)).toEqual([...seen.map(([d]) => d)].sort((a, b) => a - b));
    expect(seen.at(-1)).toEqual([total, total]);
    // both replicas did work, and the stats add their tokens up
    const stats = replicas.lastGenerateStats()!;
    expect(stats.stepTokens + stats.prefillTokens).toBeGreaterThan(0);
    expect(stats.parallel).toBe(1);
  });

  it('at the default parallel the texts are identical and the scores agree to 1e-6', async () => {
    const batched = { ...SMALL, parallel: undefined };
    const one = await fingerprint(single, batched);
    const two = await fingerprint(replicas, batched);
    expect(two.responses).toEqual(one.responses);
    two.axes.forEach((axis, a) => axis.scores.forEach((score, i) => expect(Math.abs(score - one.axes[a]!.scores[i]!)).toBeLessThan(1e-6)));
  });

  it('an interrupted run over replicas resumes from its journal to the same document', async () => {
    const out = join(dir, 'resumed');
    const first = await loadModel(STORIES, { gpu: 'cpu', replicas: 2 });
    let stopped = false;
    const interrupted = fingerprint(first, {
      ...SMALL,
      out,
      onProgress: (done) => {
        if (done >= 12 && !stopped) {
          stopped = true;
          void first.dispose();
        }
      },
    });
    await expect(interrupted).rejects.toMatchObject({ code: 'CANCELLED' });
    const journal = (await readFile(join(out, 'fingerprint.journal.jsonl'), 'utf8')).trim().split('\n');
    expect(journal.length - 1).toBeGreaterThanOrEqual(12);
    expect(journal.length - 1).toBeLessThan(reference.responses.length);
    const restored: number[] = [];
    const resumed = await fingerprint(replicas, { ...SMALL, out, onProgress: (_d, _t, _tokens, detail) => restored.push(detail?.restored ?? 0) });
    expect(restored[0]).toBe(journal.length - 1);
    expect(resumed.timing.restoredResponses).toBe(journal.length - 1);
    expect(stable(resumed)).toBe(stable(reference));
  });

  it("results, errors and events carry the call's own request indices", async () => {
    const requests = ['Once upon a time', 'Tom had a red ball', 'The sun was hot', 'Lily', 'One day'].map((prompt) => ({ prompt }));
    const alone = await single.generate(requests, { maxTokens: 12, seed: 9, deterministic: true });
    const finished: number[] = [];
    const texts: string[] = [];
    const out = await replicas.generate(requests, { maxTokens: 12, seed: 9, deterministic: true, onResult: (i, r) => (finished.push(i), (texts[i] = r.text)) });
    expect(out.map((r) => r.text)).toEqual(alone.map((r) => r.text));
    expect(texts).toEqual(alone.map((r) => r.text));
    expect(finished.sort()).toEqual([0, 1, 2, 3, 4]);
    await expect(replicas.generate([...requests, { prompt: 'x', maxTokens: -1 }])).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/requests\[5\]\.maxTokens/) });
  });
});

describe('the placement flags on the command line', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-replicas-cli-'));
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fingerprint --replicas 2 writes the same document as one model', async () => {
    const args = ['fingerprint', STORIES, '--gpu', 'cpu', '--axes-file', STORY_MOOD, '--max-tokens', '8', '--baseline-max-tokens', '8', '--parallel', '1', '--no-cache', '--json'];
    const [one, two] = [await cli([...args, '--out', join(dir, 'one')]), await cli([...args, '--out', join(dir, 'two'), '--replicas', '2'])];
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(stable(JSON.parse(two.stdout))).toBe(stable(JSON.parse(one.stdout)));
  });

  it('refuses bad values in one line with exit code 2; no GPU for --gpus is exit code 1', async () => {
    const base = ['generate', STORIES, '--prompt', 'Once', '--max-tokens', '2'];
    for (const [flags, message] of [
      [['--gpus', 'one'], /--gpus one: expected GPU indices like 0,1/],
      [['--tensor-split', '3,a'], /--tensor-split 3,a: expected numbers like 3,1/],
      [['--split-mode', 'diagonal'], /split-mode/],
      [['--gpu', 'cpu', '--replicas', '0'], /replicas must be an integer between 1 and 64, got 0/],
      [['--gpu', 'cpu', '--split-mode', 'row'], /not with gpu 'cpu'/],
    ] as const) {
      const r = await cli([...base, ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const r = await cli([...base, '--gpus', 'all'], { env: { CUDA_VISIBLE_DEVICES: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/gpus: no NVIDIA GPU is visible here/);
  });
});
