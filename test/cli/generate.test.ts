/**
 * `moodaxis generate` against the library on stories260K: greedy with a control vector, the same text
 * and token ids; `model.detokenize`; the once-per-model warning for messages without a chat template.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrate, exportSteeringVector, loadControlVectors, loadModel, type AxesDoc, type Model } from '../../lib/index.js';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { repoPath, testModel } from '../helpers/paths.js';

const STORIES = testModel('stories260K.gguf');
const PROMPT = 'One day, a little girl went to the store with her mom.';
let dir: string;
let model: Model;
let axes: AxesDoc;
let vec: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'moodaxis-generate-'));
  model = await loadModel(STORIES, { gpu: 'cpu' });
  axes = await calibrate(model, { axesFile: repoPath('test/data/story-mood.json'), maxTokens: 8, tokenDecay: 1.0 });
  vec = join(dir, 'happy.gguf');
  await exportSteeringVector(vec, axes, { axis: 'happy_sad', layers: [2, 3], norms: undefined, unit: 0.1 }, model.info, 1);
}, 180_000);
afterAll(async () => {
  await model?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('moodaxis generate', () => {
  it('greedy with a control vector: the CLI gives the library\'s text and token ids', async () => {
    const args = ['generate', STORIES, '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '24', '--gpu', 'cpu'];
    const r = await cli([...args, '--control-vector', `${vec}:6`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const cv = (await loadControlVectors([`${vec}:6`], model.info)).input;
    const [lib] = await model.generate([{ prompt: PROMPT, seed: 42 }], { temperature: 0, maxTokens: 24, deterministic: true, capture: false, controlVector: cv });
    expect(out.text).toBe(lib!.text);
    expect(out.tokenIds).toEqual(Array.from(lib!.tokenIds));
    expect(out.tokens).toBe(lib!.tokens);
    expect(out.stopReason).toBe(lib!.stopReason);
    expect(out.kind).toBe('moodaxis.generation');
    // the vector changes the answer (so the comparison above is about a steered generation)
    const [plain] = await model.generate([{ prompt: PROMPT, seed: 42 }], { temperature: 0, maxTokens: 24, deterministic: true, capture: false });
    expect(Array.from(plain!.tokenIds)).not.toEqual(out.tokenIds);
    // without --json: the text on stdout, the stop on stderr
    const text = await cli([...args, '--control-vector', `${vec}:6`]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(`${lib!.text}\n`);
    expect(text.stderr).toMatch(/control vector .*happy\.gguf:6 on layers 2, 3/);
    expect(text.stderr).toMatch(/24 tokens, stopped by the limit \(--max-tokens 24\)/);
    expect((await cli([...args, '--control-vector', `${vec}:6`, '--quiet'])).stderr).toBe('');
  });

  it('model.detokenize gives back the generated text from the token ids', async () => {
    const [r] = await model.generate([{ prompt: PROMPT }], { temperature: 0, maxTokens: 16, capture: false });
    expect(model.detokenize(r!.tokenIds)).toBe(r!.text);
    expect(model.detokenize(Array.from(r!.tokenIds))).toBe(r!.text);
    const ids = model.tokenize('Once upon a time', { addSpecial: false });
    expect(model.detokenize(ids).trim()).toBe('Once upon a time');
    expect(() => model.detokenize([model.info.vocabSize])).toThrow(/ids\[0\] = 512 is not a token id of stories260K\.gguf \(0 … 511\)/);
    expect(() => model.detokenize([1.5])).toThrow(/ids\[0\] = 1\.5 is not a token id/);
  });

  it('messages to a model without a chat template: a warning once per model, and the plain text is answered', async () => {
    const warnings: string[] = [];
    const m = await loadModel(STORIES, { gpu: 'cpu', onWarning: (w) => warnings.push(w) });
    try {
      const messages = [{ role: 'system' as const, content: 'Be happy.' }, { role: 'user' as const, content: PROMPT }];
      const [a] = await m.generate([{ messages }], { temperature: 0, maxTokens: 8, capture: false });
      await m.generate([{ messages }, { messages }], { temperature: 0, maxTokens: 8, capture: false });
      expect(warnings).toEqual(['stories260K.gguf has no chat template: { messages } are sent as plain text (their contents joined by blank lines, roles dropped)']);
      const [b] = await m.generate([{ prompt: `Be happy.\n\n${PROMPT}` }], { temperature: 0, maxTokens: 8, capture: false });
      expect(a!.text).toBe(b!.text);
    } finally {
      await m.dispose();
    }
    const messagesFile = join(dir, 'messages.json');
    writeFileSync(messagesFile, JSON.stringify([{ role: 'user', content: PROMPT }]));
    const r = await cli(['generate', STORIES, '--messages', messagesFile, '--temperature', '0', '--max-tokens', '4', '--gpu', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/warning: stories260K\.gguf has no chat template/g)).toHaveLength(1);
    const sysUser = await cli(['generate', STORIES, '--user', PROMPT, '--temperature', '0', '--max-tokens', '4', '--gpu', 'cpu', '--json']);
    expect(JSON.parse(sysUser.stdout).text).toBe(r.stdout.replace(/\n$/, ''));
  });

  it('bad requests exit 2 naming the problem', async () => {
    const bad = join(dir, 'bad-messages.json');
    writeFileSync(bad, JSON.stringify([{ role: 'robot', content: 'x' }]));
    const cases: Array<[string[], RegExp]> = [
      [['--messages', bad], /bad-messages\.json: messages\[0\]\.role: expected "system", "user" or "assistant", got "robot"/],
      [['--prompt', 'a', '--user', 'b'], /give one of --prompt, --messages or --system\/--user, not --prompt and --system\/--user/],
      [['--system', 'be kind'], /--system needs --user/],
      [['--prompt', 'a', '--temperature', '-1'], /temperature must be a number between 0 and 100, got -1/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['generate', STORIES, '--gpu', 'cpu', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('on a terminal the text streams (a pseudo-terminal through script(1)) and equals the library\'s', async () => {
    const args = ['generate', STORIES, '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '1500', '--gpu', 'cpu', '--quiet'];
    const command = [process.execPath, repoPath('bin/moodaxis.js'), ...args].map((x) => `'${x.replace(/'/g, "'\\''")}'`).join(' ');
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000, maxBuffer: 16 << 20 });
    const [lib] = await model.generate([{ prompt: PROMPT, seed: 42 }], { temperature: 0, maxTokens: 1500, deterministic: true, capture: false });
    expect(stdout.replace(/\r\n/g, '\n').trimEnd()).toBe(lib!.text.trimEnd());
  });
});
