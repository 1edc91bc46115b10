import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtureModel } from '../../fixtures/models.js';
import {
  calibrate,
  defaultSteerLayers,
  exportSteeringVector,
  fingerprint,
  loadControlVectors,
  loadModel,
  readControlVectorFile,
  readGgufHeader,
  steer,
  steeringVector,
  toEngineControlVector,
  writeAxesFile,
  writeControlVectorFile,
  type AxesDoc,
  type ControlVectorInput,
  type Model,
} from '../../lib/index.js';
import { GgmlType, GgufValueType, GgufWriter } from '../../lib/engine/gguf/index.js';
import { parseControlVectorSpec } from '../../lib/method/control-vector.js';
import { effectiveRange, parseAlphas, parseLayers, repetitionRate, sweepWindows } from '../../lib/protocols/steer.js';
import { validateDoc } from '../../lib/docs/read.js';
import { repoPath, testModel } from '../helpers/paths.js';
import { cli, ensureBuilt } from '../helpers/cli.js';

const STORIES = testModel('stories260K.gguf');
const STORY_MOOD = repoPath('test/data/story-mood.json');
const PROMPTS = ['One day, a little girl went to the store with her mom.', 'The sun was hot and the sky was blue.', 'A boy found a box under his bed.', 'Mom made a cake for the party.'];
/** Greedy and batch-independent: the same inputs give the same tokens. */
const GREEDY = { temperature: 0, maxTokens: 12, deterministic: true, capture: { tokenDecay: 1.0 } } as const;

describe('steering on stories260K with the happy/sad axis', () => {
  let model: Model;
  let axes: AxesDoc;
  let dir: string;
  /** α · 0.1 · h̄ · v / 2 on blocks 2 and 3, with the axis's meanNorm as h̄ (fixed, for engine-level checks). */
  let vectorAt: (alpha: number) => ControlVectorInput | null;
  const greedy = async (cv?: ControlVectorInput | null) => model.generate(PROMPTS.map((prompt) => ({ prompt })), { ...GREEDY, controlVector: cv });

  beforeAll(async () => {
    model = await loadModel(STORIES, { gpu: 'cpu' });
    axes = await calibrate(model, { axesFile: STORY_MOOD, maxTokens: 8, tokenDecay: 1.0 });
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-steer-'));
    vectorAt = (alpha) => toEngineControlVector(steeringVector(axes.axes[0]!, { alpha, layers: [2, 3], model: model.info }), model.info);
  });
  afterAll(async () => {
    await model?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the engine applies a control vector per call: α = 0 equals none, strengths do not leak between calls', async () => {
    const plain = await greedy();
    // a zero vector through the engine (the library turns α = 0 into no vector at all)
    expect(vectorAt(0)).toBeNull();
    const zero = await greedy({ data: new Float32Array((model.info.layers - 1) * model.info.hiddenSize), layerStart: 2, layerEnd: 3 });
    expect(zero.map((r) => r.text)).toEqual(plain.map((r) => r.text));
    zero.forEach((r, i) => expect(Array.from(r.vector)).toEqual(Array.from(plain[i]!.vector)));

    const up = await greedy(vectorAt(8));
    // the same vector again (the context keeps it instead of applying it a second time): the same answers
    const upTwice = await greedy(vectorAt(8));
    expect(upTwice.map((r) => r.text)).toEqual(up.map((r) => r.text));
    upTwice.forEach((r, i) => expect(Array.from(r.vector)).toEqual(Array.from(up[i]!.vector)));
    const down = await greedy(vectorAt(-8));
    // it steers: the texts change, and the captured states move along the axis
    expect(up.filter((r, i) => r.text !== plain[i]!.text).length).toBeGreaterThanOrEqual(2);
    const proj = (v: Float32Array) => v.reduce((s, x, i) => s + x * axes.axes[0]!.vector[i]!, 0);
    up.forEach((r, i) => expect(proj(r.vector)).toBeGreaterThan(proj(plain[i]!.vector)));
    down.forEach((r, i) => expect(proj(r.vector)).toBeLessThan(proj(plain[i]!.vector)));
    // no leak: the same strength again gives the same answers after another one, and none after both
    const upAgain = await greedy(vectorAt(8));
    expect(upAgain.map((r) => r.text)).toEqual(up.map((r) => r.text));
    upAgain.forEach((r, i) => expect(Array.from(r.vector)).toEqual(Array.from(up[i]!.vector)));
    const plainAgain = await greedy(null);
    expect(plainAgain.map((r) => r.text)).toEqual(plain.map((r) => r.text));
    plainAgain.forEach((r, i) => expect(Array.from(r.vector)).toEqual(Array.from(plain[i]!.vector)));
  });

  it('mean score rises monotonically with α over −4 … 4 (Spearman ρ ≥ 0.9), texts change, repetition is reported', async () => {
    // 6 baseline questions × 8 seeds; the unsteered answers already read about −0.95 (near the clip at
    // −1), so the sad side has little room and needs that many answers to stay ordered.
    const doc = await steer(model, { axes, axis: 'happy_sad', axesFile: STORY_MOOD, alphas: [-4, -2, 0, 2, 4], baselineMaxTokens: 8, repeats: 8 });
    expect(validateDoc(JSON.parse(JSON.stringify(doc)), 'steer')).toBeTruthy();
    expect(doc.layers).toEqual([2, 3]); // the middle third of 5 blocks
    expect(doc.alphas.map((a) => a.alpha)).toEqual([-4, -2, 0, 2, 4]);
    expect(doc.spearman).toBeGreaterThanOrEqual(0.9);
    expect(doc.slope).toBeGreaterThan(0);
    const scores = doc.alphas.map((a) => a.meanScore);
    for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeGreaterThanOrEqual(scores[i - 1]!);
    expect(scores[4]! - scores[2]!).toBeGreaterThan(0.1);
    // h̄ is measured per steered block and grows with depth
    expect(doc.norms).toHaveLength(2);
    expect(doc.norms![1]!).toBeGreaterThan(doc.norms![0]!);
    for (const a of doc.alphas) {
      expect(a.repetition).toBeGreaterThanOrEqual(0);
      expect(a.repetition).toBeLessThan(1);
      expect(a.samples).toHaveLength(2);
      expect(a.leakage).toEqual({}); // one axis only
    }
    // the push itself (states while steering) is far larger than what the text carries
    expect(doc.alphas[4]!.inPassScore!).toBeGreaterThan(doc.alphas[4]!.meanScore);
    expect(doc.range[0]).toBeLessThanOrEqual(0);
    expect(doc.range[1]).toBeGreaterThanOrEqual(0);
    // texts change with α (same questions, same seeds)
    const zero = doc.alphas[2]!.samples;
    expect(doc.alphas[0]!.samples).not.toEqual(zero);
    expect(doc.alphas[4]!.samples).not.toEqual(zero);
  });

  it('a push past the useful range degenerates the text: repetition rises and the effective range stops before it', async () => {
    const doc = await steer(model, { axes, axis: 'happy_sad', axesFile: STORY_MOOD, alphas: [0, 4, 20], baselineMaxTokens: 16, repeats: 2 });
    const [zero, , far] = doc.alphas;
    expect(far!.repetition).toBeGreaterThan(0.3);
    expect(zero!.repetition).toBeLessThan(0.1);
    expect(doc.range[1]).toBeLessThan(20);
  });

  it('export → load gives the same vector and identical generations; the header is a llama.cpp control vector', async () => {
    const doc = { axis: 'happy_sad', layers: [2, 3], norms: [6, 8], unit: 0.1 };
    const at4 = join(dir, 'happy-a4.gguf');
    const unit = join(dir, 'happy.gguf');
    await exportSteeringVector(at4, axes, doc, model.info, 4);
    await exportSteeringVector(unit, axes, doc, model.info); // α = 1: a load scale is then the α

    const info = await readGgufHeader(at4);
    expect(info.architecture).toBe('controlvector');
    expect(info.metadata.get('controlvector.model_hint')).toBe(model.info.architecture);
    expect(info.metadata.get('controlvector.layer_count')).toBe(model.info.layers - 1);
    expect(info.metadataTypes.get('controlvector.layer_count')?.type).toBe(GgufValueType.INT32);
    expect(info.tensors.map((t) => t.name)).toEqual(['direction.1', 'direction.2', 'direction.3', 'direction.4']);
    for (const t of info.tensors) {
      expect(t.typeName).toBe('F32');
      expect(t.shape).toEqual([model.info.hiddenSize]);
    }
    expect(info.metadata.get('moodaxis.axis')).toBe('happy_sad');

    const direct = toEngineControlVector(steeringVector(axes.axes[0]!, { alpha: 4, ...doc, model: model.info }), model.info)!;
    const loaded = await loadControlVectors([at4], model.info);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.input!.layerStart).toBe(2);
    expect(loaded.input!.layerEnd).toBe(3);
    expect(Array.from(loaded.input!.data)).toEqual(Array.from(direct.data));
    const scaled = await loadControlVectors([`${unit}:4`], model.info);
    scaled.input!.data.forEach((x, i) => expect(x).toBeCloseTo(direct.data[i]!, 5));

    const a = await greedy(direct);
    const b = await greedy(loaded.input);
    const c = await greedy(scaled.input);
    expect(b.map((r) => r.text)).toEqual(a.map((r) => r.text));
    expect(c.map((r) => r.text)).toEqual(a.map((r) => r.text));
    expect(a.map((r) => r.text)).not.toEqual((await greedy()).map((r) => r.text));

    // several files add up, each with its scale: +4 and −4 cancel
    const cancel = await loadControlVectors([at4, `${unit}:-4`], model.info);
    for (const dir of cancel.vector.directions.values()) dir.forEach((x) => expect(Math.abs(x)).toBeLessThan(1e-5));
    expect(cancel.input === null || cancel.input.data.every((x) => Math.abs(x) < 1e-5)).toBe(true);
  });

  it('reads vectors written the way cvector-generator and repeng write them, and names file and field in errors', async () => {
    const d = model.info.hiddenSize;
    const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
    // repeng: only some layers, a Hugging Face model type as hint, no general.alignment
    const repeng = new GgufWriter().delete('general.alignment');
    repeng.setString('general.architecture', 'controlvector').setString('controlvector.model_hint', 'mistral').setI32('controlvector.layer_count', 1);
    repeng.addTensor('direction.3', [d], GgmlType.F32!, f32(Array.from({ length: d }, (_, i) => (i === 0 ? 1 : 0))));
    const repengPath = join(dir, 'repeng.gguf');
    await repeng.write(repengPath);
    const r = await loadControlVectors([`${repengPath}:0.5`], model.info);
    expect(r.warnings[0]).toMatch(/model_hint is "mistral"/);
    expect(r.input!.layerStart).toBe(3);
    expect(r.input!.data[(3 - 1) * d]).toBe(0.5);

    const bad = async (name: string, build: (w: GgufWriter) => void) => {
      const w = new GgufWriter();
      w.setString('general.architecture', 'controlvector').setString('controlvector.model_hint', 'llama');
      build(w);
      const path = join(dir, name);
      await w.write(path);
      return path;
    };
    const wrongSize = await bad('size.gguf', (w) => w.addTensor('direction.1', [32], GgmlType.F32!, f32(new Array(32).fill(1))));
    await expect(loadControlVectors([wrongSize], model.info)).rejects.toThrow(/size\.gguf: direction\.1: has 32 values, but the model has hidden size 64/);
    const outOfRange = await bad('range.gguf', (w) => w.addTensor('direction.5', [d], GgmlType.F32!, f32(new Array(d).fill(1))));
    await expect(loadControlVectors([outOfRange], model.info)).rejects.toThrow(/range\.gguf: direction\.5: layer 5 is out of range/);
    const f16 = await bad('f16.gguf', (w) => w.addTensor('direction.1', [d], GgmlType.F16!, new Uint8Array(d * 2)));
    await expect(readControlVectorFile(f16)).rejects.toThrow(/f16\.gguf: tensor 'direction\.1': has type F16, expected F32/);
    const zeroLayer = await bad('zero.gguf', (w) => w.addTensor('direction.0', [d], GgmlType.F32!, f32(new Array(d).fill(1))));
    await expect(readControlVectorFile(zeroLayer)).rejects.toThrow(/zero\.gguf: tensor 'direction\.0': layer 0 cannot be steered/);
    const badName = await bad('name.gguf', (w) => w.addTensor('dir.1', [d], GgmlType.F32!, f32(new Array(d).fill(1))));
    await expect(readControlVectorFile(badName)).rejects.toThrow(/name\.gguf: tensor 'dir\.1': expected a tensor named direction\.<layer>/);
    await expect(readControlVectorFile(STORIES)).rejects.toThrow(/stories260K\.gguf: general\.architecture: is "llama", expected "controlvector" \(this is a model file/);
    await expect(readControlVectorFile(join(dir, 'missing.gguf'))).rejects.toThrow(/missing\.gguf/);
    // a vector written for blocks the model has is fine without model layers
    const ours = join(dir, 'ours.gguf');
    await writeControlVectorFile(ours, { hiddenSize: d, directions: new Map([[4, new Float32Array(d).fill(0.25)]]), modelHint: 'llama' });
    expect((await readControlVectorFile(ours)).directions.get(4)![7]).toBe(0.25);
  });

  it('fingerprint --control-vector steers the baseline and scores what the answers carry', async () => {
    const opts = { axes, axesFile: STORY_MOOD, baselineMaxTokens: 8, cache: false } as const;
    const plain = await fingerprint(model, opts);
    const steered = await fingerprint(model, { ...opts, controlVector: vectorAt(4) });
    expect(steered.manifest.controlVector).toMatchObject({ layerStart: 2, layerEnd: 3 });
    expect(steered.responses.map((r) => r.text)).not.toEqual(plain.responses.map((r) => r.text));
    expect(steered.axes[0]!.mean).toBeGreaterThan(plain.axes[0]!.mean);
  });

  it('--sweep-layers tries windows and recommends one under 30 % repetition', async () => {
    expect(sweepWindows(5)).toEqual([[1], [2], [3], [4], [2, 3]]);
    expect(sweepWindows(32)[0]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const doc = await steer(model, { axes, axis: 'happy_sad', axesFile: STORY_MOOD, alphas: [-4, 0, 4], baselineMaxTokens: 8, repeats: 2, sweepLayers: true });
    expect(doc.sweep).toHaveLength(5);
    expect(doc.recommended).not.toBeNull();
    const best = doc.sweep!.find((s) => s.layers.join() === doc.recommended!.join())!;
    expect(best.maxRepetition).toBeLessThan(0.3);
    for (const s of doc.sweep!) if (s.maxRepetition < 0.3) expect(s.shift).toBeLessThanOrEqual(best.shift);
    expect(doc.layers).toEqual(doc.recommended);
    expect(validateDoc(JSON.parse(JSON.stringify(doc)), 'steer')).toBeTruthy();
  });
});

describe('moodaxis steer / fingerprint --control-vector (CLI)', () => {
  it('steers, exports a vector, and fingerprint applies it; a bad file is refused with exit 2', async () => {
    await ensureBuilt();
    const dir = await mkdtemp(join(tmpdir(), 'moodaxis-steer-cli-'));
    try {
      const model = await loadModel(STORIES, { gpu: 'cpu' });
      const axesFile = join(dir, 'axes.json');
      try {
        writeAxesFile(axesFile, await calibrate(model, { axesFile: STORY_MOOD, maxTokens: 8, tokenDecay: 1.0 }));
      } finally {
        await model.dispose();
      }
      const vec = join(dir, 'vec.gguf');
      const common = [STORIES, '--axes', axesFile, '--axes-file', STORY_MOOD, '--baseline-max-tokens', '8', '--gpu', 'cpu', '--json'];
      const st = await cli(['steer', ...common, '--axis', 'happy_sad', '--alpha=-4,0,4', '--layers', '2-3', '--repeats', '2', '--export', vec, '--out', dir]);
      expect(st.code, st.stderr).toBe(0);
      const doc = validateDoc(JSON.parse(st.stdout), 'stdout');
      expect(doc.kind).toBe('moodaxis.steer');
      expect((doc as { layers: number[] }).layers).toEqual([2, 3]);
      const header = await readGgufHeader(vec);
      expect(header.architecture).toBe('controlvector');
      expect(header.metadata.get('moodaxis.alpha')).toBe(1);
      const fp = await cli(['fingerprint', ...common, '--no-cache', '--out', join(dir, 'fp'), '--control-vector', `${vec}:4`]);
      expect(fp.code, fp.stderr).toBe(0);
      expect(JSON.parse(fp.stdout).manifest.controlVector).toMatchObject({ layerStart: 2, layerEnd: 3 });
      const bad = await cli(['fingerprint', ...common, '--no-cache', '--out', join(dir, 'fp2'), '--control-vector', STORIES]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/general\.architecture: is "llama", expected "controlvector"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('steering a chat-templated model with the seven built-in axes', () => {
  it('leakage names the six other axes, and the α = 0 answers are the fingerprint\'s baseline answers', async () => {
    const path = await ensureFixtureModel('tinyChat', join(tmpdir(), 'moodaxis-fixtures'));
    const model = await loadModel(path, { gpu: 'cpu' });
    try {
      const axes = await calibrate(model, { maxTokens: 4 });
      const doc = await steer(model, { axes, axis: 'warm_cold', alphas: [-2, 0, 2], questions: 3, baselineMaxTokens: 4 });
      expect(doc.layers).toEqual(defaultSteerLayers(model.info.layers));
      expect(doc.alphas).toHaveLength(3);
      for (const a of doc.alphas) expect(Object.keys(a.leakage).sort()).toEqual(axes.axes.map((x) => x.id).filter((id) => id !== 'warm_cold').sort());
      expect(Object.values(doc.alphas[1]!.leakage).every((x) => x === 0)).toBe(true);
      const fp = await fingerprint(model, { axes, baselineMaxTokens: 4, cache: false });
      const baseline = fp.responses.filter((r) => r.questionId.startsWith('baseline/')).map((r) => r.text);
      expect(doc.alphas[1]!.samples).toEqual(baseline.slice(0, 2));
      expect(validateDoc(JSON.parse(JSON.stringify(doc)), 'steer')).toBeTruthy();
    } finally {
      await model.dispose();
    }
  });
});

describe('steering helpers', () => {
  it('repetition, effective range and argument parsing', () => {
    expect(repetitionRate('the cat sat on the mat')).toBe(0);
    expect(repetitionRate('day day day day day')).toBeCloseTo(1 - 1 / 3);
    expect(repetitionRate('Hi there')).toBe(0);
    const rows = [
      { alpha: -4, meanScore: -0.5, repetition: 0.5 },
      { alpha: -2, meanScore: -0.4, repetition: 0.1 },
      { alpha: 0, meanScore: 0, repetition: 0 },
      { alpha: 2, meanScore: 0.3, repetition: 0.1 },
      { alpha: 4, meanScore: 0.2, repetition: 0.1 },
    ];
    expect(effectiveRange(rows)).toEqual([-2, 2]);
    expect(parseLayers('2-4')).toEqual([2, 3, 4]);
    expect(parseLayers('3,5')).toEqual([3, 5]);
    expect(() => parseLayers('4-2')).toThrow(/end comes before/);
    expect(parseAlphas('-4,-2,0,2,4')).toEqual([-4, -2, 0, 2, 4]);
    expect(() => parseAlphas('1,x')).toThrow(/"x" is not a number/);
    expect(parseControlVectorSpec('/tmp/a:b/vec.gguf:-0.5')).toEqual({ path: '/tmp/a:b/vec.gguf', scale: -0.5 });
    expect(parseControlVectorSpec('vec.gguf')).toEqual({ path: 'vec.gguf', scale: 1 });
  });
});
