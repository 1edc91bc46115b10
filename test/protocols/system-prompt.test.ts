import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtureModel, FIXTURE_PRESETS } from '../../fixtures/models.js';
import { CHATML_TEMPLATE } from '../../lib/engine/synthetic/models.js';
import { calibrate, compareFingerprints, deriveSeed, fingerprint, loadModel, score, writeAxesFile, type AxesDoc, type Model } from '../../lib/index.js';
import { scoreVector } from '../../lib/method/calibrate.js';
import { systemTextFor } from '../../lib/method/collect.js';
import { parseTemplateKwarg, promptSettings } from '../../lib/cli/commands/prompt-options.js';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';

/** ChatML with a system role and Qwen3's switch: thinking on (default) opens <think>, off writes an empty block. */
const THINKING_TEMPLATE = [
  CHATML_TEMPLATE.replace(/\{%- if add_generation_prompt -%\}[\s\S]*$/, ''),
  "{%- if add_generation_prompt -%}",
  "{{- '<|im_start|>assistant\\n' -}}",
  "{%- if enable_thinking is defined and not enable_thinking -%}{{- '<think>\\n\\n</think>\\n\\n' -}}{%- else -%}{{- '<think>\\n' -}}{%- endif -%}",
  "{%- endif -%}",
].join('\n');

const STORY_MOOD = repoPath('test/data/story-mood.json');
// Thinking on (the template's default) leaves every generated token inside <think>: nothing is captured.
const OFF = { enable_thinking: false };
const SMALL = { maxTokens: 8, baselineMaxTokens: 8, tokenDecay: 1.0, cache: false, templateKwargs: OFF } as const;
const SYSTEM = 'You are Pip, a terse pirate.';

describe('your own system prompt and template variables (fixture with a thinking chat template)', () => {
  let model: Model;
  let dir: string;
  let axes: AxesDoc;
  beforeAll(async () => {
    const path = await ensureFixtureModel({ ...FIXTURE_PRESETS.tinyChat(), name: 'moodaxis-tiny-thinking', chatTemplate: THINKING_TEMPLATE });
    model = await loadModel(path, { gpu: 'cpu' });
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-system-'));
    axes = await calibrate(model, { axesFile: STORY_MOOD, maxTokens: 8, tokenDecay: 1.0, templateKwargs: OFF });
  }, 120_000);
  afterAll(async () => {
    await model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('enable_thinking reaches the template; the system role is rendered', async () => {
    const messages = [{ role: 'system' as const, content: SYSTEM }, { role: 'user' as const, content: 'Hi?' }];
    const on = await model.renderPrompt(messages);
    expect(on.text).toBe(`<|im_start|>system\n${SYSTEM}<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n<think>\n`);
    expect(on.startInThink).toBe(true);
    expect(on.system).toBe('template');
    const off = await model.renderPrompt(messages, { enable_thinking: false });
    expect(off.text.endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n')).toBe(true);
    expect(off.startInThink).toBe(false);
  });

  it('the system prompt applies to answers without a pole; pole answers keep their instruction alone', () => {
    const q = { id: 'baseline/00', axis: null, set: 'baseline' as const, index: 0, text: 'q' };
    expect(systemTextFor({ key: 'k', question: q, pole: 'none', instruction: null, maxTokens: 1 }, SYSTEM)).toBe(SYSTEM);
    expect(systemTextFor({ key: 'k', question: q, pole: 'none', instruction: 'Answer again.', maxTokens: 1 }, SYSTEM)).toBe(`${SYSTEM}\n\nAnswer again.`);
    expect(systemTextFor({ key: 'k', question: q, pole: 'positive', instruction: 'Be happy.', maxTokens: 1 }, SYSTEM)).toBe('Be happy.');
    expect(systemTextFor({ key: 'k', question: q, pole: 'none', instruction: null, maxTokens: 1 }, null)).toBeNull();
  });

  it('fingerprint: the baseline answers are generated under the system prompt and template variables, recorded in the manifest', async () => {
    const kwargs = OFF;
    const doc = await fingerprint(model, { ...SMALL, axes, system: SYSTEM, out: join(dir, 'fp') });
    expect(doc.manifest.systemPrompt).toEqual({ text: SYSTEM, sha256: createHash('sha256').update(SYSTEM).digest('hex') });
    expect(doc.manifest.templateKwargs).toEqual(kwargs);
    const baseline = doc.responses.filter((r) => r.pole === 'none');
    // the same requests written out by hand: system message, question, the same per-response seed
    const direct = await model.generate(
      baseline.map((r) => ({ messages: [{ role: 'system' as const, content: SYSTEM }, { role: 'user' as const, content: r.question }], seed: deriveSeed(42, `${r.questionId}|none`), maxTokens: 8 })),
      { deterministic: true, templateKwargs: kwargs, capture: { tokenDecay: 1.0 } },
    );
    expect(baseline.map((r) => r.text)).toEqual(direct.map((r) => r.text));
    expect(doc.axes[0]!.scores).toEqual(direct.map((r) => Math.max(-1, Math.min(1, scoreVector(axes.axes[0]!, r.vector)))));
    const plain = await fingerprint(model, { ...SMALL, axes });
    expect(plain.manifest.systemPrompt).toBeUndefined();
    expect(plain.axes[0]!.scores).not.toEqual(doc.axes[0]!.scores);
    const diff = compareFingerprints(plain, doc);
    expect(diff.notes).toContain(`different system prompts: none vs sha256 ${createHash('sha256').update(SYSTEM).digest('hex').slice(0, 12)} (the deltas show what it changes)`);
    expect(diff.axes[0]!.delta).toBeCloseTo(doc.axes[0]!.mean - plain.axes[0]!.mean, 12);
  });

  it('score reads the given text after the system prompt', async () => {
    const item = { question: 'How was the day?', response: 'She was so happy.' };
    const withSystem = await score(model, [item], { axes, system: SYSTEM, templateKwargs: OFF });
    const [direct] = await model.generate([{ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: item.question }], response: item.response }], {
      deterministic: true,
      templateKwargs: OFF,
      capture: { layers: axes.manifest.capture.layers, layerWeights: axes.manifest.capture.layerWeights, tokenDecay: axes.manifest.capture.tokenDecay },
    });
    expect(withSystem.items[0]!.scores.happy_sad).toBeCloseTo(scoreVector(axes.axes[0]!, direct!.vector), 10);
    const without = await score(model, [item], { axes, templateKwargs: OFF });
    expect(without.items[0]!.scores.happy_sad).not.toBe(withSystem.items[0]!.scores.happy_sad);
    expect(withSystem.manifest.systemPrompt).toMatchObject({ text: SYSTEM });
  });

  it('the flags: --system-file, --template-kwarg, --thinking', async () => {
    expect(parseTemplateKwarg('enable_thinking=false')).toEqual(['enable_thinking', false]);
    expect(parseTemplateKwarg('depth=3')).toEqual(['depth', 3]);
    expect(parseTemplateKwarg('style=a=b')).toEqual(['style', 'a=b']);
    expect(() => parseTemplateKwarg('=x')).toThrow('--template-kwarg "=x": expected key=value');
    expect(promptSettings({ thinking: 'off', templateKwarg: ['x=1'] })).toEqual({ templateKwargs: { x: 1, enable_thinking: false } });
    expect(() => promptSettings({ thinking: 'on', templateKwarg: ['enable_thinking=false'] })).toThrow('--thinking contradicts --template-kwarg enable_thinking');
    expect(() => promptSettings({ system: 'a', systemFile: 'b' })).toThrow('give --system or --system-file, not both');
    expect(promptSettings({ thinkBudget: 16 })).toEqual({ thinkBudget: 16 });
    expect(() => promptSettings({ thinkBudget: -1 })).toThrow('--think-budget must be an integer 0–1048576, got -1');
    const file = join(dir, 'system.txt');
    await writeFile(file, `${SYSTEM}\n`);
    expect(promptSettings({ systemFile: file })).toEqual({ system: SYSTEM });
    expect(() => promptSettings({ systemFile: join(dir, 'none.txt') })).toThrow(/--system-file .*none\.txt: no such file/);
    await ensureBuilt();
    const axesFile = join(dir, 'axes.json');
    writeAxesFile(axesFile, axes);
    const r = await cli(['score', model.info.path, '--axes', axesFile, '--text', 'She was so happy.', '--question', 'How was the day?', '--system-file', file, '--thinking', 'off', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.manifest.systemPrompt.text).toBe(SYSTEM);
    expect(out.manifest.templateKwargs).toEqual({ enable_thinking: false });
    const bad = await cli(['score', model.info.path, '--axes', axesFile, '--text', 'x', '--template-kwarg', 'novalue']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--template-kwarg "novalue": expected key=value');
  }, 120_000);

  it('think budget: the hidden part is capped, closed, left out of the capture; maxTokens counts the visible answer', async () => {
    const close = model.tokenize('</think>', { addSpecial: false, parseSpecial: true });
    expect(close).toHaveLength(1);
    const eos = model.tokenize('<|im_end|>', { addSpecial: false, parseSpecial: true })[0]!;
    // Sampling among ordinary word tokens only: the model can neither close the block nor stop by itself.
    const words = [...model.tokenize(' happy sad day', { addSpecial: false })];
    expect(words).not.toContain(close[0]);
    expect(words).not.toContain(eos);
    const request = { messages: [{ role: 'user' as const, content: 'How was the day?' }] };
    expect((await model.renderPrompt(request.messages)).startInThink).toBe(true);
    const [r] = await model.generate([request], { thinkBudget: 5, maxTokens: 4, allowedTokens: words, deterministic: true, capture: { tokenDecay: 1.0 } });
    expect(r!.tokens).toBe(5 + 1 + 4);
    expect(r!.thinkTokens).toBe(6);
    expect(r!.thinkCut).toBe(true);
    expect(r!.tokenIds[5]).toBe(close[0]);
    expect(r!.capturedTokens).toBe(4);
    expect(r!.text).toContain('</think>');
    // the captured vector is the visible answer's: the same as reading that answer after a closed block
    const visible = r!.tokenIds.slice(6);
    const [again] = await model.generate([{ tokens: Int32Array.from([...model.tokenize((await model.renderPrompt(request.messages)).text, { parseSpecial: true }), ...r!.tokenIds.slice(0, 6)]), response: visible }], {
      deterministic: true,
      capture: { tokenDecay: 1.0 },
    });
    // (prefilled here, decoded token by token there: equal to float rounding)
    const diff = Math.sqrt(r!.vector.reduce((acc, x, i) => acc + (x - again!.vector[i]!) ** 2, 0));
    const norm = Math.sqrt(r!.vector.reduce((acc, x) => acc + x * x, 0));
    expect(diff / norm).toBeLessThan(1e-5);
    // without a budget maxTokens counts every token, think included: nothing visible, nothing captured
    const [free] = await model.generate([request], { maxTokens: 4, allowedTokens: words, deterministic: true });
    expect(free).toMatchObject({ tokens: 4, thinkTokens: 4, thinkCut: false, capturedTokens: 0 });
  });

  it('fingerprint with thinking on: answers with a think block and those out of budget are counted', async () => {
    const doc = await fingerprint(model, { ...SMALL, templateKwargs: { enable_thinking: true }, thinkBudget: 3, axes });
    const baseline = doc.responses.filter((r) => r.pole === 'none');
    expect(doc.thinking).toBeDefined();
    expect(doc.thinking!.budget).toBe(3);
    expect(doc.thinking!.answersWithThink).toBe(doc.responses.filter((r) => r.thinkTokens).length);
    expect(doc.thinking!.outOfBudget).toBe(doc.responses.filter((r) => r.thinkCut).length);
    expect(doc.thinking!.answersWithThink).toBeGreaterThan(0);
    for (const r of baseline) {
      expect(r.thinkTokens ?? 0).toBeLessThanOrEqual(4);
      if (r.thinkCut) expect(r.thinkTokens).toBe(4);
      expect(r.tokens - (r.thinkTokens ?? 0)).toBeLessThanOrEqual(8);
    }
    const off = await fingerprint(model, { ...SMALL, axes });
    expect(off.thinking).toBeUndefined();
  });
});
