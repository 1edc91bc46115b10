/**
 * Generating the responses a protocol needs: one request per (question, pole), each with its own seed
 * derived from (run seed, question id, pole), all in one batched generate call, journaled as they
 * finish and skipped when a journal already holds them.
 */
import { deriveSeed, type GenerateOptions, type Model } from '../engine/model.js';
import type { ChatMessage } from '../engine/chat.js';
import { renderPlainPrompt, DEFAULT_PROMPT_TEMPLATE, type QuestionRef } from './axes-file.js';
import type { Journal } from './journal.js';

export type Pole = 'positive' | 'negative' | 'none';

export interface ResponseJob {
  /** Unique in a run: `<questionId>|<pole>[|<tag>]`. */
  key: string;
  question: QuestionRef;
  pole: Pole;
  instruction: string | null;
  promptTemplate?: string;
  maxTokens: number;
  /** Score this text teacher-forced instead of generating. */
  response?: string;
  /** Extra conversation turns before the question (benchmark scenarios). */
  history?: ChatMessage[];
}

export interface Response {
  key: string;
  questionId: string;
  question: string;
  pole: Pole;
  text: string;
  tokens: number;
  stopReason: 'eos' | 'length';
  vector: Float32Array;
  /** Mean hidden-state norm at the captured layers. */
  norm: number;
  /** Generated tokens in <think> blocks (excluded from the capture), and whether the think budget ran out. */
  thinkTokens?: number;
  thinkCut?: boolean;
}

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
  journal?: Journal;
  onProgress?: (done: number, total: number, tokens: number) => void;
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
  return { prompt: renderPlainPrompt(job.promptTemplate ?? DEFAULT_PROMPT_TEMPLATE, instruction, question) };
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
  options.onProgress?.(already, jobs.length, 0);
  if (todo.length === 0) return out;
  const toResponse = (job: ResponseJob, r: { text: string; tokens: number; stopReason: 'eos' | 'length'; vector: Float32Array; layerNorms: Float32Array; thinkTokens?: number; thinkCut?: boolean }): Response => ({
    key: job.key,
    questionId: job.question.id,
    question: job.question.text,
    pole: job.pole,
    text: job.response ?? r.text,
    tokens: r.tokens,
    stopReason: r.stopReason,
    vector: r.vector,
    norm: r.layerNorms.length ? r.layerNorms.reduce((a, b) => a + b, 0) / r.layerNorms.length : 0,
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
      templateKwargs: options.templateKwargs,
      thinkBudget: options.thinkBudget,
      onResult: (index, r) => {
        const response = toResponse(todo[index], r);
        out.set(response.key, response);
        options.journal?.append(response);
      },
      onProgress: (p) => options.onProgress?.(already + p.done, jobs.length, p.tokens),
    },
  );
  results.forEach((r, i) => {
    if (!out.has(todo[i].key)) out.set(todo[i].key, toResponse(todo[i], r));
  });
  return out;
}
