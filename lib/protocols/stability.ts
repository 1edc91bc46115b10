/**
 * The stability protocol: how far the axes and the scores can be trusted.
 *
 * - Test-retest: the baseline repeated with `runs` [5] different run seeds; per axis ICC(2,1) with a
 *   seeded bootstrap CI over questions [1000 resamples] and ICC(2,k) (subjects = baseline questions,
 *   raters = runs, scores on the set-A axes). Run 1 is the fingerprint's own baseline (same job keys,
 *   same seeds); run r ≥ 2 tags its keys `run<r>`, so every response has its own seed derived from
 *   (seed, question id, pole, run).
 * - Calibration sets A, B, C (paraphrased instructions, other questions): per axis the pairwise cosines
 *   of the three directions and their mean (the stability cosine), and ICC(2,k) of run 1's baseline
 *   scores with the three calibrations as raters.
 * - Sample-size curve by split halves (lib/stats/sample-size.ts): for n in {5, 10, …} up to half the
 *   number of calibration questions, `draws` [20] seeded random splits of 2n set-A calibration
 *   questions into two disjoint halves of n; per n the median cosine between the two halves'
 *   directions and the median held-out AUC. "Axes stabilise at n" = the smallest n at which every
 *   axis' median cosine is ≥ 0.9; null ("not reached") when no n gets there. The halves share no
 *   question, so a noisy axis never reaches 0.9 (a subset compared with the full set would reach 1 at
 *   n = all by construction).
 * - Dead zones with the full severity (stability term from the stability cosine).
 *
 * Axes without sets B and C (custom axis files often have none): their calibration-set stability is not
 * measured; they are listed in `missingSets`, a note says so, test-retest and the sample-size curve
 * still run, and their dead-zone severity stays partial. With no axis having B and C, `calibrationSets`
 * is empty.
 *
 * Every response the protocol needs (calibration A, B, C with the shared evaluation questions, and all
 * baseline runs) is generated in one batched call, journaled in `<out>/stability.journal.jsonl` so an
 * interrupted run resumes; the document is written to `<out>/stability.json` atomically.
 */
import { join } from 'node:path';
import { PROTOCOL_DEFAULTS } from '../defaults.js';
import { readDocFile } from '../docs/read.js';
import type { StabilityDoc } from '../docs/types.js';
import { writeDocFile } from '../docs/write.js';
import { badInput } from '../engine/errors.js';
import { deriveSeed, type Model } from '../engine/model.js';
import { questionsOf, type AxisSet } from '../method/axes-file.js';
import { baselineJobs, calibrationJobs, fitAxes, resolveAxisSet, scoreVector } from '../method/calibrate.js';
import { collectResponses } from '../method/collect.js';
import { openJournal, runTiming } from '../method/journal.js';
import { withModel } from '../method/model-ref.js';
import type { Response, ResponseJob } from '../method/response.js';
import { buildManifest, collectOptions, resolveSettings, type OutputOptions, type RunOptions, type RunSettings } from '../method/settings.js';
import { cosine, icc, maxSplitHalfSize, mean, seededRandom, splitHalfPoint, stableAt } from '../stats/index.js';
import { deadZones, truncation } from './analysis.js';
import { iccText, plural, truncationWarning } from './wording.js';

/**
 * Stability calibrates its own axes (sets A, B, C): it takes the options of every run (settings, axis
 * set, gpu, progress, status) and an output folder, not given axes or the axes cache.
 */
export interface StabilityOptions extends RunOptions, OutputOptions {
  /** Baseline repetitions (raters of the test-retest ICC), at least 2 [PROTOCOL_DEFAULTS.stability.runs]. */
  runs?: number;
  /** Bootstrap resamples of the test-retest CI [PROTOCOL_DEFAULTS.stability.bootstrap]. */
  bootstrap?: number;
  /** Random split-half draws per sample size [PROTOCOL_DEFAULTS.stability.draws]. */
  draws?: number;
  /** Sample sizes (questions per half) of the curve; default 5, 10, … up to half the calibration questions. */
  sampleSizes?: number[];
}

const DEFAULTS = PROTOCOL_DEFAULTS.stability;

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw badInput(`${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

/** 5, 10, … up to n (n itself appended when not a multiple of 5; just [n] below 5). */
export function defaultSampleSizes(n: number): number[] {
  const out: number[] = [];
  for (let k = 5; k <= n; k += 5) out.push(k);
  if (out[out.length - 1] !== n) out.push(n);
  return out;
}

/** The baseline jobs of retest run r (1-based): run 1 untagged (= the fingerprint's baseline). */
export function retestJobs(axisSet: AxisSet, s: RunSettings, run: number): ResponseJob[] {
  return baselineJobs(axisSet, s, run === 1 ? undefined : `run${run}`);
}

function finite(x: number): boolean {
  return Number.isFinite(x);
}

export async function stability(modelOrPath: Model | string, options: StabilityOptions = {}): Promise<StabilityDoc> {
  const started = performance.now();
  const axisSet = await resolveAxisSet(options);
  const settings = resolveSettings(options);
  const runs = positiveInt('runs', options.runs ?? DEFAULTS.runs, 2);
  const resamples = positiveInt('bootstrap', options.bootstrap ?? DEFAULTS.bootstrap, 1);
  const draws = positiveInt('draws', options.draws ?? DEFAULTS.draws, 1);
  const status = options.onStatus ?? (() => {});
  const minCal = Math.min(...axisSet.axes.map((a) => a.calibration.length));
  const maxHalf = maxSplitHalfSize(minCal);
  if (maxHalf < 2) throw badInput(`${axisSet.name}: the sample-size curve needs at least 4 calibration questions per axis (two halves of 2); an axis has ${minCal}`);
  const sizes = options.sampleSizes ?? defaultSampleSizes(maxHalf);
  if (sizes.length === 0) throw badInput('sampleSizes: give at least one sample size');
  for (const n of sizes) {
    if (!Number.isInteger(n) || n < 2 || n > maxHalf)
      throw badInput(`sampleSizes: ${n} is not an integer between 2 and ${maxHalf} (questions per half: half the ${minCal} calibration questions of the smallest axis in ${axisSet.name})`);
  }
  const grid = [...new Set(sizes)].sort((a, b) => a - b);

  const withSets = axisSet.axes.filter((a) => a.sets.B && a.sets.C);
  const missingSets = axisSet.axes.filter((a) => !(a.sets.B && a.sets.C)).map((a) => a.id);
  const paraphrased: AxisSet = { ...axisSet, axes: withSets };
  const notes: string[] = [];
  if (missingSets.length) {
    const msg =
      withSets.length === 0
        ? `${axisSet.name} has no calibration sets B and C: calibration-set stability (cosines A/B/C, their ICC(2,k)) is not measured and the dead-zone severities stay partial; test-retest and the sample-size curve are computed`
        : `axes ${missingSets.join(', ')} of ${axisSet.name} have no calibration sets B and C: their calibration-set stability is not measured and their dead-zone severity stays partial`;
    notes.push(msg);
    status(msg);
  }

  return withModel(modelOrPath, options.gpu, async (model) => {
    const calA = calibrationJobs(axisSet, 'A', settings);
    const calB = withSets.length ? calibrationJobs(paraphrased, 'B', settings) : [];
    const calC = withSets.length ? calibrationJobs(paraphrased, 'C', settings) : [];
    const runJobs = Array.from({ length: runs }, (_, r) => retestJobs(axisSet, settings, r + 1));
    if (runJobs[0].length < 2) throw badInput(`${axisSet.name}: the baseline needs at least 2 questions`);
    // Sets B and C share the evaluation questions (and their keys) with set A: generate them once.
    const jobs = new Map<string, ResponseJob>();
    for (const j of [...calA, ...calB, ...calC, ...runJobs.flat()]) if (!jobs.has(j.key)) jobs.set(j.key, j);
    status(`stability: ${plural(axisSet.axes.length, 'axis', 'axes')}, calibration sets ${withSets.length ? 'A, B, C' : 'A'}, ${runs} baseline runs (${jobs.size} responses)`);
    // Responses do not depend on runs, bootstrap or draws: a rerun with more runs reuses the journal.
    const journal = openJournal(options.out, 'stability', { kind: 'stability', identity: model.info.identity, settings, axisSet });
    let responses: Map<string, Response>;
    try {
      responses = await collectResponses(model, [...jobs.values()], collectOptions(model, settings, { journal, onProgress: options.onProgress }));
    } finally {
      journal?.close();
    }

    const axesA = fitAxes(axisSet, 'A', responses, settings);
    const axesB = withSets.length ? fitAxes(paraphrased, 'B', responses, settings) : [];
    const axesC = withSets.length ? fitAxes(paraphrased, 'C', responses, settings) : [];
    const baselineRuns = runJobs.map((js) => js.map((j) => responses.get(j.key)!));
    const questions = baselineRuns[0].length;
    /** scores[axis][run][question] on the set-A axes. */
    const scores = axesA.map((axis) => baselineRuns.map((run) => run.map((r) => scoreVector(axis, r.vector))));

    // Test-retest ICC: subjects = baseline questions, raters = runs.
    const testRetest: StabilityDoc['testRetest'] = [];
    axesA.forEach((axis, i) => {
      const matrix = Array.from({ length: questions }, (_, q) => scores[i].map((run) => run[q]));
      const one = icc(matrix, { model: '2,1', bootstrap: resamples, seed: settings.seed });
      const k = icc(matrix, { model: '2,k' }).value;
      if (!finite(one.value) || !finite(k) || !one.ci || !one.ci.every(finite)) {
        notes.push(`${axis.id}: test-retest ICC is undefined (the baseline scores do not vary: ${describeScores(matrix.flat())}); left out of testRetest`);
        return;
      }
      if (one.value < 0) notes.push(`${axis.id}: test-retest ICC(2,1) is ${iccText(one.value)}: the runs order the baseline answers differently`);
      testRetest.push({ axis: axis.id, icc21: one.value, ci: one.ci as [number, number], icc2k: k, scores: matrix });
    });

    // Calibration sets A, B, C.
    const calibrationSets: StabilityDoc['calibrationSets'] = withSets.map((def) => {
      const a = axesA.find((x) => x.id === def.id)!;
      const b = axesB.find((x) => x.id === def.id)!;
      const c = axesC.find((x) => x.id === def.id)!;
      const cosines = { AB: cosine(a.vector, b.vector), AC: cosine(a.vector, c.vector), BC: cosine(b.vector, c.vector) };
      const matrix = baselineRuns[0].map((r) => [a, b, c].map((axis) => scoreVector(axis, r.vector)));
      const k = icc(matrix, { model: '2,k' }).value;
      if (!finite(k)) notes.push(`${def.id}: ICC(2,k) across calibration sets is undefined (the baseline scores do not vary: ${describeScores(matrix.flat())})`);
      else if (k < 0) notes.push(`${def.id}: ICC(2,k) across calibration sets is ${iccText(k)}: the three calibrations order the baseline answers differently`);
      return { axis: def.id, cosines, stabilityCosine: mean([cosines.AB, cosines.AC, cosines.BC]), icc2k: finite(k) ? k : null };
    });

    // Sample-size curve on set A, by split halves.
    const perAxis: StabilityDoc['sampleSize']['perAxis'] = {};
    for (const axis of axesA) {
      const pick = (kind: 'cal' | 'eval', pole: 'positive' | 'negative') =>
        questionsOf(axisSet, axis.id, kind).map((q) => responses.get(`${q.id}|${pole}`)!.vector);
      const calibration = { positive: pick('cal', 'positive'), negative: pick('cal', 'negative') };
      const evaluation = { positive: pick('eval', 'positive'), negative: pick('eval', 'negative') };
      const medianCosine: number[] = [];
      const aucs: number[] = [];
      for (const n of grid) {
        const rng = seededRandom(deriveSeed(settings.seed, `split-half/${axis.id}/${n}`));
        const p = splitHalfPoint(calibration, evaluation, n, draws, rng);
        if (!p) notes.push(`${axis.id}: no split into two halves of ${n} questions gave two directions (pole means coincide); cosine 0 and AUC 0.5 recorded`);
        medianCosine.push(p ? p.medianCosine : 0);
        aucs.push(p?.auc ?? 0.5);
      }
      perAxis[axis.id] = { medianCosine, auc: aucs, stabilisesAt: stableAt(grid, medianCosine, DEFAULTS.stableCosine) };
    }
    const allAt = grid.find((_, j) => axesA.every((a) => perAxis[a.id].medianCosine[j] >= DEFAULTS.stableCosine));

    const cut = truncation(baselineRuns.flat().map((r) => r.stopReason), settings.baselineMaxTokens);
    const cutWarning = truncationWarning(cut, `baseline answers over ${runs} runs`);
    if (cutWarning) {
      notes.push(cutWarning);
      status(cutWarning);
    }

    const stabilityCosine = Object.fromEntries(calibrationSets.map((c) => [c.axis, c.stabilityCosine]));
    const doc: StabilityDoc = {
      kind: 'moodaxis.stability',
      schemaVersion: 1,
      manifest: buildManifest(model, settings, axisSet, {
        calibrationSets: withSets.length ? ['A', 'B', 'C'] : ['A'],
        retest: { runs, bootstrap: resamples, bootstrapSeed: settings.seed, runTags: runJobs.map((_, r) => (r === 0 ? null : `run${r + 1}`)) },
        sampleSize: { n: grid, draws },
      }),
      testRetest,
      calibrationSets,
      sampleSize: { n: grid, perAxis, stabilisesAt: allAt ?? null, draws, method: 'split-half', threshold: DEFAULTS.stableCosine },
      deadZones: deadZones(axesA, scores.map((s) => s[0]), stabilityCosine),
      retest: { runs, questions, bootstrap: resamples, seed: settings.seed },
      missingSets,
      notes,
      truncation: cut,
      timing: runTiming(started, responses.values(), journal),
    };
    if (options.out) writeDocFile(join(options.out, 'stability.json'), doc);
    return doc;
  });
}

function describeScores(values: number[]): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? `all ${lo}` : `from ${lo} to ${hi}`;
}

/**
 * Stability cosines per axis from a stability document (for the full dead-zone severity of a
 * fingerprint). Refuses a document made from another model when `identity` is given.
 */
export function stabilityCosines(doc: StabilityDoc, source: string, identity?: string): Record<string, number> {
  if (identity && doc.manifest.model.identity !== identity)
    throw badInput(`${source}: this stability run was made from another model (${doc.manifest.model.name}, ${doc.manifest.model.identity.slice(0, 19)}…)`);
  return Object.fromEntries(doc.calibrationSets.map((c) => [c.axis, c.stabilityCosine]));
}

/** Reads a stability.json (validated) and returns it with its stability cosines per axis. */
export async function readStabilityFile(path: string, identity?: string): Promise<{ doc: StabilityDoc; cosines: Record<string, number> }> {
  const doc = await readDocFile(path, 'moodaxis.stability');
  return { doc, cosines: stabilityCosines(doc, path, identity) };
}
