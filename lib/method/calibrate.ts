/**
 * Axis calibration (docs/method.md §2): for each axis, responses to its calibration questions under each pole
 * give the direction (trimmed-mean difference, unit length), the centre (median projection) and the
 * scale (IQR); its evaluation questions, never used for fitting, give held-out AUC and d′. With `out`,
 * the axes file is written there (`axes.json`; set B `axes-B.json`, C `axes-C.json`) with its journal
 * beside it, so an interrupted calibration resumes.
 */
import { join } from 'node:path';
import { writeAxesFile } from '../docs/axes.js';
import type { AxesDoc, CalibratedAxis } from '../docs/types.js';
import { badInput } from '../engine/errors.js';
import type { Model } from '../engine/model.js';
import { auc, axisDirection, axisScale, dprime, project, scoreProjection, mean } from '../stats/index.js';
import { builtinAxisSet, loadAxisSet, poleInstructions, questionsOf, type AxisDef, type AxisSet } from './axes-file.js';
import { collectResponses, jobKey } from './collect.js';
import { openJournal } from './journal.js';
import { type Pole, type Response, type ResponseJob } from './response.js';
import { withModel } from './model-ref.js';
import { buildManifest, collectOptions, resolveSettings, type OutputOptions, type RunOptions, type RunSettings } from './settings.js';

export type CalibrationSet = 'A' | 'B' | 'C';

export interface CalibrateOptions extends RunOptions, OutputOptions {
  /** Calibration set: A (default), or the paraphrased sets B / C (stability). */
  set?: CalibrationSet;
}

/** The axes file of a calibration set, without `.json`: axes for set A, axes-B, axes-C. */
export const axesDocName = (set: CalibrationSet) => (set === 'A' ? 'axes' : `axes-${set}`);

export async function resolveAxisSet(options: { axesFile?: string; axisSet?: AxisSet }): Promise<AxisSet> {
  if (options.axisSet) return options.axisSet;
  return options.axesFile ? loadAxisSet(options.axesFile) : builtinAxisSet();
}

function axesWithSet(axisSet: AxisSet, set: CalibrationSet): AxisDef[] {
  if (set === 'A') return axisSet.axes;
  const missing = axisSet.axes.filter((a) => !a.sets[set]).map((a) => a.id);
  if (missing.length) throw badInput(`${axisSet.name}: axes ${missing.join(', ')} have no calibration set ${set}`);
  return axisSet.axes;
}

/** The responses calibration needs: calibration questions (of `set`) and evaluation questions, both poles. */
export function calibrationJobs(axisSet: AxisSet, set: CalibrationSet, settings: RunSettings): ResponseJob[] {
  const jobs: ResponseJob[] = [];
  for (const axis of axesWithSet(axisSet, set)) {
    const instr = poleInstructions(axis, set)!;
    const evalInstr = poleInstructions(axis, 'A')!;
    const lists: Array<[ReturnType<typeof questionsOf>, { positive: string; negative: string }]> = [
      [questionsOf(axisSet, axis.id, set === 'A' ? 'cal' : set), instr],
      [questionsOf(axisSet, axis.id, 'eval'), evalInstr],
    ];
    for (const [questions, instructions] of lists) {
      for (const q of questions) {
        for (const pole of ['positive', 'negative'] as const) {
          jobs.push({ key: jobKey(q, pole), question: q, pole, instruction: instructions[pole], promptTemplate: axis.promptTemplate, maxTokens: settings.maxTokens });
        }
      }
    }
  }
  return jobs;
}

function pick(responses: Map<string, Response>, jobs: ResponseJob[], pole: Pole): Float32Array[] {
  return jobs.filter((j) => j.pole === pole).map((j) => responses.get(j.key)!.vector);
}

/** Fits the axes from collected responses. */
export function fitAxes(axisSet: AxisSet, set: CalibrationSet, responses: Map<string, Response>, settings: RunSettings): CalibratedAxis[] {
  const jobs = calibrationJobs(axisSet, set, settings);
  const compat = settings.compat === 'mood-axis';
  return axesWithSet(axisSet, set).map((axis) => {
    const calKind = set === 'A' ? '/cal/' : `/${set}/`;
    const cal = jobs.filter((j) => j.question.axis === axis.id && j.question.id.includes(calKind));
    const held = jobs.filter((j) => j.question.axis === axis.id && j.question.id.includes('/eval/'));
    const pos = pick(responses, cal, 'positive');
    const neg = pick(responses, cal, 'negative');
    const vector = axisDirection(pos, neg, 0.1);
    const projections = [...pos, ...neg].map((h) => project(h, vector));
    const { center, scale } = axisScale(projections, { compat });
    const evalPos = pick(responses, held, 'positive').map((h) => project(h, vector));
    const evalNeg = pick(responses, held, 'negative').map((h) => project(h, vector));
    const norms = cal.map((j) => responses.get(j.key)!.norm);
    return {
      id: axis.id,
      positive: axis.positive,
      negative: axis.negative,
      vector,
      center,
      scale,
      auc: auc(evalPos, evalNeg),
      dprime: dprime(evalPos, evalNeg),
      n: pos.length,
      meanNorm: mean(norms),
      evalScores: {
        positive: evalPos.map((x) => scoreProjection(x, center, scale)),
        negative: evalNeg.map((x) => scoreProjection(x, center, scale)),
      },
    };
  });
}

export function scoreVector(axis: CalibratedAxis, vector: Float32Array): number {
  return scoreProjection(project(vector, axis.vector), axis.center, axis.scale);
}

/** The baseline jobs of an axis set (no pole, no instruction); `tag` marks a repeated run's keys. */
export function baselineJobs(axisSet: AxisSet, s: RunSettings, tag?: string): ResponseJob[] {
  return questionsOf(axisSet, null, 'baseline').map((q) => ({ key: jobKey(q, 'none', tag), question: q, pole: 'none' as const, instruction: null, maxTokens: s.baselineMaxTokens }));
}

export async function calibrate(modelOrPath: Model | string, options: CalibrateOptions = {}): Promise<AxesDoc> {
  const axisSet = await resolveAxisSet(options);
  const set = options.set ?? 'A';
  const settings = resolveSettings(options);
  return withModel(modelOrPath, options.gpu, async (model) => {
    const jobs = calibrationJobs(axisSet, set, settings);
    const journal = openJournal(options.out, axesDocName(set), { kind: 'calibrate', identity: model.info.identity, settings, axisSet, extra: { set } });
    let responses: Map<string, Response>;
    try {
      responses = await collectResponses(model, jobs, collectOptions(model, settings, { journal, onProgress: options.onProgress }));
    } finally {
      journal?.close();
    }
    const doc: AxesDoc = {
      kind: 'moodaxis.axes',
      schemaVersion: 1,
      set,
      axes: fitAxes(axisSet, set, responses, settings),
      manifest: buildManifest(model, settings, axisSet, { calibrationSet: set }),
    };
    if (options.out) writeAxesFile(join(options.out, `${axesDocName(set)}.json`), doc);
    return doc;
  });
}
