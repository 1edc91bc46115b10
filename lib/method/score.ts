/**
 * Scoring given texts (teacher-forced): each response is fed as the assistant turn after its question,
 * read at the same positions with the same weights as a generated one, and projected on every axis.
 */
import { badInput } from '../engine/errors.js';
import type { GpuChoice, Model } from '../engine/model.js';
import type { Manifest } from '../protocols/types.js';
import { assertAxesFit, readAxesFile, type AxesDoc } from './axes-doc.js';
import { scoreVector } from './calibrate.js';
import { collectResponses, type ResponseJob } from './collect.js';
import { withModel } from './model-ref.js';
import { buildManifest, captureOptions, isDeterministic, resolveSettings, type RunSettings } from './settings.js';

export interface ScoreItem { question: string; response: string }

export interface ScoreDoc {
  kind: 'moodaxis.scores';
  schemaVersion: 1;
  manifest: Manifest;
  items: Array<{ question: string; response: string; tokens: number; scores: Record<string, number> }>;
}

export interface ScoreOptions extends Partial<RunSettings> {
  gpu?: GpuChoice;
}

export async function score(modelOrPath: Model | string, axes: AxesDoc | string, items: ScoreItem[], options: ScoreOptions = {}): Promise<ScoreDoc> {
  const doc = typeof axes === 'string' ? await readAxesFile(axes) : axes;
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
    assertAxesFit(doc, model.info, typeof axes === 'string' ? axes : 'axes');
    const jobs: ResponseJob[] = items.map((item, i) => ({
      key: `item/${i}`,
      question: { id: `item/${String(i).padStart(2, '0')}`, axis: null, set: 'baseline', index: i, text: item.question },
      pole: 'none',
      instruction: null,
      maxTokens: 1,
      response: item.response,
    }));
    const responses = await collectResponses(model, jobs, { seed: settings.seed, parallel: settings.parallel, deterministic: isDeterministic(model, settings), capture: captureOptions(model, settings), system: settings.system, templateKwargs: settings.templateKwargs });
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
