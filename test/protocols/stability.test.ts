import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtureModel } from '../../fixtures/models.js';
import { loadModel, parseAxisSet, renderReport, type FingerprintDoc, type Model, type StabilityDoc } from '../../lib/index.js';
import { defaultSampleSizes, stability } from '../../lib/protocols/stability.js';
import { iccText } from '../../lib/protocols/wording.js';
import { validateDoc } from '../../lib/docs/read.js';
import { icc, mean } from '../../lib/stats/index.js';
import { repoPath, testModel, TEST_GPU } from '../helpers/paths.js';
import { cli, ensureBuilt } from '../helpers/cli.js';

const STORIES = testModel('stories260K.gguf');
const STORY_MOOD = repoPath('test/data/story-mood.json');
// One thread: on a busy machine llama.cpp's default (every core) waits on descheduled threads.
const LOAD = { gpu: TEST_GPU, threads: 1 } as const;
// The settings the CLI uses for `--max-tokens 8 --baseline-max-tokens 8`, so that CLI runs reuse the journal.
const CLI_EQUIVALENT = { seed: 42, maxTokens: 8, baselineMaxTokens: 8, compat: null } as const;


/** The document without what legitimately differs between runs (timestamps, timing). */
const stable = (doc: StabilityDoc) => JSON.parse(JSON.stringify({ ...doc, manifest: { ...doc.manifest, createdAt: null }, timing: null }));

/** story-mood with fewer questions and no sets B and C. */
function trimmedStoryMood(full: Record<string, any>) {
  const [axis] = full.axes;
  return { ...full, name: 'story-mood-small', axes: [{ ...axis, calibration: axis.calibration.slice(0, 8), evaluation: axis.evaluation.slice(0, 4), sets: undefined }] };
}

describe('sample sizes', () => {
  it('5, 10, … up to the largest half (the curve splits the questions in two)', () => {
    expect(defaultSampleSizes(30)).toEqual([5, 10, 15, 20, 25, 30]);
    expect(defaultSampleSizes(12)).toEqual([5, 10, 12]);
    expect(defaultSampleSizes(4)).toEqual([4]);
  });
});

describe('stability on stories260K (no chat template)', () => {
  let model: Model;
  let dir: string;
  let fullDoc: StabilityDoc;
  beforeAll(async () => {
    model = await loadModel(STORIES, LOAD);
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-stab-'));
  });
  afterAll(async () => {
    await model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('the full protocol (sets A, B, C) validates, is consistent, resumes, and reuses its journal for more runs', async () => {
    const out = join(dir, 'full');
    const statuses: string[] = [];
    const doc = await stability(model, { ...CLI_EQUIVALENT, axesFile: STORY_MOOD, runs: 3, bootstrap: 200, draws: 5, out, onStatus: (m) => statuses.push(m) });
    fullDoc = doc;
    const onDisk = JSON.parse(await readFile(join(out, 'stability.json'), 'utf8'));
    expect(validateDoc(onDisk, 'stability.json').kind).toBe('moodaxis.stability');
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(statuses.join('\n')).toMatch(/calibration sets A, B, C, 3 baseline runs \(158 responses\)/);

    // test-retest: 6 questions × 3 runs, statistics recomputed from the recorded matrix
    expect(doc.retest).toEqual({ runs: 3, questions: 6, bootstrap: 200, seed: 42 });
    expect(doc.testRetest).toHaveLength(1);
    const [t] = doc.testRetest;
    expect(t.axis).toBe('happy_sad');
    expect(t.scores).toHaveLength(6);
    for (const row of t.scores!) expect(row).toHaveLength(3);
    const again = icc(t.scores!, { model: '2,1', bootstrap: 200, seed: 42 });
    expect(t.icc21).toBe(again.value);
    expect(t.ci).toEqual(again.ci);
    expect(t.icc2k).toBe(icc(t.scores!, { model: '2,k' }).value);
    expect(t.ci[0]).toBeLessThanOrEqual(t.ci[1]);
    // different seeds per run: the runs differ
    expect(t.scores!.some((row) => row[0] !== row[1] || row[1] !== row[2])).toBe(true);

    // calibration sets
    expect(doc.missingSets).toEqual([]);
    expect(doc.calibrationSets).toHaveLength(1);
    const [c] = doc.calibrationSets;
    for (const v of Object.values(c.cosines)) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-9);
    expect(c.stabilityCosine).toBeCloseTo(mean([c.cosines.AB, c.cosines.AC, c.cosines.BC]), 12);
    expect(c.icc2k === null || Number.isFinite(c.icc2k)).toBe(true);
    // on this 260K model the three calibrations disagree (seeded: ICC(2,k) ≈ −0.57): the notes say so in words
    expect(c.icc2k).toBeLessThan(0);
    expect(doc.notes).toContain(`happy_sad: ICC(2,k) across calibration sets is ${iccText(c.icc2k)}: the three calibrations order the baseline answers differently`);
    expect(iccText(c.icc2k)).toMatch(/^−0\.\d{3} \(no agreement\)$/);

    // sample-size curve by split halves: two disjoint halves of up to 15 of the 30 questions, so the
    // cosine is not 1 by construction even at the largest n
    expect(doc.sampleSize.n).toEqual([5, 10, 15]);
    expect(doc.sampleSize.draws).toBe(5);
    expect(doc.sampleSize.method).toBe('split-half');
    expect(doc.sampleSize.threshold).toBe(0.9);
    const curve = doc.sampleSize.perAxis.happy_sad;
    expect(curve.medianCosine[2]).toBeLessThan(1 - 1e-9);
    for (const c of curve.medianCosine) expect(Math.abs(c)).toBeLessThanOrEqual(1 + 1e-9);
    for (const a of curve.auc) expect(a).toBeGreaterThanOrEqual(0);
    // 8-token answers of a 260K model at the 8-token cap: counted and warned about
    expect(doc.truncation!.total).toBe(18);
    expect(doc.truncation!.warn).toBe(doc.truncation!.capped / 18 >= 0.2);
    if (doc.truncation!.warn) expect(doc.notes!.some((n) => /stopped at the 8-token cap/.test(n))).toBe(true);
    const firstStable = doc.sampleSize.n.find((_, j) => curve.medianCosine[j] >= 0.9) ?? null;
    expect(curve.stabilisesAt).toBe(firstStable);
    expect(doc.sampleSize.stabilisesAt).toBe(firstStable);

    // dead zones with the stability term
    const [dz] = doc.deadZones;
    expect(dz.partial).toBe(false);
    expect(dz.terms.stability).toBeCloseTo(Math.min(1, Math.max(0, 1 - c.stabilityCosine)), 12);

    // resume: nothing new is generated and the document is the same
    const journal = join(out, 'stability.journal.jsonl');
    const lines = async () => (await readFile(journal, 'utf8')).trim().split('\n').length - 1;
    expect(await lines()).toBe(158);
    const resumed = await stability(model, { ...CLI_EQUIVALENT, axesFile: STORY_MOOD, runs: 3, bootstrap: 200, draws: 5, out });
    expect(stable(resumed)).toEqual(stable(doc));
    expect(await lines()).toBe(158);
    // one more run generates only its 6 baseline responses; the first three runs are unchanged
    const more = await stability(model, { ...CLI_EQUIVALENT, axesFile: STORY_MOOD, runs: 4, bootstrap: 200, draws: 5, out: join(dir, 'full') });
    expect(await lines()).toBe(164);
    expect(more.testRetest[0].scores!.map((r) => r.slice(0, 3))).toEqual(t.scores);
    // the file now holds the 4-run document; put the 3-run one back for the CLI test
    await writeFile(join(out, 'stability.json'), `${JSON.stringify(doc, null, 2)}\n`);
  });

  it('an axis file without sets B and C: says so, still runs test-retest and the curve, dead zones partial', async () => {
    const full = JSON.parse(await readFile(STORY_MOOD, 'utf8'));
    const axisSet = parseAxisSet(trimmedStoryMood(full), 'story-mood-small');
    const statuses: string[] = [];
    const doc = await stability(model, { ...CLI_EQUIVALENT, axisSet, runs: 2, bootstrap: 100, draws: 3, onStatus: (m) => statuses.push(m) });
    expect(validateDoc(JSON.parse(JSON.stringify(doc)), 'doc').kind).toBe('moodaxis.stability');
    expect(statuses[0]).toMatch(/story-mood-small has no calibration sets B and C: calibration-set stability .* is not measured/);
    expect(doc.notes![0]).toBe(statuses[0]);
    expect(doc.calibrationSets).toEqual([]);
    expect(doc.missingSets).toEqual(['happy_sad']);
    expect(doc.testRetest).toHaveLength(1);
    expect(doc.testRetest[0].scores![0]).toHaveLength(2);
    expect(doc.sampleSize.n).toEqual([4]);
    expect(doc.deadZones[0].partial).toBe(true);
    expect(doc.deadZones[0].terms.stability).toBeNull();
    // the HTML report reads both documents
    expect(renderReport([doc])).toMatch(/axes (stabilise at n = 4|do not stabilise up to n = 4)/);
    expect(renderReport([fullDoc])).toContain('happy');
  });

  it('the CLI: table from the same journal; fingerprint --stability gives full dead-zone severity; bad stability files exit 2', async () => {
    await ensureBuilt();
    const out = join(dir, 'full');
    const common = ['--axes-file', STORY_MOOD, '--out', out, '--max-tokens', '8', '--baseline-max-tokens', '8', '--bootstrap', '200', '--draws', '5', '--gpu', TEST_GPU];
    const table = await cli(['stability', STORIES, ...common, '--runs', '3']);
    expect(table.stderr).not.toMatch(/error/);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/happy\/sad/);
    expect(table.stdout).toMatch(/axes stabilise at n = \d+|do not reach median cosine 0\.9|do not stabilise/);
    const json = await cli(['stability', STORIES, ...common, '--runs', '3', '--json']);
    expect(json.code).toBe(0);
    expect(stable(JSON.parse(json.stdout))).toEqual(stable(fullDoc));
    expect((await readFile(join(out, 'stability.journal.jsonl'), 'utf8')).trim().split('\n').length - 1).toBe(164);

    // fingerprint with the stability cosines (a small axis file with the same axis id)
    const small = join(dir, 'small.json');
    await writeFile(small, JSON.stringify(trimmedStoryMood(JSON.parse(await readFile(STORY_MOOD, 'utf8')))));
    const fpArgs = ['fingerprint', STORIES, '--axes-file', small, '--no-cache', '--max-tokens', '8', '--baseline-max-tokens', '8', '--gpu', TEST_GPU, '--out', join(dir, 'fp'), '--json'];
    const fp = await cli([...fpArgs, '--stability', join(out, 'stability.json')]);
    expect(fp.code).toBe(0);
    const doc = JSON.parse(fp.stdout) as FingerprintDoc;
    expect(doc.deadZones[0].partial).toBe(false);
    expect(doc.deadZones[0].terms.stability).toBeCloseTo(Math.min(1, Math.max(0, 1 - fullDoc.calibrationSets[0].stabilityCosine)), 12);

    // another model's stability run, a fingerprint instead of a stability document, a missing file
    const other = join(dir, 'other.json');
    await writeFile(other, JSON.stringify({ ...fullDoc, manifest: { ...fullDoc.manifest, model: { ...fullDoc.manifest.model, identity: 'sha256:0000' } } }));
    const wrongModel = await cli([...fpArgs, '--stability', other]);
    expect(wrongModel.code).toBe(2);
    expect(wrongModel.stderr).toMatch(/other\.json: this stability run was made from another model/);
    const wrongKind = await cli([...fpArgs, '--stability', join(dir, 'fp', 'fingerprint.json')]);
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.stderr).toMatch(/fingerprint\.json: kind: expected "moodaxis\.stability", got "moodaxis\.fingerprint"/);
    const missing = await cli([...fpArgs, '--stability', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.json: no such file/);
    const badRuns = await cli(['stability', STORIES, ...common, '--runs', '1']);
    expect(badRuns.code).toBe(2);
    expect(badRuns.stderr).toMatch(/runs must be an integer ≥ 2, got 1/);
  });
});

describe('stability with the built-in axes on a chat-templated model', () => {
  it('seven axes with sets B and C, the chat template, one batch', async () => {
    const path = await ensureFixtureModel('tinyChat', join(tmpdir(), 'moodaxis-fixtures'));
    const model = await loadModel(path, LOAD);
    try {
      const statuses: string[] = [];
      const doc = await stability(model, { maxTokens: 4, baselineMaxTokens: 4, runs: 2, bootstrap: 100, draws: 3, onStatus: (m) => statuses.push(m) });
      // A: 7 × (30 + 10) × 2, B and C: 7 × 20 × 2 each (evaluation shared with A), baseline 2 × 30
      expect(statuses.join('\n')).toMatch(/7 axes, calibration sets A, B, C, 2 baseline runs \(1180 responses\)/);
      expect(validateDoc(JSON.parse(JSON.stringify(doc)), 'doc').kind).toBe('moodaxis.stability');
      expect(doc.calibrationSets.map((c) => c.axis)).toEqual(['warm_cold', 'patient_irritated', 'confident_cautious', 'proactive_reluctant', 'empathetic_analytical', 'formal_casual', 'verbose_concise']);
      expect(doc.testRetest.length + (doc.notes ?? []).filter((n) => /test-retest ICC is undefined/.test(n)).length).toBe(7);
      expect(doc.testRetest[0]?.scores).toHaveLength(30);
      expect(doc.deadZones.every((d) => !d.partial)).toBe(true);
      expect(doc.manifest.model.chatTemplate).toBe(true);
      const at = doc.sampleSize.n.find((_, j) => Object.values(doc.sampleSize.perAxis).every((e) => e.medianCosine[j] >= 0.9)) ?? null;
      expect(doc.sampleSize.stabilisesAt).toBe(at);
    } finally {
      await model.dispose();
    }
  });
});
