import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtureModel } from '../../fixtures/models.js';
import { calibrate, fingerprint, loadModel, readAxesFile, score, writeAxesFile, type FingerprintDoc, type Model } from '../../lib/index.js';
import { repoPath, testModel } from '../helpers/paths.js';

const STORIES = testModel('stories260K.gguf');
const STORY_MOOD = repoPath('test/data/story-mood.json');
// Short answers: a trained 260K model keeps a pole sentence's trace for a few tokens (models README).
const SMALL = { maxTokens: 8, baselineMaxTokens: 8, tokenDecay: 1.0, cache: false } as const;

/** The document without what legitimately differs between runs (timestamps, timing, paths). */
function stable(doc: FingerprintDoc) {
  return { ...doc, manifest: { ...doc.manifest, createdAt: null }, timing: { ...doc.timing, seconds: null } };
}

describe('calibration and fingerprint on stories260K (no chat template)', () => {
  let model: Model;
  let dir: string;
  beforeAll(async () => {
    model = await loadModel(STORIES, { gpu: 'cpu' });
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-fp-'));
  });
  afterAll(async () => {
    await model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('a happy/sad custom axis calibrates to held-out AUC >= 0.9', async () => {
    const axes = await calibrate(model, { axesFile: STORY_MOOD, maxTokens: 8, tokenDecay: 1.0 });
    expect(axes.axes).toHaveLength(1);
    const [axis] = axes.axes;
    expect(axis.id).toBe('happy_sad');
    expect(axis.n).toBe(30);
    expect(axis.auc).toBeGreaterThanOrEqual(0.9);
    expect(axis.dprime).toBeGreaterThan(1);
    expect(axes.manifest.model.identity).toBe(model.info.identity);
    expect(axes.manifest.questions).toEqual({ name: 'story-mood', version: '1' });
    // written and read back, it scores the same
    const file = join(dir, 'axes.json');
    writeAxesFile(file, axes);
    const back = await readAxesFile(file);
    expect(Array.from(back.axes[0].vector)).toEqual(Array.from(axis.vector));
  });

  it('fingerprint runs end to end, and the same seed gives the same JSON', async () => {
    const a = await fingerprint(model, { ...SMALL, axesFile: STORY_MOOD, out: join(dir, 'a') });
    const b = await fingerprint(model, { ...SMALL, axesFile: STORY_MOOD, out: join(dir, 'b') });
    expect(a.kind).toBe('moodaxis.fingerprint');
    expect(a.axes[0].scores).toHaveLength(6);
    expect(a.responses.filter((r) => r.questionId.startsWith('baseline/'))).toHaveLength(6);
    expect(a.deadZones[0].partial).toBe(true);
    // truncation counted from the baseline answers' stop reasons, against the baseline cap
    const baseline = a.responses.filter((r) => r.questionId.startsWith('baseline/'));
    const capped = baseline.filter((r) => r.stopReason === 'length').length;
    expect(a.truncation).toEqual({ capped, total: 6, share: capped / 6, maxTokens: SMALL.baselineMaxTokens, warn: capped / 6 >= 0.2 });
    const onDisk = JSON.parse(await readFile(join(dir, 'a', 'fingerprint.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(a)));
    expect(JSON.stringify(stable(b))).toBe(JSON.stringify(stable(a)));
    const c = await fingerprint(model, { ...SMALL, axesFile: STORY_MOOD, seed: 7 });
    expect(JSON.stringify(stable(c))).not.toBe(JSON.stringify(stable(a)));
  });

  it('an interrupted run resumes from its journal to the same result', async () => {
    // the same arguments throughout (a float can differ in its last bits with another `parallel`)
    const whole = await fingerprint(model, { ...SMALL, axesFile: STORY_MOOD, parallel: 4, out: join(dir, 'whole') });
    const out = join(dir, 'resumed');
    const first = await loadModel(STORIES, { gpu: 'cpu' });
    let stopped = false;
    const interrupted = fingerprint(first, {
      ...SMALL,
      axesFile: STORY_MOOD,
      out,
      parallel: 4,
      onProgress: (done) => {
        if (done >= 40 && !stopped) {
          stopped = true;
          void first.dispose();
        }
      },
    });
    await expect(interrupted).rejects.toThrow(/cancelled/);
    const journal = (await readFile(join(out, 'fingerprint.journal.jsonl'), 'utf8')).trim().split('\n');
    expect(journal.length - 1).toBeGreaterThanOrEqual(40);
    expect(journal.length - 1).toBeLessThan(whole.responses.length);
    // the same document, apart from the timing, which counts this run's own work and what came from the journal
    const resumed = await fingerprint(model, { ...SMALL, axesFile: STORY_MOOD, parallel: 4, out });
    const { timing, ...rest } = stable(resumed);
    const { timing: wholeTiming, ...wholeRest } = stable(whole);
    expect(JSON.stringify(rest)).toBe(JSON.stringify(wholeRest));
    expect(timing.restoredResponses).toBe(journal.length - 1);
    expect(timing.generatedTokens + (timing.restoredTokens ?? 0)).toBe(wholeTiming.generatedTokens);
  });

  it('teacher-forced scoring reads the same positions as generation', async () => {
    const axes = await calibrate(model, { axesFile: STORY_MOOD, maxTokens: 8, tokenDecay: 1.0 });
    const [gen] = await model.generate([{ prompt: 'One day, a little girl went to the store with her mom.' }], { maxTokens: 8, temperature: 0, deterministic: true, capture: { tokenDecay: 1.0 } });
    // The same tokens fed back teacher-forced give the same vector: same positions, same weights.
    const [forced] = await model.generate([{ prompt: 'One day, a little girl went to the store with her mom.', response: gen.tokenIds }], { deterministic: true, capture: { tokenDecay: 1.0 } });
    expect(forced.tokens).toBe(gen.tokens);
    expect(Array.from(forced.tokenIds)).toEqual(Array.from(gen.tokenIds));
    for (let i = 0; i < gen.vector.length; i++) expect(forced.vector[i]).toBeCloseTo(gen.vector[i], 5);
    // score() tokenizes the text and scores it the same way
    const scored = await score(model, [{ question: 'One day, a little girl went to the store with her mom.', response: gen.text }], { axes });
    expect(scored.items[0].tokens).toBe(model.tokenize(gen.text, { addSpecial: false }).length);
    expect(Math.abs(scored.items[0].scores.happy_sad)).toBeLessThanOrEqual(1);
  });

  it('axes are refused for another model', async () => {
    const axes = await calibrate(model, { axesFile: STORY_MOOD, maxTokens: 4 });
    const other = await loadModel(testModel('aidreams260K.gguf'), { gpu: 'cpu' });
    try {
      await expect(fingerprint(other, { axes, axesFile: STORY_MOOD })).rejects.toThrow(/made from another model/);
    } finally {
      await other.dispose();
    }
  });
});

describe('fingerprint on a synthetic chat-templated model', () => {
  it('runs the built-in axes end to end with the chat template', async () => {
    const path = await ensureFixtureModel('tinyChat', join(tmpdir(), 'moodaxis-fixtures'));
    const model = await loadModel(path, { gpu: 'cpu' });
    try {
      expect(model.info.chatTemplate).toContain('im_start');
      const rendered = await model.renderPrompt([{ role: 'system', content: 'Be warm.' }, { role: 'user', content: 'Hi?' }]);
      expect(rendered.text).toContain('<|im_start|>system\nBe warm.');
      expect(rendered.parseSpecial).toBe(true);
      const doc = await fingerprint(model, { maxTokens: 4, baselineMaxTokens: 4, cache: false });
      expect(doc.axes.map((a) => a.id)).toEqual(['warm_cold', 'patient_irritated', 'confident_cautious', 'proactive_reluctant', 'empathetic_analytical', 'formal_casual', 'verbose_concise']);
      expect(doc.responses).toHaveLength(590);
      expect(doc.structure?.axes).toHaveLength(7);
      expect(doc.manifest.questions.version).toBe('1.0.0');
    } finally {
      await model.dispose();
    }
  });
});
