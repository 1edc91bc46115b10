import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FingerprintDoc, Model } from '../../lib/index.js';
import { digitTokens, rubricPrompt, validateWithJudge } from '../../lib/protocols/judge.js';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { testModel } from '../helpers/paths.js';
import { STORY_BENCHMARK, storyFingerprint, type StoryFingerprint } from './story-fingerprint.js';

describe('the local judge on stories260K', () => {
  let run: StoryFingerprint;
  let model: Model;
  let dir: string;
  let fp: FingerprintDoc;
  let fpFile: string;
  beforeAll(async () => {
    run = await storyFingerprint('moodaxis-judge-');
    ({ model, dir, fp, fpFile } = run);
  }, 120_000);
  afterAll(async () => {
    await run?.dispose();
  });

  it('allowedTokens: every generated token is one of the given ids; bad lists are refused', async () => {
    const free = await model.generate([{ prompt: 'Once upon a time' }], { temperature: 0, maxTokens: 1, capture: false });
    const best = free[0]!.tokenIds[0]!;
    const others = [best === 100 ? 101 : 100, best === 200 ? 201 : 200];
    // greedy among allowed ids: the overall best when it is allowed, else one of the allowed
    const withBest = await model.generate([{ prompt: 'Once upon a time' }], { temperature: 0, maxTokens: 1, capture: false, allowedTokens: [others[0]!, best] });
    expect(withBest[0]!.tokenIds[0]).toBe(best);
    const sampled = await model.generate(
      Array.from({ length: 6 }, (_, i) => ({ prompt: `Once upon a time ${i}`, seed: i })),
      { temperature: 1, topK: 0, topP: 1, maxTokens: 6, ignoreEos: true, capture: false, allowedTokens: others },
    );
    for (const r of sampled) {
      expect(r.tokenIds).toHaveLength(6);
      for (const t of r.tokenIds) expect(others).toContain(t);
    }
    // both allowed ids drawn somewhere at temperature 1 (36 draws)
    expect(new Set(sampled.flatMap((r) => [...r.tokenIds])).size).toBe(2);
    await expect(model.generate([{ prompt: 'x' }], { allowedTokens: [] })).rejects.toThrow('allowedTokens: give at least one token id');
    await expect(model.generate([{ prompt: 'x' }], { allowedTokens: [model.info.vocabSize] })).rejects.toThrow(/allowedTokens must be an integer between 0 and/);
    await expect(model.generate([{ prompt: 'x' }], { allowedTokens: [5], backendSampling: true })).rejects.toThrow('allowedTokens needs host sampling');
  });

  it('digit tokens and the rubric', () => {
    const digits = digitTokens(model);
    expect(new Set(digits.values())).toEqual(new Set([1, 2, 3, 4, 5]));
    for (const [id, d] of digits) expect(model.tokenize(`Rating:${d}`, { addSpecial: false })).toContain(id);
    const prompt = rubricPrompt({ id: 'warm_cold', positive: 'warm', negative: 'cold', positiveInstruction: 'Be kind.', negativeInstruction: 'Be curt.' }, 'Q?', 'A.');
    expect(prompt).toContain('5 = clearly warm (as an answer written under the instruction: "Be kind.")');
    expect(prompt).toContain('1 = clearly cold (as an answer written under the instruction: "Be curt.")');
    expect(prompt).toContain('Question: Q?\nResponse: A.');
    expect(prompt.endsWith('Rating:')).toBe(true);
  });

  it('rates every baseline answer on every axis in 1–5, warns when the judge is the measured model, resumes from its journal', async () => {
    const warnings: string[] = [];
    const progress: Array<[number, number]> = [];
    const doc = await validateWithJudge(fpFile, { judge: model, resamples: 200, axesFile: STORY_BENCHMARK, onWarning: (m) => warnings.push(m), onProgress: (d, t) => progress.push([d, t]) });
    const n = fp.axes[0]!.scores.length;
    expect(doc.axes.map((a) => a.id)).toEqual(fp.axes.map((a) => a.id));
    for (const a of doc.axes) {
      expect(a.n).toBe(n);
      for (const p of a.points) {
        expect(Number.isInteger(p.rating) && p.rating >= 1 && p.rating <= 5).toBe(true);
        expect(p.ratings).toBe(1);
      }
    }
    expect(warnings).toEqual(['the judge stories260K is the model being measured: its ratings are not independent of its hidden states']);
    expect(doc.notes[0]).toBe(warnings[0]);
    const v = doc.manifest.validation as { kind: string; sameModel: boolean; model: { identity: string }; rubric: { axes: Array<{ positiveInstruction?: string }>; example: string } };
    expect(v).toMatchObject({ kind: 'judge', sameModel: true, model: { identity: model.info.identity } });
    expect(v.rubric.axes.every((a) => typeof a.positiveInstruction === 'string')).toBe(true);
    expect(v.rubric.example).toContain('Rating:');
    expect(progress.at(-1)).toEqual([3 * n, 3 * n]);
    const journal = (await readFile(join(dir, 'fp', 'validation.journal.jsonl'), 'utf8')).trim().split('\n');
    expect(journal).toHaveLength(1 + 3 * n);
    const onDisk = JSON.parse(await readFile(join(dir, 'fp', 'validation.json'), 'utf8'));
    expect(onDisk.axes.map((a: { points: unknown[] }) => a.points)).toEqual(doc.axes.map((a) => a.points));
    // again: every answer comes from the journal (the first progress report is already complete)
    const again: Array<[number, number]> = [];
    const second = await validateWithJudge(fpFile, { judge: model, resamples: 200, axesFile: STORY_BENCHMARK, onProgress: (d, t) => again.push([d, t]) });
    expect(again).toEqual([[3 * n, 3 * n]]);
    expect(second.axes.map((a) => a.points)).toEqual(doc.axes.map((a) => a.points));
    expect(second.pooled).toEqual(doc.pooled);
  });

  it('the CLI with another judge (aidreams260K): no warning, a rubric of pole names without --axes-file', async () => {
    await ensureBuilt();
    const out = join(dir, 'cli');
    const r = await cli(['validate', fpFile, '--judge', testModel('aidreams260K.gguf'), '--gpu', 'cpu', '--resamples', '100', '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc.manifest.validation).toMatchObject({ kind: 'judge', sameModel: false, model: { name: 'aidreams260K' } });
    expect(doc.notes).toContain('the rubric of warm_cold, confident_cautious, verbose_concise has pole names only (no axis set with their instructions; give --axes-file)');
    for (const a of doc.axes) for (const p of a.points) expect([1, 2, 3, 4, 5]).toContain(p.rating);
    const table = await cli(['validate', fpFile, '--judge', testModel('stories260K.gguf'), '--gpu', 'cpu', '--resamples', '100', '--out', join(dir, 'cli2')]);
    expect(table.code).toBe(0);
    expect(table.stderr).toContain('moodaxis: warning: the judge stories260K is the model being measured');
    expect(table.stdout).toContain('Spearman ρ');
    const both = await cli(['validate', fpFile, '--judge', testModel('stories260K.gguf'), '--ratings', 'x.csv']);
    expect(both.code).toBe(2);
  }, 120_000);
});
