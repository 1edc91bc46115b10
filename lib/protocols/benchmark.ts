/**
 * The instruction-following benchmark: nine scenarios, three per axis for warm/cold,
 * confident/cautious and verbose/concise:
 *   (a) system   one turn under the positive pole's instruction as system prompt; passes when the score
 *                on that axis is above +threshold [0.1];
 *   (b) increase a neutral turn (a baseline question, no system prompt), then the user asks for the
 *                positive pole; passes when the score of the second answer is above the first's;
 *   (c) decrease the same neutral turn, then the user asks for the negative pole; passes when the score
 *                falls.
 * Pass rate = scenarios passed / 9, with every turn's scores on the three axes and every check.
 *
 * Prompts come from the axis-set file, so custom files with these axis ids work too: the neutral
 * question of the i-th benchmark axis is baseline question i; the system prompt is the axis' positive
 * instruction; the follow-up request is `Please answer that again. <pole instruction>` for a model with
 * a chat template, and the pole instruction alone for a model without one (a base model continues
 * text; the turns are joined by blank lines). A model without a chat template gets a warning in the
 * document (`warnings`): its system-prompt scenarios cannot give the instruction a system role.. (b) and (c) branch from the same neutral turn.
 *
 * Axes: given (file or document), else cached for this model (shared with `fingerprint`), else
 * calibrated first (set A, all axes of the set, cached). Responses are journaled in
 * `<out>/benchmark.journal.jsonl`; the document is written to `<out>/benchmark.json` atomically.
 */
import { join } from 'node:path';
import { PROTOCOL_DEFAULTS } from '../defaults.js';
import type { BenchmarkCheck, BenchmarkDoc, BenchmarkScenario, BenchmarkTurn, CalibratedAxis } from '../docs/types.js';
import { writeDocFile } from '../docs/write.js';
import type { ChatMessage } from '../engine/chat.js';
import { badInput } from '../engine/errors.js';
import type { Model } from '../engine/model.js';
import type { AxisDef, QuestionRef } from '../method/axes-file.js';
import { calibrationJobs, fitAxes, resolveAxisSet, scoreVector } from '../method/calibrate.js';
import { collectResponses, jobKey, phasedProgress } from '../method/collect.js';
import { openJournal, runTiming } from '../method/journal.js';
import { withModel } from '../method/model-ref.js';
import type { Response, ResponseJob } from '../method/response.js';
import { buildManifest, collectOptions, resolveSettings } from '../method/settings.js';
import { findAxes, storeCachedAxes, type AxesRunOptions } from './axes-source.js';
import { NO_CHAT_TEMPLATE_WARNING, plural } from './wording.js';

/** The benchmark's axes, in scenario order. */
export const BENCHMARK_AXES = ['warm_cold', 'confident_cautious', 'verbose_concise'] as const;
/** Put before the pole instruction in the follow-up request to a chat model. */
export const FOLLOW_UP_PREFIX = 'Please answer that again. ';

/** Output folder (`out`): benchmark.json and benchmark.journal.jsonl. */
export interface BenchmarkOptions extends AxesRunOptions {
  /** Score a system-prompt scenario must exceed [PROTOCOL_DEFAULTS.benchmark.threshold]. */
  threshold?: number;
}

function missingAxes(ids: string[], what: string): void {
  const missing = BENCHMARK_AXES.filter((id) => !ids.includes(id));
  if (missing.length)
    throw badInput(`${what} lacks the benchmark ${missing.length === 1 ? 'axis' : 'axes'} ${missing.join(', ')} (the benchmark needs ${BENCHMARK_AXES.join(', ')}; it has ${ids.join(', ')})`);
}

interface AxisPlan {
  def: AxisDef;
  question: QuestionRef;
  system: ResponseJob;
  neutral: ResponseJob;
}

function followUpText(model: Model, instruction: string): string {
  return model.info.chatTemplate ? `${FOLLOW_UP_PREFIX}${instruction}` : instruction;
}

const fmt = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

export async function benchmark(modelOrPath: Model | string, options: BenchmarkOptions = {}): Promise<BenchmarkDoc> {
  const started = performance.now();
  const axisSet = await resolveAxisSet(options);
  const settings = resolveSettings(options);
  const threshold = options.threshold ?? PROTOCOL_DEFAULTS.benchmark.threshold;
  if (!Number.isFinite(threshold)) throw badInput(`threshold must be a number, got ${threshold}`);
  const status = options.onStatus ?? (() => {});
  missingAxes(axisSet.axes.map((a) => a.id), `the axis set ${axisSet.name}`);

  return withModel(modelOrPath, options.gpu, async (model) => {
    const warnings = model.info.chatTemplate ? [] : [NO_CHAT_TEMPLATE_WARNING];
    for (const w of warnings) status(`warning: ${w}`);
    const source = await findAxes(model, axisSet, settings, options, status);
    let axes = source.axes;
    if (axes) missingAxes(axes.axes.map((a) => a.id), typeof options.axes === 'string' ? options.axes : 'axes');
    const calJobs = axes ? [] : calibrationJobs(axisSet, 'A', settings);
    const plans: AxisPlan[] = BENCHMARK_AXES.map((id, i) => {
      const def = axisSet.axes.find((a) => a.id === id)!;
      const text = axisSet.baseline[i % axisSet.baseline.length];
      const question: QuestionRef = { id: `bench/${id}`, axis: id, set: 'baseline', index: i, text };
      const base = { question, promptTemplate: def.promptTemplate, maxTokens: settings.maxTokens };
      return {
        def,
        question,
        system: { ...base, key: jobKey(question, 'positive', 'system'), pole: 'positive', instruction: def.positiveInstruction },
        neutral: { ...base, key: jobKey(question, 'none', 'neutral'), pole: 'none', instruction: null },
      };
    });
    const firstJobs = [...calJobs, ...plans.flatMap((p) => [p.system, p.neutral])];
    const total = firstJobs.length + 2 * plans.length;
    if (!axes) status(`calibrating ${plural(axisSet.axes.length, 'axis', 'axes')} (${calJobs.length} responses; ${source.reason}) before the benchmark (${total - calJobs.length})`);
    const journal = openJournal(options.out, 'benchmark', { kind: 'benchmark', identity: model.info.identity, settings, axisSet });
    const phase = phasedProgress(options.onProgress, total);
    const collect = (jobs: ResponseJob[], offset: number): Promise<Map<string, Response>> => {
      const opts = collectOptions(model, settings, { journal, onProgress: phase(offset) });
      return collectResponses(model, jobs, opts);
    };
    let first: Map<string, Response>;
    let second: Map<string, Response>;
    const followUps: Array<{ plan: AxisPlan; kind: 'increase' | 'decrease'; job: ResponseJob }> = [];
    try {
      first = await collect(firstJobs, 0);
      for (const plan of plans) {
        const neutral = first.get(plan.neutral.key)!;
        const history: ChatMessage[] = [
          { role: 'user', content: plan.question.text },
          { role: 'assistant', content: neutral.text },
        ];
        for (const kind of ['increase', 'decrease'] as const) {
          const instruction = kind === 'increase' ? plan.def.positiveInstruction : plan.def.negativeInstruction;
          const question: QuestionRef = { ...plan.question, text: followUpText(model, instruction) };
          followUps.push({
            plan,
            kind,
            job: { key: jobKey(plan.question, 'none', kind), question, pole: 'none', instruction: null, promptTemplate: plan.def.promptTemplate, maxTokens: settings.maxTokens, history },
          });
        }
      }
      second = await collect(followUps.map((f) => f.job), firstJobs.length);
    } finally {
      journal?.close();
    }
    if (!axes) {
      axes = { kind: 'moodaxis.axes', schemaVersion: 1, set: 'A', axes: fitAxes(axisSet, 'A', first, settings), manifest: buildManifest(model, settings, axisSet, { calibrationSet: 'A' }) };
      storeCachedAxes(source, axes);
    }
    const benchAxes = BENCHMARK_AXES.map((id) => axes!.axes.find((a) => a.id === id)!);
    const scoresOf = (r: Response) => Object.fromEntries(benchAxes.map((a) => [a.id, scoreVector(a, r.vector)]));
    const turn = (job: ResponseJob, r: Response): BenchmarkTurn => ({
      system: job.instruction,
      user: job.question.text,
      text: r.text,
      tokens: r.tokens,
      stopReason: r.stopReason,
      scores: scoresOf(r),
    });

    const scenarios: BenchmarkScenario[] = [];
    for (const plan of plans) {
      const axis: CalibratedAxis = benchAxes.find((a) => a.id === plan.def.id)!;
      const sys = turn(plan.system, first.get(plan.system.key)!);
      const value = sys.scores[axis.id];
      const passed = value > threshold;
      const check: BenchmarkCheck = {
        axis: axis.id,
        expectation: 'above',
        value,
        previous: null,
        delta: null,
        threshold,
        passed,
        explanation: `score ${fmt(value)} ${passed ? '>' : '≤'} ${fmt(threshold)}`,
      };
      scenarios.push({ id: `${axis.id}/system`, name: `${plan.def.positive}: system prompt`, axis: axis.id, kind: 'system', passed, turns: [sys], checks: [check] });
      const neutral = turn(plan.neutral, first.get(plan.neutral.key)!);
      for (const f of followUps.filter((x) => x.plan === plan)) {
        const next = turn(f.job, second.get(f.job.key)!);
        const prev = neutral.scores[axis.id];
        const now = next.scores[axis.id];
        const delta = now - prev;
        const up = f.kind === 'increase';
        const ok = up ? delta > 0 : delta < 0;
        scenarios.push({
          id: `${axis.id}/${f.kind}`,
          name: up ? `${plan.def.positive}: asked for more` : `${plan.def.positive}: asked for less (${plan.def.negative})`,
          axis: axis.id,
          kind: f.kind,
          passed: ok,
          turns: [neutral, next],
          checks: [{
            axis: axis.id,
            expectation: up ? 'up' : 'down',
            value: now,
            previous: prev,
            delta,
            threshold: null,
            passed: ok,
            explanation: `score ${fmt(prev)} → ${fmt(now)} (Δ ${fmt(delta)}): ${delta > 0 ? 'rose' : delta < 0 ? 'fell' : 'unchanged'}`,
          }],
        });
      }
    }
    const passedCount = scenarios.filter((s) => s.passed).length;
    const doc: BenchmarkDoc = {
      kind: 'moodaxis.benchmark',
      schemaVersion: 1,
      manifest: buildManifest(model, settings, axisSet, {
        axesFrom: source.from,
        followUp: model.info.chatTemplate ? `${FOLLOW_UP_PREFIX}<pole instruction>` : '<pole instruction>',
      }),
      axes: benchAxes.map((a) => ({ id: a.id, positive: a.positive, negative: a.negative, auc: a.auc, dprime: Number.isFinite(a.dprime) ? a.dprime : null })),
      threshold,
      passed: passedCount,
      total: scenarios.length,
      passRate: passedCount / scenarios.length,
      scenarios,
      warnings,
      timing: runTiming(started, [...first.values(), ...second.values()], journal),
    };
    if (options.out) writeDocFile(join(options.out, 'benchmark.json'), doc);
    return doc;
  });
}
