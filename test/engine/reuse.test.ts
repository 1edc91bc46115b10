/**
 * KV cache reuse across generate calls (reuseCache): conversations played turn by turn, each turn's prompt
 * being the previous prompt, its answer and a new user line. With reuse each turn starts from the cache its
 * conversation's previous turn left instead of prefilling the history again: the same texts, positions and
 * (up to float rounding, as for requests batched differently) vectors as without it, with far fewer tokens
 * computed; sequences are evicted least recently used first, and a change of control vector drops them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type GenerateOptions, type GenerateResult, type Model } from '../../lib/engine/index.js';
import { testModel } from '../helpers/paths.js';

const STORIES = testModel('stories260K.gguf');

const CONVERSATIONS = [
  ['Once upon a time, there was a little girl named Lily. She loved to play outside.', 'Then she saw a dog.', 'The dog was happy.'],
  ['Tom had a red ball. He liked to throw it very high in the sky.', 'His mom called him.', 'They ate lunch.'],
  ['The sun was hot and the sky was very blue. The birds sang in the trees.', 'A cat came by.', 'It was a good day.'],
  ['One day, a big bear went to the park to find some honey for his family.', 'He met a bee.', 'The bee was kind.'],
  ['Sam and Mia were best friends. They played in the garden every day.', 'It started to rain.', 'They went inside.'],
];
const OPTIONS: GenerateOptions = { temperature: 0, maxTokens: 24, deterministic: true, parallel: 2 };

interface Turn { results: GenerateResult[]; prefillTokens: number; sharedTokens: number }

/** Plays the turns of `conversations` (all of them in one call per turn), the history rebuilt from the answers' text. */
async function play(model: Model, conversations: string[][], options: GenerateOptions, between?: (turn: number) => Promise<void>): Promise<Turn[]> {
  const history = conversations.map(() => '');
  const turns: Turn[] = [];
  for (let t = 0; t < conversations[0]!.length; t++) {
    await between?.(t);
    const prompts = conversations.map((lines, i) => (history[i] ? `${history[i]}\n\n${lines[t]}` : lines[t]!));
    const results = await model.generate(prompts.map((prompt, i) => ({ prompt, seed: 100 + i })), options);
    const { prefillTokens, sharedTokens } = model.lastGenerateStats()!;
    turns.push({ results, prefillTokens, sharedTokens });
    results.forEach((r, i) => (history[i] = `${prompts[i]}${r.text}`));
  }
  return turns;
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

function expectSameAnswers(got: Turn, expected: Turn) {
  got.results.forEach((r, i) => {
    const e = expected.results[i]!;
    expect(r.text).toBe(e.text);
    expect(Array.from(r.tokenIds)).toEqual(Array.from(e.tokenIds));
    expect([r.promptTokens, r.capturedTokens, r.tokens]).toEqual([e.promptTokens, e.capturedTokens, e.tokens]);
    expect(relErr(r.vector, e.vector)).toBeLessThan(1e-5);
  });
}

describe('KV cache reuse across calls', () => {
  let model: Model;
  let without: Turn[];
  beforeAll(async () => {
    model = await loadModel(STORIES, { gpu: 'cpu', threads: 1 });
    without = await play(model, CONVERSATIONS, OPTIONS);
  }, 120_000);
  afterAll(() => model?.dispose());

  it('each turn starts from its conversation\'s cache: same answers and captured positions, the shared tokens grow', async () => {
    expect(without.map((t) => t.sharedTokens)).toEqual([0, 0, 0]);
    const reused = await play(model, CONVERSATIONS, { ...OPTIONS, reuseCache: true });
    reused.forEach((turn, t) => expectSameAnswers(turn, without[t]!));
    expect(reused.map((t) => t.prefillTokens)).toEqual(without.map((t) => t.prefillTokens));
    const [first, second, third] = reused.map((t) => t.sharedTokens);
    expect(first).toBe(0);
    expect(second).toBeGreaterThan(0);
    expect(third).toBeGreaterThan(second!);
    // every conversation took its whole previous prompt from the cache (at least; the answer mostly too)
    const previousPrompts = (t: number) => without[t]!.results.reduce((sum, r) => sum + r.promptTokens, 0);
    expect(second).toBeGreaterThan(previousPrompts(0) - CONVERSATIONS.length);
    expect(third).toBeGreaterThan(previousPrompts(1) - CONVERSATIONS.length);
  });

  it('more conversations than sequences in flight: each keeps its own sequence (parallel 1)', async () => {
    const reused = await play(model, CONVERSATIONS, { ...OPTIONS, parallel: 1, reuseCache: true });
    reused.forEach((turn, t) => expectSameAnswers(turn, without[t]!));
    expect(reused[2]!.sharedTokens).toBeGreaterThan(0.8 * reused[2]!.prefillTokens);
  });

  it('other requests in between evict the least recently used sequences; what stays is still reused correctly', async () => {
    const uninterrupted = await play(model, CONVERSATIONS, { ...OPTIONS, reuseCache: true });
    const interrupted = await play(model, CONVERSATIONS, { ...OPTIONS, reuseCache: true }, async (turn) => {
      if (turn === 2) await model.generate([{ prompt: 'A frog sat on a log by the pond and sang a song.' }, { prompt: 'The king had a big castle.' }], { ...OPTIONS, reuseCache: true });
    });
    interrupted.forEach((turn, t) => expectSameAnswers(turn, without[t]!));
    // two of the five histories were evicted, three were reused
    expect(interrupted[2]!.sharedTokens).toBeLessThan(uninterrupted[2]!.sharedTokens);
    expect(interrupted[2]!.sharedTokens).toBeGreaterThan(0.4 * uninterrupted[2]!.sharedTokens);
  });

  it('a call without reuse, or under another control vector, starts from an empty cache', async () => {
    const cleared = await play(model, CONVERSATIONS, { ...OPTIONS, reuseCache: true }, async (turn) => {
      if (turn === 1) await model.generate([{ prompt: 'Once upon a time' }], { ...OPTIONS, maxTokens: 4 });
    });
    cleared.forEach((turn, t) => expectSameAnswers(turn, without[t]!));
    expect(cleared[1]!.sharedTokens).toBe(0);
    expect(cleared[2]!.sharedTokens).toBeGreaterThan(0);
    // the cache holds the third turns, computed without steering: a steered call cannot start from it
    const { layers, hiddenSize } = model.info;
    const controlVector = { data: new Float32Array((layers - 1) * hiddenSize).map((_, i) => 0.05 * Math.sin(i)), layerStart: 1, layerEnd: layers - 1 };
    const prompt = CONVERSATIONS[0]![0]!;
    const shared = () => model.lastGenerateStats()!.sharedTokens;
    const [steered] = await model.generate([{ prompt }], { ...OPTIONS, reuseCache: true, controlVector });
    expect(shared()).toBe(0);
    const [again] = await model.generate([{ prompt }], { ...OPTIONS, reuseCache: true, controlVector });
    expect(shared()).toBeGreaterThan(0);
    expect(again!.text).toBe(steered!.text);
    await model.generate([{ prompt }], { ...OPTIONS, reuseCache: true });
    expect(shared()).toBe(0);
  });
});
