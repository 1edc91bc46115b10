/**
 * Scoring given texts (teacher-forced): each response is fed as the assistant turn after its question,
 * read at the same positions with the same weights as a generated one, and projected on every axis.
 */
import { assertAxesFit, resolveAxes } from '../docs/axes.js';
import type { AxesDoc, ScoreDoc } from '../docs/types.js';
import { badInput } from '../engine/errors.js';
import type { Model } from '../engine/model.js';
import { scoreVector } from './calibrate.js';
import { collectResponses } from './collect.js';
import { type ResponseJob } from './response.js';
import { withModel } from './model-ref.js';
import { buildManifest, captureOptions, isDeterministic, resolveSettings, type RunOptions } from './settings.js';

export interface ScoreItem { question: string; response: string }

/** The texts are read with the axes' own capture settings; nothing is sampled, so only the batching and prompt settings count. */
export interface ScoreOptions extends Omit<RunOptions, 'axesFile' | 'axisSet' | 'onStatus'> {
  /** Calibrated axes of this model: an axes file (`calibrate`) or the document. */
  axes: string | AxesDoc;
}

export async function score(modelOrPath: Model | string, items: ScoreItem[], options: ScoreOptions): Promise<ScoreDoc> {
  if (!options?.axes) throw badInput('score: options.axes (an axes file or document) is required');
  const { doc, source } = await resolveAxes(options.axes);
  items.forEach((item, i) => {
    if (typeof item?.question !== 'string' || typeof item?.response !== 'string' || item.response.trim() === '')
      throw badInput(`items[${i}]: expected { question: string, response: non-empty string }`);
  });
  // Capture settings must be the ones the axes were calibrated with.
  const settings = resolveSettings({
    ...options,
    layers: doc.manifest.capture.layers,
    layerWeights: doc.manifest.capture.layerWeights,
    tokenDecay: doc.manifest.capture.tokenDecay,
    compat: doc.manifest.capture.compat,
  });
  return withModel(modelOrPath, options.gpu, async (model) => {
    assertAxesFit(doc, model.info, source);
    const jobs: ResponseJob[] = items.map((item, i) => ({
      key: `item/${i}`,
      question: { id: `item/${String(i).padStart(2, '0')}`, axis: null, set: 'baseline', index: i, text: item.question },
      pole: 'none',
      instruction: null,
      maxTokens: 1,
      response: item.response,
    }));
    const responses = await collectResponses(model, jobs, { seed: settings.seed, parallel: settings.parallel, deterministic: isDeterministic(model, settings), capture: captureOptions(model, settings), system: settings.system, templateKwargs: settings.templateKwargs, onProgress: options.onProgress });
    return {
      kind: 'moodaxis.scores',
      schemaVersion: 1,
      manifest: buildManifest(model, settings, { name: doc.manifest.questions.name, version: doc.manifest.questions.version }),
      items: jobs.map((job, i) => {
        const r = responses.get(job.key)!;
        return { question: items[i].question, response: items[i].response, tokens: r.tokens, scores: Object.fromEntries(doc.axes.map((a) => [a.id, scoreVector(a, r.vector)])) };
      }),
    };
  });
}
