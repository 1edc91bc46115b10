/**
 * Generating the responses a protocol needs: one request per (question, pole), each with its own seed
 * derived from (run seed, question id, pole), all in one batched generate call, journaled as they
 * finish and skipped when a journal already holds them.
 */
import { deriveSeed, type GenerateOptions, type Model } from '../engine/model.js';
import type { ChatMessage } from '../engine/chat.js';
import { PROMPT_TEMPLATE } from '../defaults.js';
import { renderPlainPrompt, type QuestionRef } from './axes-file.js';
import type { Journal } from './journal.js';
import type { ProgressCallback, Response, ResponseJob, Pole } from './response.js';

export interface CollectOptions {
  seed: number;
  parallel?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  deterministic?: boolean;
  capture?: GenerateOptions['capture'];
  controlVector?: GenerateOptions['controlVector'];
  ignoreEos?: boolean;
  /** The user's system prompt, for the jobs without a pole (see requestFor). */
  system?: string | null;
  templateKwargs?: GenerateOptions['templateKwargs'];
  thinkBudget?: number;
  /** Generate only these token ids (a judge's digits). */
  allowedTokens?: GenerateOptions['allowedTokens'];
  /** Keep the KV cache between calls and start prompts from it (conversations turn by turn). */
  reuseCache?: boolean;
  journal?: Journal;
  onProgress?: ProgressCallback;
}

export function jobKey(question: QuestionRef, pole: Pole, tag?: string): string {
  return tag ? `${question.id}|${pole}|${tag}` : `${question.id}|${pole}`;
}

/**
 * The system text of a job: the user's system prompt for a job without a pole (baseline, follow-ups,
 * scored texts), then the job's own instruction, separated by a blank line; pole jobs keep their pole
 * instruction alone.
 */
export function systemTextFor(job: ResponseJob, system: string | null | undefined): string | null {
  const parts = [job.pole === 'none' ? system : null, job.instruction].filter((x): x is string => !!x && x.trim() !== '');
  return parts.length ? parts.join('\n\n') : null;
}

/** The request for a job: chat messages when the model has a template, else the plain prompt. */
function requestFor(model: Model, job: ResponseJob, system: string | null | undefined) {
  const instruction = systemTextFor(job, system);
  if (model.info.chatTemplate) {
    const messages: ChatMessage[] = [];
    if (instruction) messages.push({ role: 'system', content: instruction });
    if (job.history) messages.push(...job.history);
    messages.push({ role: 'user', content: job.question.text });
    return { messages };
  }
  const history = job.history?.map((m) => m.content).join('\n\n');
  const question = history ? `${history}\n\n${job.question.text}` : job.question.text;
  return { prompt: renderPlainPrompt(job.promptTemplate ?? PROMPT_TEMPLATE, instruction, question) };
}

export async function collectResponses(model: Model, jobs: ResponseJob[], options: CollectOptions): Promise<Map<string, Response>> {
  const out = new Map<string, Response>();
  const todo: ResponseJob[] = [];
  for (const job of jobs) {
    const saved = options.journal?.entries.get(job.key);
    if (saved) out.set(job.key, saved);
    else todo.push(job);
  }
  const already = out.size;
  let finishedTokens = 0;
  options.onProgress?.(already, jobs.length, 0, { restored: already, finishedTokens });
  if (todo.length === 0) return out;
  const toResponse = (job: ResponseJob, r: { text: string; tokens: number; stopReason: 'eos' | 'length'; vector: Float32Array; layerNorms: Float32Array; capturedTokens?: number; thinkTokens?: number; thinkCut?: boolean }): Response => ({
    key: job.key,
    questionId: job.question.id,
    question: job.question.text,
    pole: job.pole,
    text: job.response ?? r.text,
    tokens: r.tokens,
    stopReason: r.stopReason,
    vector: r.vector,
    norm: r.layerNorms.length ? r.layerNorms.reduce((a, b) => a + b, 0) / r.layerNorms.length : 0,
    ...(r.capturedTokens !== undefined ? { capturedTokens: r.capturedTokens } : {}),
    ...(r.thinkTokens ? { thinkTokens: r.thinkTokens, thinkCut: r.thinkCut ?? false } : {}),
  });
  const results = await model.generate(
    todo.map((job) => ({ ...requestFor(model, job, options.system), seed: deriveSeed(options.seed, job.key), maxTokens: job.maxTokens, ...(job.response ? { response: job.response } : {}) })),
    {
      seed: options.seed,
      parallel: options.parallel,
      temperature: options.temperature,
      topK: options.topK,
      topP: options.topP,
      deterministic: options.deterministic,
      capture: options.capture,
      controlVector: options.controlVector,
      ignoreEos: options.ignoreEos,
      allowedTokens: options.allowedTokens,
      reuseCache: options.reuseCache,
      templateKwargs: options.templateKwargs,
      thinkBudget: options.thinkBudget,
      onResult: (index, r) => {
        const response = toResponse(todo[index], r);
        finishedTokens += r.tokens;
        out.set(response.key, response);
        options.journal?.append(response);
      },
      onProgress: (p) => options.onProgress?.(already + p.done, jobs.length, p.tokens, { restored: already, finishedTokens }),
    },
  );
  results.forEach((r, i) => {
    if (!out.has(todo[i].key)) out.set(todo[i].key, toResponse(todo[i], r));
  });
  return out;
}

/**
 * One progress count over several collect calls (phases): done, tokens and restored responses add up
 * across them. `phase(offset)` gives the callback for the phase whose jobs start at `offset`.
 */
export function phasedProgress(onProgress: ProgressCallback | undefined, total: number): (offset: number) => ProgressCallback | undefined {
  const sums = { tokens: 0, restored: 0, finishedTokens: 0 };
  let latest = { tokens: 0, restored: 0, finishedTokens: 0 };
  let currentOffset = -1;
  return (offset) => {
    if (!onProgress) return undefined;
    return (done, _total, tokens, detail) => {
      if (offset !== currentOffset) {
        // a new phase: what the previous one reached becomes the base
        sums.tokens += latest.tokens;
        sums.restored += latest.restored;
        sums.finishedTokens += latest.finishedTokens;
        currentOffset = offset;
      }
      latest = { tokens, restored: detail?.restored ?? 0, finishedTokens: detail?.finishedTokens ?? 0 };
      onProgress(offset + done, total, sums.tokens + tokens, { restored: sums.restored + latest.restored, finishedTokens: sums.finishedTokens + latest.finishedTokens });
    };
  };
}
