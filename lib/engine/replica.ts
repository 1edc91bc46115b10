/**
 * Models in child processes: one (isolate mode) or several replicas (data parallel). A replica set
 * splits each generate call's requests across its replicas, request i to replica i mod n (every replica
 * gets a like mix of short and long jobs), with each request's seed fixed by its index in the whole
 * call first, so that results are those of one replica; in deterministic mode they are the same bytes.
 * Progress, finished results (journals) and streamed text are reported with the call's own indices.
 */
import { RUN_DEFAULTS } from '../defaults.js';
import { MoodaxisError, badInput, errorCode } from './errors.js';
import { IsolatedModel, type ChildLoadOptions, type GenerateStats } from './isolate.js';
import { deriveSeed, type GenerateOptions, type GenerateRequest, type GenerateResult, type LoadOptions, type Model, type ModelInfo } from './model-types.js';
import { replicaPlans } from './placement.js';
import type { ChatMessage, RenderedPrompt, TemplateKwargs } from './chat.js';

/** Loads the model in child processes as the options ask (isolate, gpus, replicas). */
/** `loadVocabulary` (model.ts) loads what the parent keeps: the vocabulary and metadata. */
export async function loadInChildProcesses(path: string, options: LoadOptions, loadVocabulary: (path: string, options: Pick<LoadOptions, 'templateBudget' | 'onWarning'>) => Promise<Model>): Promise<Model> {
  const plans = await replicaPlans(options);
  const { onWarning, isolate: _isolate, gpus: _gpus, replicas: _replicas, ...rest } = options;
  const childOptions: ChildLoadOptions = rest;
  // each replica says the same things while loading (a CPU fallback, say): once is enough
  const said = new Set<string>();
  const warn = onWarning && ((message: string) => !said.has(message) && (said.add(message), onWarning(message)));
  const vocab = await loadVocabulary(path, { templateBudget: options.templateBudget, onWarning });
  const started: IsolatedModel[] = [];
  try {
    const start = (i: number) => IsolatedModel.start(path, plans[i]!, childOptions, vocab, plans.length === 1, warn).then((m) => (started[i] = m));
    // The first replica alone: on a first GPU use it chooses (maybe builds) the CUDA backend and keeps
    // the verdict, which the other replicas then read instead of checking it again at the same time.
    await start(0);
    const rest = await Promise.allSettled(plans.slice(1).map((_, i) => start(i + 1)));
    const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (error) {
    await Promise.all(started.map((m) => m?.dispose()));
    await vocab.dispose();
    throw error;
  }
  return started.length === 1 ? started[0]! : new ReplicaSet(started, vocab, onWarning);
}

/** Rewrites the request indices of a replica's error message ("requests[3]", "request 3:") to the call's own. */
export function withCallIndices(error: unknown, indices: number[]): unknown {
  if (!(error instanceof Error)) return error;
  const global = (i: string) => String(indices[Number(i)] ?? i);
  const message = error.message.replace(/\brequests\[(\d+)\]/g, (_, i: string) => `requests[${global(i)}]`).replace(/\brequest (\d+):/g, (_, i: string) => `request ${global(i)}:`);
  if (message === error.message) return error;
  const code = errorCode(error);
  return code === 'INTERNAL' ? new Error(message, { cause: error }) : new MoodaxisError(code, message, { cause: error });
}

/** Statistics of a call spread over replicas: counts summed, times of the slowest replica (they ran at once). */
function combineStats(all: GenerateStats[]): GenerateStats | null {
  if (all.length === 0) return null;
  const sum = (k: keyof GenerateStats) => all.reduce((s, x) => s + x[k], 0);
  const max = (k: keyof GenerateStats) => Math.max(...all.map((x) => x[k]));
  return {
    prefillMs: max('prefillMs'), stepMs: max('stepMs'), decodeMs: max('decodeMs'), waitMs: max('waitMs'), sampleMs: max('sampleMs'), captureMs: max('captureMs'),
    steps: max('steps'), prefillTokens: sum('prefillTokens'), stepTokens: sum('stepTokens'), sharedTokens: sum('sharedTokens'), uniquePromptTokens: sum('uniquePromptTokens'), computedPromptTokens: sum('computedPromptTokens'),
    prefillDecodes: sum('prefillDecodes'), prefillUbatches: sum('prefillUbatches'), stepUbatches: sum('stepUbatches'), movedSequences: sum('movedSequences'), streamCopies: sum('streamCopies'),
    parallel: max('parallel'), requestedParallel: max('requestedParallel'),
  };
}

/** Several replicas of one model, used as one Model. */
class ReplicaSet implements Model {
  readonly info: ModelInfo;
  private stats: GenerateStats | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly replicas: IsolatedModel[],
    private readonly vocab: Model,
    private readonly onWarning: ((message: string) => void) | undefined,
  ) {
    this.info = { ...replicas[0]!.info, replicas: replicas.length };
  }

  get disposed(): boolean {
    return this.closing !== null;
  }

  private check() {
    if (this.closing) throw new MoodaxisError('CANCELLED', `${this.info.path}: the model has been disposed`);
  }

  async generate(requests: GenerateRequest[], options: GenerateOptions = {}): Promise<GenerateResult[]> {
    this.check();
    if (!Array.isArray(requests)) throw badInput('generate(requests): requests must be an array');
    const runSeed = options.seed ?? RUN_DEFAULTS.seed;
    const n = this.replicas.length;
    // Each request keeps the seed its index in this call gives it (the replica sees another index).
    const seeded = requests.map((r, i) => (r && typeof r === 'object' && r.seed === undefined && Number.isInteger(runSeed) ? { ...r, seed: deriveSeed(runSeed, i) } : r));
    const shares = this.replicas.map((_, k) => seeded.flatMap((_, i) => (i % n === k ? [i] : [])));
    const busy = shares.map((indices, k) => ({ k, indices })).filter((s, j) => s.indices.length > 0 || j === 0);
    const { onProgress, onResult, onText, onWarning } = options;
    const progress = busy.map((s) => ({ done: 0, total: s.indices.length, tokens: 0 }));
    const said = new Set<string>();
    const warn = onWarning ?? this.onWarning;
    const outcomes = await Promise.allSettled(
      busy.map(({ k, indices }, j) =>
        this.replicas[k]!.generate(
          indices.map((i) => seeded[i]!),
          {
            ...options,
            onWarning: (message) => !said.has(message) && (said.add(message), warn?.(message)),
            onResult: onResult && ((index, result) => onResult(indices[index]!, result)),
            onText: onText && ((index, text) => onText(indices[index]!, text)),
            onProgress:
              onProgress &&
              ((p) => {
                progress[j] = p;
                onProgress(progress.reduce((a, b) => ({ done: a.done + b.done, total: a.total + b.total, tokens: a.tokens + b.tokens })));
              }),
          },
        ),
      ),
    );
    const failures = outcomes.flatMap((o, j) => (o.status === 'rejected' ? [withCallIndices(o.reason, busy[j]!.indices)] : []));
    this.stats = combineStats(busy.flatMap(({ k }) => this.replicas[k]!.lastGenerateStats() ?? []));
    // the cause of a failure rather than the cancellations it led to
    if (failures.length) throw failures.find((e) => errorCode(e) !== 'CANCELLED') ?? failures[0];
    const results: GenerateResult[] = new Array(requests.length);
    outcomes.forEach((o, j) => {
      if (o.status === 'fulfilled') o.value.forEach((r, local) => (results[busy[j]!.indices[local]!] = r));
    });
    return results;
  }

  hiddenStates(tokens: Int32Array, layers: number[]): Promise<Float32Array[]> {
    this.check();
    return this.replicas[0]!.hiddenStates(tokens, layers);
  }

  renderPrompt(messages: ChatMessage[], templateKwargs?: TemplateKwargs): Promise<RenderedPrompt> {
    this.check();
    return this.vocab.renderPrompt(messages, templateKwargs);
  }

  tokenize(text: string, options?: { addSpecial?: boolean; parseSpecial?: boolean }): Int32Array {
    this.check();
    return this.vocab.tokenize(text, options);
  }

  detokenize(ids: Int32Array | readonly number[], options?: { special?: boolean }): string {
    this.check();
    return this.vocab.detokenize(ids, options);
  }

  lastGenerateStats(): GenerateStats | null {
    return this.stats;
  }

  dispose(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.replicas.map((r) => r.dispose()));
      await this.vocab.dispose();
    })();
    return this.closing;
  }
}
