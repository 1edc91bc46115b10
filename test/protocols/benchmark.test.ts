import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtureModel } from '../../fixtures/models.js';
import { loadModel, type Model } from '../../lib/index.js';
import { renderPlainPrompt } from '../../lib/method/axes-file.js';
import { collectResponses } from '../../lib/method/collect.js';
import { type ResponseJob } from '../../lib/method/response.js';
import { deriveSeed } from '../../lib/engine/model.js';
import { benchmark, BENCHMARK_AXES, FOLLOW_UP_PREFIX } from '../../lib/protocols/benchmark.js';
import { type BenchmarkDoc } from '../../lib/docs/types.js';
import { NO_CHAT_TEMPLATE_WARNING } from '../../lib/protocols/wording.js';
import { repoPath, testModel, TEST_GPU } from '../helpers/paths.js';
import { cli, ensureBuilt } from '../helpers/cli.js';

const STORIES = testModel('stories260K.gguf');
const STORY_BENCH = repoPath('test/data/story-benchmark.json');
const STORY_MOOD = repoPath('test/data/story-mood.json');
// One thread: on a busy machine llama.cpp's default (every core) waits on descheduled threads.
const LOAD = { gpu: TEST_GPU, threads: 1 } as const;


/** Checks a benchmark document's shape and internal consistency (it has no validator of its own). */
function checkDoc(doc: BenchmarkDoc): void {
  expect(doc.kind).toBe('moodaxis.benchmark');
  expect(doc.schemaVersion).toBe(1);
  expect(doc.axes.map((a) => a.id)).toEqual([...BENCHMARK_AXES]);
  expect(doc.total).toBe(9);
  expect(doc.scenarios.map((s) => s.id)).toEqual(BENCHMARK_AXES.flatMap((a) => [`${a}/system`, `${a}/increase`, `${a}/decrease`]));
  expect(doc.passed).toBe(doc.scenarios.filter((s) => s.passed).length);
  expect(doc.passRate).toBeCloseTo(doc.passed / 9, 12);
  for (const s of doc.scenarios) {
    expect(s.turns).toHaveLength(s.kind === 'system' ? 1 : 2);
    expect(s.checks).toHaveLength(1);
    expect(s.passed).toBe(s.checks.every((c) => c.passed));
    for (const t of s.turns) {
      expect(Object.keys(t.scores)).toEqual([...BENCHMARK_AXES]);
      for (const v of Object.values(t.scores)) expect(Math.abs(v)).toBeLessThanOrEqual(1);
      expect(t.tokens).toBeGreaterThan(0);
    }
    const [c] = s.checks;
    const last = s.turns[s.turns.length - 1];
    expect(c.value).toBe(last.scores[s.axis]);
    if (s.kind === 'system') {
      expect(s.turns[0].system).not.toBeNull();
      expect(c.passed).toBe(c.value > doc.threshold);
    } else {
      expect(s.turns[0].system).toBeNull();
      expect(c.previous).toBe(s.turns[0].scores[s.axis]);
      expect(c.delta).toBeCloseTo(c.value - c.previous!, 12);
      expect(c.passed).toBe(s.kind === 'increase' ? c.delta! > 0 : c.delta! < 0);
    }
  }
  // (b) and (c) of an axis branch from the same neutral turn.
  for (const a of BENCHMARK_AXES) {
    const inc = doc.scenarios.find((s) => s.id === `${a}/increase`)!;
    const dec = doc.scenarios.find((s) => s.id === `${a}/decrease`)!;
    expect(dec.turns[0]).toEqual(inc.turns[0]);
  }
}

describe('benchmark on stories260K (no chat template)', () => {
  let model: Model;
  let dir: string;
  beforeAll(async () => {
    model = await loadModel(STORIES, LOAD);
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-bench-'));
  });
  afterAll(async () => {
    await model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the nine scenarios end to end, writes benchmark.json, and resumes to the same result', async () => {
    const out = join(dir, 'a');
    // the settings the CLI uses for `--max-tokens 8`, so that the CLI test below reuses the journal
    const doc = await benchmark(model, { seed: 42, maxTokens: 8, compat: null, cache: false, axesFile: STORY_BENCH, out });
    checkDoc(doc);
    expect(doc.manifest.axesFrom).toBe('calibrated');
    // no chat template: the document warns that the system-prompt scenarios say little
    expect(doc.warnings).toEqual([NO_CHAT_TEMPLATE_WARNING]);
    expect(doc.warnings[0]).toMatch(/no chat template: the "system prompt" scenarios/);
    expect(JSON.stringify(doc)).not.toMatch(/METHOD/);
    // the follow-up to a base model is the pole sentence itself, after the neutral turn
    const inc = doc.scenarios.find((s) => s.id === 'warm_cold/increase')!;
    expect(inc.turns[1].user).toBe('She hugged her mom and smiled. She felt warm and loved.');
    expect(inc.turns[0].user).toBe('One day, a little girl went to the store with her mom.');
    const onDisk = JSON.parse(await readFile(join(out, 'benchmark.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(doc)));
    // 108 calibration responses + 3 system + 3 neutral + 6 follow-ups, all journaled
    const journal = join(out, 'benchmark.journal.jsonl');
    const lines = async () => (await readFile(journal, 'utf8')).trim().split('\n').length - 1;
    expect(await lines()).toBe(120);
    const again = await benchmark(model, { seed: 42, maxTokens: 8, compat: null, cache: false, axesFile: STORY_BENCH, out });
    expect(await lines()).toBe(120);
    expect(again.scenarios).toEqual(doc.scenarios);

    // the CLI with the same settings reads the same journal and prints the same result
    await ensureBuilt();
    const bad = await cli(['benchmark', STORIES, '--axes-file', STORY_MOOD, '--gpu', TEST_GPU, '--out', join(dir, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/story-mood lacks the benchmark axes warm_cold, confident_cautious, verbose_concise/);
    const table = await cli(['benchmark', STORIES, '--axes-file', STORY_BENCH, '--gpu', TEST_GPU, '--out', out, '--max-tokens', '8', '--no-cache']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`pass rate ${doc.passed}/9`);
    expect(table.stdout).toContain('warm: asked for less (cold)');
    const json = await cli(['benchmark', STORIES, '--axes-file', STORY_BENCH, '--gpu', TEST_GPU, '--out', out, '--max-tokens', '8', '--no-cache', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).scenarios).toEqual(JSON.parse(JSON.stringify(doc.scenarios)));
    expect(await lines()).toBe(120);
  }, 240_000);

  it('an axis set without the benchmark axes is bad input naming the missing ones', async () => {
    await expect(benchmark(model, { maxTokens: 8, cache: false, axesFile: STORY_MOOD })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/lacks the benchmark axes warm_cold, confident_cautious, verbose_concise/),
    });
  });

  it('conversation history without a chat template: turns joined by blank lines before the templated question', async () => {
    const job: ResponseJob = {
      key: 'h|none',
      question: { id: 'h', axis: null, set: 'baseline', index: 0, text: 'She was happy.' },
      pole: 'none',
      instruction: 'The sun was out.',
      promptTemplate: '{question} {instruction}',
      maxTokens: 6,
      history: [
        { role: 'user', content: 'Once upon a time, there was a girl.' },
        { role: 'assistant', content: 'She liked to play.' },
      ],
    };
    const got = (await collectResponses(model, [job], { seed: 5, deterministic: true, capture: { tokenDecay: 1 } })).get('h|none')!;
    const prompt = renderPlainPrompt('{question} {instruction}', 'The sun was out.', 'Once upon a time, there was a girl.\n\nShe liked to play.\n\nShe was happy.');
    expect(prompt).toBe('Once upon a time, there was a girl.\n\nShe liked to play.\n\nShe was happy. The sun was out.');
    const [want] = await model.generate([{ prompt, seed: deriveSeed(5, 'h|none'), maxTokens: 6 }], { deterministic: true, capture: { tokenDecay: 1 } });
    expect(got.text).toBe(want.text);
    expect(Array.from(got.vector)).toEqual(Array.from(want.vector));
  });
});

describe('benchmark with a chat template', () => {
  it('history becomes chat turns, the follow-up a user request; the nine scenarios run', async () => {
    const path = await ensureFixtureModel('tinyChat', join(tmpdir(), 'moodaxis-fixtures'));
    const model = await loadModel(path, LOAD);
    try {
      const job: ResponseJob = {
        key: 'h|none',
        question: { id: 'h', axis: null, set: 'baseline', index: 0, text: 'And now?' },
        pole: 'none',
        instruction: 'Be warm.',
        maxTokens: 4,
        history: [
          { role: 'user', content: 'Hi?' },
          { role: 'assistant', content: 'Hello.' },
        ],
      };
      const got = (await collectResponses(model, [job], { seed: 5, deterministic: true })).get('h|none')!;
      const messages = [{ role: 'system' as const, content: 'Be warm.' }, ...job.history!, { role: 'user' as const, content: 'And now?' }];
      expect((await model.renderPrompt(messages)).text).toContain('<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nAnd now?');
      const [want] = await model.generate([{ messages, seed: deriveSeed(5, 'h|none'), maxTokens: 4 }], { deterministic: true });
      expect(got.text).toBe(want.text);
      expect(Array.from(got.vector)).toEqual(Array.from(want.vector));

      const doc = await benchmark(model, { maxTokens: 4, cache: false, axesFile: STORY_BENCH });
      checkDoc(doc);
      const dec = doc.scenarios.find((s) => s.id === 'verbose_concise/decrease')!;
      expect(dec.turns[1].user).toBe(`${FOLLOW_UP_PREFIX}The end.`);
      expect(doc.manifest.model.chatTemplate).toBe(true);
      expect(doc.warnings).toEqual([]);
    } finally {
      await model.dispose();
    }
  });
});
