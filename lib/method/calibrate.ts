/**
 * Axis calibration (docs/method.md §2): for each axis, responses to its calibration questions under each pole
 * give the direction (trimmed-mean difference, unit length), the centre (median projection) and the
 * scale (IQR); its evaluation questions, never used for fitting, give held-out AUC and d′.
 */
import type { Model, GpuChoice } from '../engine/model.js';
import { auc, axisDirection, axisScale, dprime, project, scoreProjection, mean } from '../stats/index.js';
import { builtinAxisSet, loadAxisSet, poleInstructions, questionsOf, type AxisDef, type AxisSet } from './axes-file.js';
import type { AxesDoc, CalibratedAxis } from './axes-doc.js';
import { collectResponses, jobKey, type Pole, type Response, type ResponseJob } from './collect.js';
import type { Journal } from './journal.js';
import { withModel } from './model-ref.js';
import { buildManifest, collectOptions, resolveSettings, type RunSettings } from './settings.js';

export type CalibrationSet = 'A' | 'B' | 'C';

export interface CalibrateOptions extends Partial<RunSettings> {
  /** A custom axis-set file; default: the built-in axes. */
  axesFile?: string;
  axisSet?: AxisSet;
  /** Calibration set: A (default), or the paraphrased sets B / C (stability). */
  set?: CalibrationSet;
  gpu?: GpuChoice;
  journal?: Journal;
  onProgress?: (done: number, total: number, tokens: number) => void;
}

export async function resolveAxisSet(options: { axesFile?: string; axisSet?: AxisSet }): Promise<AxisSet> {
  if (options.axisSet) return options.axisSet;
  return options.axesFile ? loadAxisSet(options.axesFile) : builtinAxisSet();
}

function axesWithSet(axisSet: AxisSet, set: CalibrationSet): AxisDef[] {
  if (set === 'A') return axisSet.axes;
  const missing = axisSet.axes.filter((a) => !a.sets[set]).map((a) => a.id);
  if (missing.length) throw Object.assign(new Error(`${axisSet.name}: axes ${missing.join(', ')} have no calibration set ${set}`), { code: 'BAD_INPUT' });
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

export async function calibrate(modelOrPath: Model | string, options: CalibrateOptions = {}): Promise<AxesDoc> {
  const axisSet = await resolveAxisSet(options);
  const set = options.set ?? 'A';
  const settings = resolveSettings(options);
  return withModel(modelOrPath, options.gpu, async (model) => {
    const jobs = calibrationJobs(axisSet, set, settings);
    const responses = await collectResponses(model, jobs, collectOptions(model, settings, { journal: options.journal, onProgress: options.onProgress }));
    return {
      kind: 'moodaxis.axes',
      schemaVersion: 1,
      set,
      axes: fitAxes(axisSet, set, responses, settings),
      manifest: buildManifest(model, settings, axisSet, { calibrationSet: set }),
    };
  });
}
