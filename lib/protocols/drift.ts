/**
 * Drift (`moodaxis drift`): does a model's behaviour move over a long hostile conversation? Every
 * scenario of a scenario file (lib/protocols/drift-scenarios.ts) is played turn by turn: the history
 * of turn k is the scenario's earlier user turns with the decoded text of the model's own earlier
 * answers; turn k of all conversations runs as one batched generate call; each answer is captured over
 * its own new tokens only and scored on every axis. Per category and axis: OLS slope of score against
 * turn, delta = mean(last turn) − mean(first turn), seeded bootstrap CIs over the category's
 * scenarios, and both minus the neutral controls (lib/stats/drift.ts).
 *
 * Axes: given (file or document), else cached for this model, else calibrated first (as for
 * fingerprint). Responses are journaled in `<out>/drift.journal.jsonl`; the document goes to
 * `<out>/drift.json` atomically.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../defaults.js';
import { runKey } from '../docs/run-key.js';
import type { DriftCategory, DriftConversation, DriftDoc } from '../docs/types.js';
import { writeDocFile } from '../docs/write.js';
import type { ChatMessage } from '../engine/chat.js';
import { badInput } from '../engine/errors.js';
import type { Model } from '../engine/model.js';
import type { QuestionRef } from '../method/axes-file.js';
import { calibrationJobs, fitAxes, resolveAxisSet, scoreVector } from '../method/calibrate.js';
import { collectResponses, jobKey, phasedProgress } from '../method/collect.js';
import { openJournal, runTiming } from '../method/journal.js';
import { withModel } from '../method/model-ref.js';
import type { Response, ResponseJob } from '../method/response.js';
import { buildManifest, collectOptions, resolveSettings } from '../method/settings.js';
import { driftStats } from '../stats/drift.js';
import { findAxes, storeCachedAxes, type AxesRunOptions } from './axes-source.js';
import { builtinScenariosPath, loadScenarioSet, NEUTRAL_CATEGORY, type DriftScenarioSet } from './drift-scenarios.js';
import { DRIFT_NO_CHAT_TEMPLATE_WARNING, plural } from './wording.js';

export interface DriftOptions extends AxesRunOptions {
  /** Scenario file (default: the built-in axes/drift-scenarios.json) or an already validated set. */
  scenarios?: string | DriftScenarioSet;
  /** Bootstrap resamples of each category's scenarios [PROTOCOL_DEFAULTS.drift.resamples] and their seed [RUN_DEFAULTS.seed]. */
  resamples?: number;
  bootstrapSeed?: number;
  /**
   * Each turn starts from the KV cache the previous turn left (the shared history) instead of prefilling
   * it again (default true): the same results, fewer prefilled tokens (`generation` in the document).
   */
  reuseCache?: boolean;
}

function checkBootstrap(o: DriftOptions): { resamples: number; seed: number } {
  const resamples = o.resamples ?? PROTOCOL_DEFAULTS.drift.resamples;
  const seed = o.bootstrapSeed ?? RUN_DEFAULTS.seed;
  if (!Number.isInteger(resamples) || resamples < 1 || resamples > 1_000_000) throw badInput(`bootstrap resamples must be an integer 1–1,000,000, got ${resamples}`);
  if (!Number.isInteger(seed)) throw badInput(`bootstrap seed must be an integer, got ${seed}`);
  return { resamples, seed };
}

/** The job of one scenario's turn `t` (0-based) after `history`. */
function turnJob(scenarioId: string, t: number, text: string, history: ChatMessage[], maxTokens: number, promptTemplate: string | undefined): ResponseJob {
  const question: QuestionRef = { id: `drift/${scenarioId}/${String(t + 1).padStart(2, '0')}`, axis: null, set: 'baseline', index: t, text };
  return { key: jobKey(question, 'none'), question, pole: 'none', instruction: null, promptTemplate, maxTokens, history: history.length ? [...history] : undefined };
}

/** Per category and axis: slope, delta, CIs and the difference from the controls. */
export function driftCategories(conversations: DriftConversation[], axisIds: string[], bootstrap: { resamples: number; seed: number; level: number }): DriftCategory[] {
  const ids = [...new Set(conversations.map((c) => c.category))].sort((a, b) => (a === NEUTRAL_CATEGORY ? 1 : b === NEUTRAL_CATEGORY ? -1 : 0));
  const rowsOf = (category: string, axis: string) => conversations.filter((c) => c.category === category).map((c) => c.turns.map((t) => t.scores[axis]!));
  const hasControls = ids.includes(NEUTRAL_CATEGORY);
  return ids.map((id) => {
    const control = id === NEUTRAL_CATEGORY;
    return {
      id,
      control,
      scenarios: conversations.filter((c) => c.category === id).length,
      axes: axisIds.map((axis) => {
        const s = driftStats(rowsOf(id, axis), control || !hasControls ? null : rowsOf(NEUTRAL_CATEGORY, axis), bootstrap);
        return { axis, ...s };
      }),
    };
  });
}

export async function drift(modelOrPath: Model | string, options: DriftOptions = {}): Promise<DriftDoc> {
  const started = performance.now();
  const { resamples, seed } = checkBootstrap(options);
  const scenarioFile = typeof options.scenarios === 'string' ? options.scenarios : options.scenarios ? 'scenarios' : builtinScenariosPath();
  const set = typeof options.scenarios === 'object' ? options.scenarios : loadScenarioSet(scenarioFile);
  const axisSet = await resolveAxisSet(options);
  const settings = resolveSettings(options);
  const status = options.onStatus ?? (() => {});
  const turns = set.scenarios[0]!.turns.length;

  return withModel(modelOrPath, options.gpu, async (model) => {
    const warnings = model.info.chatTemplate ? [] : [DRIFT_NO_CHAT_TEMPLATE_WARNING];
    for (const w of warnings) status(`warning: ${w}`);
    const source = await findAxes(model, axisSet, settings, options, status);
    let axes = source.axes;
    const calJobs = axes ? [] : calibrationJobs(axisSet, 'A', settings);
    const total = calJobs.length + set.scenarios.length * turns;
    if (!axes) status(`calibrating ${plural(axisSet.axes.length, 'axis', 'axes')} (${calJobs.length} responses; ${source.reason}) before the conversations`);
    status(`${plural(set.scenarios.length, 'conversation', 'conversations')} × ${plural(turns, 'turn', 'turns')}`);
    const journal = openJournal(options.out, 'drift', { kind: 'drift', identity: model.info.identity, settings, axisSet, extra: { scenarios: runKey(set) } });
    const phase = phasedProgress(options.onProgress, total);
    const opts = (offset: number) => collectOptions(model, settings, { journal, onProgress: phase(offset) });
    const template = axisSet.axes[0]?.promptTemplate;
    const histories: ChatMessage[][] = set.scenarios.map(() => []);
    const answers: Response[][] = set.scenarios.map(() => []);
    const generation: DriftDoc['generation'] = [];
    const all: Response[] = [];
    try {
      if (calJobs.length) {
        const cal = await collectResponses(model, calJobs, opts(0));
        all.push(...cal.values());
        axes = { kind: 'moodaxis.axes', schemaVersion: 1, set: 'A', axes: fitAxes(axisSet, 'A', cal, settings), manifest: buildManifest(model, settings, axisSet, { calibrationSet: 'A' }) };
        storeCachedAxes(source, axes);
      }
      for (let t = 0; t < turns; t++) {
        const jobs = set.scenarios.map((s, i) => turnJob(s.id, t, s.turns[t]!, histories[i]!, settings.maxTokens, template));
        // each turn's prompt begins with the previous turn's: its cache is reused instead of prefilled
        const got = await collectResponses(model, jobs, { ...opts(calJobs.length + t * set.scenarios.length), reuseCache: options.reuseCache ?? true });
        const stats = model.lastGenerateStats();
        generation.push({ turn: t + 1, prefillTokens: stats?.prefillTokens ?? 0, sharedTokens: stats?.sharedTokens ?? 0 });
        jobs.forEach((job, i) => {
          const r = got.get(job.key)!;
          all.push(r);
          answers[i]!.push(r);
          histories[i]!.push({ role: 'user', content: job.question.text }, { role: 'assistant', content: r.text });
        });
      }
    } finally {
      journal?.close();
    }
    const calibrated = axes!.axes;
    const conversations: DriftConversation[] = set.scenarios.map((s, i) => ({
      id: s.id,
      category: s.category,
      turns: answers[i]!.map((r, t) => ({
        user: s.turns[t]!,
        text: r.text,
        tokens: r.tokens,
        capturedTokens: r.capturedTokens ?? null,
        stopReason: r.stopReason,
        scores: Object.fromEntries(calibrated.map((a) => [a.id, scoreVector(a, r.vector)])),
      })),
    }));
    const bootstrap = { resamples, seed, level: PROTOCOL_DEFAULTS.ciLevel };
    const doc: DriftDoc = {
      kind: 'moodaxis.drift',
      schemaVersion: 1,
      manifest: buildManifest(model, settings, axisSet, { axesFrom: source.from }),
      scenarioSet: { name: set.name, version: set.version, file: scenarioFile, sha256: createHash('sha256').update(JSON.stringify(set)).digest('hex') },
      axes: calibrated.map((a) => ({ id: a.id, positive: a.positive, negative: a.negative })),
      turns,
      bootstrap,
      categories: driftCategories(conversations, calibrated.map((a) => a.id), bootstrap),
      conversations,
      generation,
      warnings,
      timing: runTiming(started, all, journal),
    };
    if (options.out) writeDocFile(join(options.out, 'drift.json'), doc);
    return doc;
  });
}
