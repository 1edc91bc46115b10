import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type Model } from '../../lib/index.js';
import { renderPlainPrompt } from '../../lib/method/axes-file.js';
import { collectResponses } from '../../lib/method/collect.js';
import { collectOptions, resolveSettings } from '../../lib/method/settings.js';
import { drift } from '../../lib/protocols/drift.js';
import { type DriftDoc } from '../../lib/docs/types.js';
import { builtinScenariosPath, loadScenarioSet, MAX_SCENARIO_FILE_BYTES, parseScenarioSet } from '../../lib/protocols/drift-scenarios.js';
import { driftStats, trend } from '../../lib/stats/drift.js';
import { parseDoc, renderReport } from '../../lib/report/html.js';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { measureLayout } from '../report/layout.js';
import { DRIFT_NO_CHAT_TEMPLATE_WARNING } from '../../lib/protocols/wording.js';
import { repoPath, testModel, TEST_GPU } from '../helpers/paths.js';

const STORIES = testModel('stories260K.gguf');
const STORY_MOOD = repoPath('test/data/story-mood.json');
const LOAD = { gpu: TEST_GPU, threads: 1 } as const;
const BOOT = { resamples: 500, seed: 7, level: 0.95 };

describe('drift statistics (exact)', () => {
  // per-turn means [1, 2, 4.5] at turns 1, 2, 3: slope = Σ(x−2)(y−2.5)/Σ(x−2)² = (1.5 + 2)/2 = 1.75; delta = 4.5 − 1 = 3.5
  const group = [
    [0, 1, 2],
    [2, 3, 7],
  ];
  it('slope, delta and per-turn means', () => {
    const t = trend(group);
    expect(t.turnMeans).toEqual([1, 2, 4.5]);
    expect(t.slope).toBeCloseTo(1.75, 12);
    expect(t.delta).toBe(3.5);
    // picking scenario 1 twice: its own line, slope (7 − 2)/2 = 2.5
    expect(trend(group, [1, 1]).slope).toBeCloseTo(2.5, 12);
    expect(trend(group, [1, 1]).delta).toBe(5);
  });

  it('minus the controls: control means 0.5 1 1.5 (slope 0.5, delta 1)', () => {
    const control = [
      [1, 1, 2],
      [0, 1, 1],
    ];
    const s = driftStats(group, control, BOOT);
    expect(s.vsControl!.slope).toBeCloseTo(1.75 - 0.5, 12);
    expect(s.vsControl!.delta).toBeCloseTo(3.5 - 1, 12);
    expect(driftStats(group, null, BOOT).vsControl).toBeNull();
  });

  it('bootstrap over scenarios: CIs within what the scenarios allow, the same with the same seed, a point CI for identical scenarios', () => {
    const s = driftStats(group, null, BOOT);
    expect(s.slope).toBeCloseTo(1.75, 12);
    // a resample of 2 scenarios is {0,0}, {0,1} or {1,1}: slopes 1, 1.75, 2.5; deltas 2, 3.5, 5
    expect(s.slopeCI![0]).toBeGreaterThanOrEqual(1);
    expect(s.slopeCI![1]).toBeLessThanOrEqual(2.5);
    expect(s.deltaCI![0]).toBeGreaterThanOrEqual(2);
    expect(s.deltaCI![1]).toBeLessThanOrEqual(5);
    expect(s.deltaCI![0]).toBeLessThan(s.deltaCI![1]);
    expect(driftStats(group, null, BOOT)).toEqual(s);
    const four = [...group, [1, 1, 1], [0, 4, 3]];
    expect(driftStats(four, null, BOOT)).toEqual(driftStats(four, null, BOOT));
    expect(driftStats(four, null, { ...BOOT, seed: 8 }).slopeCI).not.toEqual(driftStats(four, null, BOOT).slopeCI);
    const same = driftStats([[0, 1, 2], [0, 1, 2]], [[3, 3, 3]], BOOT);
    expect(same.slopeCI).toEqual([1, 1]);
    expect(same.vsControl!.slopeCI).toEqual([1, 1]);
    expect(same.vsControl!.deltaCI).toEqual([2, 2]);
  });

  it('rows of unequal length are refused', () => {
    expect(() => driftStats([[1, 2], [1]], null, BOOT)).toThrow(/every scenario needs 2 turns/);
  });
});

describe('drift scenario files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-drift-files-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the built-in file: 10 hostile categories x 5 scenarios and 10 neutral controls, 12 turns each, every turn distinct within its scenario', () => {
    const set = loadScenarioSet(builtinScenariosPath());
    const perCategory = new Map<string, number>();
    for (const s of set.scenarios) perCategory.set(s.category, (perCategory.get(s.category) ?? 0) + 1);
    expect(Object.fromEntries(perCategory)).toEqual({
      sarcasm: 5,
      threats: 5,
      accusations: 5,
      passive_aggression: 5,
      repeated_rejection: 5,
      gaslighting: 5,
      impatience: 5,
      condescension: 5,
      guilt_tripping: 5,
      topic_hijacking: 5,
      neutral: 10,
    });
    for (const s of set.scenarios) {
      expect(s.turns).toHaveLength(12);
      expect(new Set(s.turns).size).toBe(12);
    }
  });

  it('errors name the file and the field', async () => {
    const ok = { name: 'x', scenarios: [{ id: 'a', category: 'sarcasm', turns: ['1', '2'] }, { id: 'b', category: 'neutral', turns: ['1', '2'] }] };
    expect(parseScenarioSet(ok, 'f.json').scenarios).toHaveLength(2);
    expect(() => parseScenarioSet({ ...ok, scenarios: [ok.scenarios[0], { ...ok.scenarios[1], turns: ['1', ''] }] }, 'f.json')).toThrow(/^f\.json: scenarios\[1\]\.turns\[1\]: a turn must not be empty/);
    expect(() => parseScenarioSet({ ...ok, scenarios: [ok.scenarios[0], { ...ok.scenarios[1], turns: ['1', '2', '3'] }] }, 'f.json')).toThrow(/f\.json: scenarios\[1\]\.turns: 3 turns, but scenarios\[0\] has 2/);
    expect(() => parseScenarioSet({ ...ok, scenarios: [ok.scenarios[0], { ...ok.scenarios[0], id: 'c' }] }, 'f.json')).toThrow(/f\.json: scenarios: no control scenario/);
    expect(() => parseScenarioSet({ ...ok, extra: 1 }, 'f.json')).toThrow(/f\.json: \(top level\): unknown key "extra"/);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"name": "x",');
    expect(() => loadScenarioSet(broken)).toThrow(new RegExp(`${broken}: not valid JSON`));
    const big = join(dir, 'big.json');
    await writeFile(big, ' '.repeat(MAX_SCENARIO_FILE_BYTES + 1));
    expect(() => loadScenarioSet(big)).toThrow(/more than the 2 MiB a scenario file may have/);
    expect(() => loadScenarioSet(join(dir, 'missing.json'))).toThrow(/missing\.json: file not found/);
  });
});

describe('drift on stories260K (no chat template)', () => {
  let model: Model;
  let dir: string;
  const scenarios = {
    name: 'story-drift',
    scenarios: [
      { id: 'mean-1', category: 'sarcasm', turns: ['Tom was mean to the dog.', 'The dog was sad and ran away.', 'Tom laughed at the sad dog.'] },
      { id: 'kind-1', category: 'neutral', turns: ['Lily went to the park.', 'She played with her friend.', 'They had fun in the sun.'] },
    ],
  };
  beforeAll(async () => {
    model = await loadModel(STORIES, LOAD);
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-drift-'));
  });
  afterAll(async () => {
    await model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('plays the turns on the decoded history, captures each answer alone, writes drift.json', async () => {
    const file = join(dir, 'scenarios.json');
    await writeFile(file, JSON.stringify(scenarios));
    const out = join(dir, 'out');
    const options = { seed: 42, maxTokens: 8, compat: null, cache: false, axesFile: STORY_MOOD, scenarios: file, out, resamples: 200 } as const;
    const doc: DriftDoc = await drift(model, options);
    expect(doc.kind).toBe('moodaxis.drift');
    expect(doc.turns).toBe(3);
    expect(doc.warnings).toEqual([DRIFT_NO_CHAT_TEMPLATE_WARNING]);
    expect(doc.conversations.map((c) => c.id)).toEqual(['mean-1', 'kind-1']);
    const axisIds = doc.axes.map((a) => a.id);
    expect(axisIds.length).toBeGreaterThan(0);
    for (const c of doc.conversations) {
      expect(c.turns).toHaveLength(3);
      for (const t of c.turns) {
        expect(t.tokens).toBeGreaterThan(0);
        // the capture window is this turn's generated tokens, not the history
        expect(t.capturedTokens).toBe(t.tokens);
        expect(Object.keys(t.scores)).toEqual(axisIds);
      }
    }
    // turn 2 of a conversation is generated after the decoded text of turn 1: the same job rebuilt by
    // hand from the document's turn-1 answer gives the same answer and the same hidden state
    const mean = doc.conversations[0]!;
    const history = [
      { role: 'user' as const, content: mean.turns[0]!.user },
      { role: 'assistant' as const, content: mean.turns[0]!.text },
    ];
    const template = '{question} {instruction}';
    const prompt = renderPlainPrompt(template, null, `${history.map((m) => m.content).join('\n\n')}\n\n${mean.turns[1]!.user}`);
    expect(prompt).toContain(mean.turns[0]!.text);
    const question = { id: 'drift/mean-1/02', axis: null, set: 'baseline' as const, index: 1, text: mean.turns[1]!.user };
    const settings = resolveSettings(options);
    const again = (await collectResponses(model, [{ key: 'drift/mean-1/02|none', question, pole: 'none', instruction: null, promptTemplate: template, maxTokens: 8, history }], collectOptions(model, settings))).get('drift/mean-1/02|none')!;
    expect(again.text).toBe(mean.turns[1]!.text);
    expect(again.capturedTokens).toBe(mean.turns[1]!.tokens);

    // statistics: the categories are the pure functions on the document's own scores
    expect(doc.categories.map((c) => [c.id, c.control, c.scenarios])).toEqual([['sarcasm', false, 1], ['neutral', true, 1]]);
    const rows = (id: string, axis: string) => doc.conversations.filter((c) => c.category === id).map((c) => c.turns.map((t) => t.scores[axis]!));
    for (const axis of axisIds) {
      const hostile = doc.categories[0]!.axes.find((a) => a.axis === axis)!;
      expect(hostile).toEqual({ axis, ...driftStats(rows('sarcasm', axis), rows('neutral', axis), doc.bootstrap) });
      expect(hostile.delta).toBeCloseTo(rows('sarcasm', axis)[0]![2]! - rows('sarcasm', axis)[0]![0]!, 12);
      expect(doc.categories[1]!.axes.find((a) => a.axis === axis)!.vsControl).toBeNull();
    }
    expect(doc.generation.map((g) => g.turn)).toEqual([1, 2, 3]);
    // each turn starts from the KV cache its conversation's previous turn left (the shared history)
    expect(doc.generation[1]!.sharedTokens).toBeGreaterThan(0);
    expect(doc.generation[2]!.sharedTokens).toBeGreaterThan(doc.generation[1]!.sharedTokens);
    expect(JSON.parse(await readFile(join(out, 'drift.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(doc)));
    // resumed from the journal: the same conversations
    const resumed = await drift(model, options);
    expect(resumed.conversations).toEqual(doc.conversations);
    expect(resumed.timing.restoredResponses).toBeGreaterThan(0);

    // the report reads drift.json: one row per category and axis, a per-turn plot per axis
    const html = renderReport([parseDoc(await readFile(join(out, 'drift.json'), 'utf8'), 'drift.json')]);
    expect(html).toContain('data-section="drift"');
    expect(html).toContain('sarcasm');
    expect(html).toContain('(controls)');
    expect(html.match(/Mean score per turn: /g)).toHaveLength(axisIds.length);
    // readable in a real browser at phone, tablet and desktop widths (nothing clipped or overlapping)
    // (a small report: the checks of expectReadable without its minimum amount of text)
    for (const r of await measureLayout(html, 'layout-drift', [390, 768, 1280])) {
      expect(r.measured, `${r.width} px`).toBeGreaterThan(20);
      expect(r.scrollWidth, `${r.width} px: no sideways scrolling`).toBeLessThanOrEqual(r.width);
      expect([r.smallText, r.cutText, r.overlappingText, r.hiddenCharts], `${r.width} px`).toEqual([[], [], [], []]);
    }
    const bad = JSON.parse(await readFile(join(out, 'drift.json'), 'utf8'));
    bad.categories[0].axes[0].turnMeans = [1];
    expect(() => parseDoc(JSON.stringify(bad), 'bad.json')).toThrow(/bad\.json: categories\[0\]\.axes\[0\]\.turnMeans: expected 3 numbers, got 1/);

    // the CLI: the same settings resume from the journal and print the table; --json prints the document
    await ensureBuilt();
    const args = ['drift', STORIES, '--scenarios', file, '--axes-file', STORY_MOOD, '--gpu', TEST_GPU, '--out', out, '--max-tokens', '8', '--no-cache', '--resamples', '200'];
    const table = await cli(args);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/sarcasm \(1\)/);
    expect(table.stdout).toContain('slope per turn');
    const json = await cli([...args, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).conversations).toEqual(JSON.parse(JSON.stringify(doc.conversations)));
    const broken = join(dir, 'broken.json');
    await writeFile(broken, JSON.stringify({ ...scenarios, scenarios: [scenarios.scenarios[0], { ...scenarios.scenarios[0], id: 'mean-2' }] }));
    const refused = await cli(['drift', STORIES, '--scenarios', broken, '--out', join(dir, 'x')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${broken}: scenarios: no control scenario`);
  }, 240_000);
});
