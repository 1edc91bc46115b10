import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, loadModel, type FingerprintDoc } from '../../lib/index.js';
import { compareFingerprints } from '../../lib/protocols/compare.js';
import { type CompareDoc } from '../../lib/docs/types.js';
import { repoPath, testModel, TEST_GPU } from '../helpers/paths.js';
import { sampleStability, twoModelDocs } from '../report/sample-docs.js';
import { cli, ensureBuilt } from '../helpers/cli.js';

const STORIES = testModel('stories260K.gguf');

describe('compareFingerprints', () => {
  it('deltas B − A, std ratios B / A, moved above the threshold, suppressed below 0.5', () => {
    const [a, b] = twoModelDocs();
    const doc = compareFingerprints(a, b, { threshold: 0.2 });
    expect(doc.axes.map((x) => x.id)).toEqual(a.axes.map((x) => x.id));
    doc.axes.forEach((x, i) => {
      expect(x.delta).toBe(b.axes[i].mean - a.axes[i].mean);
      expect(x.stdRatio).toBe(b.axes[i].std / a.axes[i].std);
      expect(x.moved).toBe(Math.abs(x.delta) > 0.2);
      expect(x.suppressed).toBe(x.stdRatio! < 0.5);
    });
    expect(doc.moved).toEqual(doc.axes.filter((x) => x.moved).map((x) => x.id));
    expect(doc.moved.length).toBeGreaterThan(0);
    expect(doc.notes[0]).toMatch(/^different models: Llama-3.1-8B-Instruct vs Qwen2.5-7B-Instruct/);
    // only common axes are compared; none in common is bad input
    const fewer = { ...b, axes: b.axes.slice(2) };
    const partial = compareFingerprints(a, fewer);
    expect(partial.onlyInA).toEqual(['warm_cold', 'patient_irritated']);
    expect(partial.axes).toHaveLength(5);
    expect(() => compareFingerprints({ ...a, axes: a.axes.slice(0, 1) }, fewer)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});

describe('moodaxis compare (CLI exit codes) on real fingerprints of stories260K', () => {
  let dir: string;
  let fpA: string;
  let doc: FingerprintDoc;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-compare-'));
    const model = await loadModel(STORIES, { gpu: TEST_GPU, threads: 1 });
    try {
      doc = await fingerprint(model, { axesFile: repoPath('test/data/story-benchmark.json'), maxTokens: 8, baselineMaxTokens: 8, cache: false, out: join(dir, 'a') });
    } finally {
      await model.dispose();
    }
    fpA = join(dir, 'a', 'fingerprint.json');
    await ensureBuilt();
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const write = async (name: string, content: unknown) => {
    const path = join(dir, name);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  it('exits 0 when nothing moved, 1 when an axis moved more than the threshold', async () => {
    const same = await cli(['compare', fpA, fpA]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/no axis moved more than 0\.2/);

    // the same model after an "update": on one axis mean +0.25 and std 40 %
    expect(same.stdout).toMatch(/warm\/cold[\s\S]*confident\/cautious[\s\S]*verbose\/concise/);
    const i = doc.axes.findIndex((x) => x.std > 0);
    const x = doc.axes[i];
    const moved = await write('b.json', { ...doc, axes: doc.axes.map((y, j) => (j === i ? { ...y, mean: y.mean + 0.25, std: y.std * 0.4 } : y)) });
    const r = await cli(['compare', fpA, moved]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\+0\.25/);
    expect(r.stdout).toMatch(/moved, suppressed/);
    expect(r.stdout).toContain(`1 axis moved more than 0.2: ${x.positive}/${x.negative}`);
    expect((await cli(['compare', fpA, moved, '--threshold', '0.3'])).code).toBe(0);
    const json = await cli(['compare', fpA, moved, '--json']);
    expect(json.code).toBe(1);
    const cmp = JSON.parse(json.stdout) as CompareDoc;
    expect(cmp.kind).toBe('moodaxis.compare');
    expect(cmp.axes[i].delta).toBeCloseTo(0.25, 12);
    expect(cmp.axes[i].stdRatio).toBeCloseTo(0.4, 12);
    expect(cmp.axes[i].suppressed).toBe(true);
    expect(cmp.axes.filter((y) => y.delta !== 0)).toHaveLength(1);
    expect(cmp.moved).toEqual([x.id]);
    expect(cmp.notes).toEqual([]);
    // B lower by 0.25: also moved
    expect((await cli(['compare', moved, fpA, '--quiet'])).code).toBe(1);
  });

  it('exits 2 on bad input, naming the file and the field', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[fpA, join(dir, 'missing.json')], /missing\.json: no such file/],
      [[fpA, await write('text.json', 'not json {')], /text\.json: not valid JSON/],
      [[fpA, await write('stab.json', sampleStability(twoModelDocs()[0], 3))], /stab\.json: kind: expected "moodaxis\.fingerprint", got "moodaxis\.stability"/],
      [[fpA, await write('other.json', { kind: 'something', schemaVersion: 1 })], /other\.json: kind: expected one of/],
      [[fpA, await write('hole.json', { ...doc, axes: [{ ...doc.axes[0], scores: [0.1, null, 0.2] }] })], /hole\.json: axes\[0\]\.scores: expected an array of numbers \(item 1 is null\)/],
      [[fpA, await write('nomean.json', { ...doc, axes: [{ ...doc.axes[0], mean: 'high' }] })], /nomean\.json: axes\[0\]\.mean: expected a number/],
      [[fpA, fpA, '--threshold', '-1'], /threshold must be a number ≥ 0, got -1/],
      [[fpA, fpA, '--threshold', 'abc'], /--threshold: expected a number, got "abc"/],
      [[fpA, await write('noaxes.json', { ...doc, axes: doc.axes.map((a) => ({ ...a, id: `${a.id}_2` })) })], /have no axis in common/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['compare', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
