/**
 * The fingerprint: the model's default style on every axis. Uses given axes, or axes cached
 * for this model, or calibrates first (in the same batched run as the baseline) and caches them.
 * Writes fingerprint.json into `out` (atomically) with a journal beside it for resuming.
 */
import { join } from 'node:path';
import { RUN_DEFAULTS } from '../defaults.js';
import type { AxesDoc, FingerprintDoc, ResponseRecord } from '../docs/types.js';
import { encodeVector } from '../docs/vectors.js';
import { writeDocFile } from '../docs/write.js';
import { badInput } from '../engine/errors.js';
import type { ControlVectorInput, Model } from '../engine/model.js';
import { baselineJobs, calibrationJobs, fitAxes, resolveAxisSet, scoreVector } from '../method/calibrate.js';
import { collectResponses, phasedProgress } from '../method/collect.js';
import { openJournal, runTiming } from '../method/journal.js';
import { withModel } from '../method/model-ref.js';
import type { Response } from '../method/response.js';
import { buildManifest, collectOptions, resolveSettings } from '../method/settings.js';
import { mean, std } from '../stats/index.js';
import { deadZones, profileStructure, truncation } from './analysis.js';
import { findAxes, storeCachedAxes, type AxesRunOptions } from './axes-source.js';
import { plural } from './wording.js';

/** Output folder (`out`): fingerprint.json and fingerprint.journal.jsonl. */
export interface FingerprintOptions extends AxesRunOptions {
  /** Mark the output as the demo model's. */
  demo?: boolean;
  /** Stability cosines per axis (from a stability run) for full dead-zone severity. */
  stabilityCosine?: Record<string, number>;
  /**
   * Steer the baseline answers with this control vector (lib/method/control-vector.ts). Calibration, when
   * needed, stays unsteered, and the steered answers are scored as the unsteered model reads them
   * (teacher-forced), as `steer` does: the scores say what the text carries, not the added vector.
   */
  controlVector?: ControlVectorInput | null;
}

/** Scores of each baseline response on each axis: [axis][question]. */
export function scoreBaseline(axes: AxesDoc, responses: Response[]): number[][] {
  return axes.axes.map((axis) => responses.map((r) => scoreVector(axis, r.vector)));
}

export async function fingerprint(modelOrPath: Model | string, options: FingerprintOptions = {}): Promise<FingerprintDoc> {
  const started = performance.now();
  const axisSet = await resolveAxisSet(options);
  const settings = resolveSettings(options);
  const status = options.onStatus ?? (() => {});
  const cv = options.controlVector ?? null;
  return withModel(modelOrPath, options.gpu, async (model) => {
    const source = await findAxes(model, axisSet, settings, options, status);
    let axes = source.axes;
    const calJobs = axes ? [] : calibrationJobs(axisSet, 'A', settings);
    const baseJobs = baselineJobs(axisSet, settings);
    if (!axes) status(`calibrating ${plural(axisSet.axes.length, 'axis', 'axes')} (${calJobs.length} responses; ${source.reason}) and the baseline (${baseJobs.length})`);
    const journal = openJournal(options.out, 'fingerprint', {
      kind: 'fingerprint',
      identity: model.info.identity,
      settings,
      axisSet,
      extra: { axes: axes ? axes.manifest.createdAt + axes.axes.map((a) => a.center).join() : 'calibrate', cv: cv ? [encodeVector(cv.data), cv.layerStart, cv.layerEnd] : undefined },
    });
    let responses: Map<string, Response>;
    try {
      if (!cv) responses = await collectResponses(model, [...calJobs, ...baseJobs], collectOptions(model, settings, { journal, onProgress: options.onProgress }));
      else {
        const phase = phasedProgress(options.onProgress, calJobs.length + 2 * baseJobs.length);
        const cal = calJobs.length ? await collectResponses(model, calJobs, collectOptions(model, settings, { journal, onProgress: phase(0) })) : new Map<string, Response>();
        const steered = await collectResponses(model, baseJobs, collectOptions(model, settings, { journal, onProgress: phase(calJobs.length), controlVector: cv }));
        const rereadJobs = baseJobs.filter((j) => steered.get(j.key)!.text !== '').map((j) => ({ ...j, key: `${j.key}|reread`, response: steered.get(j.key)!.text }));
        const reread = await collectResponses(model, rereadJobs, collectOptions(model, settings, { journal, onProgress: phase(calJobs.length + baseJobs.length) }));
        responses = new Map([...cal, ...[...steered].map(([k, r]): [string, Response] => [k, { ...r, vector: reread.get(`${k}|reread`)?.vector ?? new Float32Array(r.vector.length) }])]);
      }
    } finally {
      journal?.close();
    }
    if (!axes) {
      axes = { kind: 'moodaxis.axes', schemaVersion: 1, set: 'A', axes: fitAxes(axisSet, 'A', responses, settings), manifest: buildManifest(model, settings, axisSet, { calibrationSet: 'A' }) };
      storeCachedAxes(source, axes);
    }
    const baseline = baseJobs.map((j) => responses.get(j.key)!);
    const scores = scoreBaseline(axes, baseline);
    const tokens = baseline.map((r) => r.tokens);
    if (baseline.length < 2) throw badInput(`${axisSet.name}: the baseline needs at least 2 questions`);
    const doc: FingerprintDoc = {
      kind: 'moodaxis.fingerprint',
      schemaVersion: 1,
      manifest: buildManifest(model, settings, axisSet, { axesFrom: source.from, ...(cv ? { controlVector: { layerStart: cv.layerStart, layerEnd: cv.layerEnd, scoring: 'steered answers re-read by the unsteered model' } } : {}) }),
      axes: axes.axes.map((axis, i) => ({
        id: axis.id,
        positive: axis.positive,
        negative: axis.negative,
        auc: axis.auc,
        dprime: axis.dprime,
        mean: mean(scores[i]),
        std: std(scores[i]),
        min: Math.min(...scores[i]),
        max: Math.max(...scores[i]),
        scores: scores[i],
      })),
      responses: [...calJobs, ...baseJobs].map((j): ResponseRecord => {
        const r = responses.get(j.key)!;
        return { questionId: j.question.id, question: j.question.text, pole: j.pole, text: r.text, tokens: r.tokens, stopReason: r.stopReason, ...(r.thinkTokens ? { thinkTokens: r.thinkTokens, thinkCut: r.thinkCut ?? false } : {}) };
      }),
      structure: axes.axes.length >= 2 ? profileStructure(axes.axes.map((a) => a.id), scores, tokens) : null,
      deadZones: deadZones(axes.axes, scores, options.stabilityCosine),
      truncation: truncation(baseline.map((r) => r.stopReason), settings.baselineMaxTokens),
      timing: runTiming(started, responses.values(), journal),
    };
    const thought = [...responses.values()].filter((r) => r.thinkTokens);
    if (thought.length) doc.thinking = { answersWithThink: thought.length, outOfBudget: thought.filter((r) => r.thinkCut).length, budget: settings.thinkBudget ?? RUN_DEFAULTS.thinkBudget };
    if (options.demo) doc.manifest.model.demo = true;
    if (options.out) writeDocFile(join(options.out, 'fingerprint.json'), doc);
    return doc;
  });
}
