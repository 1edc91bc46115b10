/**
 * Use inside a long-running service (issue 8, part 3), in one Node process:
 * - four concurrent fingerprint / score calls on two models give exactly what the same calls give one
 *   after another (calls on one model are serialized on its context thread; models run in parallel);
 * - the event loop keeps running during generation (a 10 ms timer ticks between progress events);
 * No assertion compares durations (the suite runs on loaded 2-core machines): serialisation and
 * parallelism are proven from the order and overlap of events.
 * - `dispose()` while a generate runs (or waits behind another) rejects it cleanly, other models go on;
 * - 50 load / generate / dispose cycles grow the RSS by less than 50 MB (a child process with --expose-gc).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrate, errorCode, fingerprint, loadModel, score, type AxesDoc, type Model } from '../../lib/index.js';
import { repoPath, testModel } from '../helpers/paths.js';
import { ensureBuilt } from '../helpers/cli.js';
import { expectNoCrash, runNode } from './helpers.js';

const STORIES = testModel('stories260K.gguf');
const AIDREAMS = testModel('aidreams260K.gguf');
const STORY_MOOD = repoPath('test/data/story-mood.json');
const SETTINGS = { axesFile: STORY_MOOD, maxTokens: 16, baselineMaxTokens: 16, tokenDecay: 1.0, cache: false } as const;
const ITEMS = Array.from({ length: 24 }, (_, i) => ({ question: `Once upon a time, there was a girl named Ann ${i}.`, response: i % 2 ? 'She laughed and laughed. She was so happy!' : 'She cried and cried. She was so sad.' }));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const stable = (doc: any) => ({ ...doc, manifest: { ...doc.manifest, createdAt: null }, ...(doc.timing ? { timing: { ...doc.timing, seconds: null } } : {}) });

let dir: string;
let stories: Model;
let aidreams: Model;
let axes: { stories: AxesDoc; aidreams: AxesDoc };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'moodaxis-service-'));
  stories = await loadModel(STORIES, { gpu: 'cpu', threads: 1 });
  aidreams = await loadModel(AIDREAMS, { gpu: 'cpu', threads: 1 });
  axes = { stories: await calibrate(stories, SETTINGS), aidreams: await calibrate(aidreams, SETTINGS) };
});
afterAll(async () => {
  await stories?.dispose();
  await aidreams?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('in a service', () => {
  it('four concurrent fingerprint/score calls on two models give the sequential results; the event loop stays responsive', async () => {
    const calls = (s: Model, a: Model) => [
      () => fingerprint(s, SETTINGS),
      () => score(s, ITEMS, { axes: axes.stories }),
      () => fingerprint(a, SETTINGS),
      () => score(a, ITEMS, { axes: axes.aidreams }),
    ];
    const sequential: unknown[] = [];
    for (const call of calls(stories, aidreams)) sequential.push(stable(await call()));

    // freshly loaded models: the four calls arrive before either model has a context
    const fresh = [await loadModel(STORIES, { gpu: 'cpu', threads: 1 }), await loadModel(AIDREAMS, { gpu: 'cpu', threads: 1 })];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const running = Promise.all(calls(fresh[0]!, fresh[1]!).map((call) => call()));
    // the event loop runs while the calls are in flight: the timer keeps ticking before they end
    let ticksWhileRunning = 0;
    let finished = false;
    void running.finally(() => (finished = true));
    while (!finished && ticksWhileRunning < 5) {
      await new Promise((r) => setTimeout(r, 10));
      if (!finished) ticksWhileRunning = ticks;
    }
    const concurrent = (await running).map(stable);
    clearInterval(timer);
    for (const m of fresh) await m.dispose();

    expect(concurrent).toEqual(sequential);
    expect(ticksWhileRunning).toBeGreaterThanOrEqual(5);
  });

  it('calls on one model run one after another, two models run in parallel', async () => {
    const work = (i: number) => Array.from({ length: 16 }, (_, j) => ({ prompt: `Once upon a time ${i}.${j}` }));
    const opts = { maxTokens: 48, ignoreEos: true, parallel: 4, temperature: 0 };
    // one timeline of progress events from every call
    const events: string[] = [];
    const mark = (name: string) => ({ onProgress: () => events.push(name) });

    const fresh = await loadModel(STORIES, { gpu: 'cpu', threads: 1 }); // no context yet: both calls must share the one they make
    await Promise.all([
      fresh.generate(work(2), { ...opts, ...mark('first') }),
      fresh.generate(work(3), { ...opts, ...mark('second') }),
    ]);
    await fresh.dispose();
    // serialized: the second call's progress starts only after the first call finished
    expect(events.indexOf('first')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('second')).toBeGreaterThan(events.lastIndexOf('first'));

    // parallel: a short call on the second model starts after the first model's long call has begun and
    // ends while that call is still running (one queue for both would finish the long call first)
    let longDone = false;
    let longStarted = false;
    const long = stories
      .generate(Array.from({ length: 64 }, (_, i) => ({ prompt: `Once ${i}` })), { ...opts, maxTokens: 200, onProgress: () => (longStarted = true) })
      .then(() => (longDone = true));
    while (!longStarted) await new Promise((r) => setTimeout(r, 5));
    const short = await aidreams.generate(work(5).slice(0, 4), { ...opts, maxTokens: 8 });
    expect(short).toHaveLength(4);
    expect(longDone).toBe(false);
    await long;
  });

  it('dispose() during a generate rejects it, and the generate queued behind it, cleanly; other models go on', async () => {
    const model = await loadModel(STORIES, { gpu: 'cpu', threads: 1 });
    const long = Array.from({ length: 64 }, (_, i) => ({ prompt: `Once ${i}` }));
    let started = false;
    let doneAtCancel = 0;
    const running = model.generate(long, { maxTokens: 200, ignoreEos: true, parallel: 4, onProgress: (p) => ((started = true), (doneAtCancel = p.done)) }).then(() => null, (e: Error) => e);
    const queued = model.generate(long.slice(0, 4), { maxTokens: 8 }).then(() => null, (e: Error) => e);
    const other = aidreams.generate(long.slice(0, 8), { maxTokens: 32, ignoreEos: true, parallel: 4 });
    while (!started) await new Promise((r) => setTimeout(r, 5));
    await model.dispose();
    const [a, b] = await Promise.all([running, queued]);
    // the cancellation took effect mid-run, not after the work was done
    expect(doneAtCancel).toBeLessThan(long.length);
    for (const e of [a, b]) {
      expect(e).toBeInstanceOf(Error);
      expect(errorCode(e)).toBe('CANCELLED');
      expect(e!.message).toMatch(/stories260K\.gguf: (generation cancelled|.*disposed)/);
    }
    expect(await other).toHaveLength(8);
    await expect(model.generate([{ prompt: 'x' }])).rejects.toThrow(/disposed/);
    expect(() => model.tokenize('x')).toThrow(/disposed/);
    await model.dispose(); // a second dispose is a no-op
    expect(model.disposed).toBe(true);
    // the same holds for a protocol call: fingerprint rejects with the cancellation, nothing is written
    const m2 = await loadModel(STORIES, { gpu: 'cpu', threads: 1 });
    let seen = false;
    const fp = fingerprint(m2, { ...SETTINGS, maxTokens: 200, baselineMaxTokens: 200, out: join(dir, 'cancelled'), onProgress: (done) => { if (done > 0) seen = true; } }).then(() => null, (e: Error) => e);
    while (!seen) await new Promise((r) => setTimeout(r, 5));
    await m2.dispose();
    const fpError = await fp;
    expect(errorCode(fpError)).toBe('CANCELLED');
    expect(fpError?.message).toMatch(/stories260K\.gguf: generation cancelled/);
    expect(existsSync(join(dir, 'cancelled', 'fingerprint.json'))).toBe(false);
  });

  it('50 load/generate/dispose cycles grow the RSS by less than 50 MB', async () => {
    await ensureBuilt();
    const script = join(dir, 'cycles.mjs');
    writeFileSync(
      script,
      `const { loadModel } = await import(${JSON.stringify(repoPath('dist/lib/index.js'))});
       const paths = ${JSON.stringify([STORIES, AIDREAMS])};
       const cycle = async (i) => {
         const m = await loadModel(paths[i % 2], { gpu: 'cpu', threads: 1 });
         const out = await m.generate(Array.from({ length: 8 }, (_, j) => ({ prompt: 'Once upon a time ' + j })), { maxTokens: 16, parallel: 4 });
         if (out.length !== 8) throw new Error('lost results');
         await m.dispose();
       };
       const settle = async () => { for (let k = 0; k < 3; k++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); } };
       for (let i = 0; i < 20; i++) await cycle(i); // warm-up: allocator arenas, code, caches
       await settle();
       const before = process.memoryUsage().rss;
       const t = performance.now();
       for (let i = 0; i < 50; i++) await cycle(i);
       await settle();
       const after = process.memoryUsage().rss;
       console.log(JSON.stringify({ before, after, seconds: (performance.now() - t) / 1000 }));`,
    );
    const run = await runNode(['--expose-gc', script], { timeoutMs: 120_000 });
    expectNoCrash(run, 'cycles');
    expect(run.status, run.stderr).toBe(0);
    const { before, after, seconds } = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    const growthMb = (after - before) / 2 ** 20;
    console.log(`50 cycles in ${seconds.toFixed(1)} s: RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MB (${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB)`);
    expect(growthMb).toBeLessThan(50);
  });
});
