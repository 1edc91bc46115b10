/**
 * Rendering a model's chat template under a budget. The template is code that the model file carries
 * (untrusted input): it runs in a worker thread with a heap limit, a wall-time limit (past it the
 * worker is terminated) and a cap on the length of each rendered prompt, so that a template that loops
 * for ever, grows a string without end or recurses too deep ends in a BAD_INPUT refusal while the
 * event loop keeps running.
 *
 * One worker serves the process: started on first use, kept warm between calls (unref'd while idle, so
 * it never keeps a process alive) and replaced after it was terminated. Calls are served one at a time,
 * and each call renders a whole batch of prompts (all of a generate call's), so a fingerprint's 590
 * prompts cost one round trip.
 *
 * The worker's code is {@link templateWorkerMain}, sent as source text (an `eval` worker): the same
 * code then runs from the compiled package (dist/) and from the TypeScript sources under vitest, with
 * no worker file whose path or extension differs between the two.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ENGINE_DEFAULTS } from '../defaults.js';
import { MoodaxisError, badInput } from './errors.js';

export interface TemplateBudget {
  /** Wall time of one rendering call: `ms`, plus `msPerPrompt` for each prompt it renders. */
  ms: number;
  msPerPrompt: number;
  /** The worker's JavaScript heap (V8 old generation), in MB. */
  heapMb: number;
  /** A rendered prompt may hold twice its messages' text plus this many characters. */
  extraCharacters: number;
}

/** Generous: real templates (Llama 3, Qwen, Gemma, Mistral, DeepSeek) render in well under a millisecond. */
export const DEFAULT_TEMPLATE_BUDGET: Readonly<TemplateBudget> = ENGINE_DEFAULTS.templateBudget;

/** Environment variable that sets the default `ms` of the budget (a service or a test may lower it). */
export const TEMPLATE_BUDGET_ENV = 'MOODAXIS_TEMPLATE_BUDGET_MS';

const BUDGET_RANGES: Record<keyof TemplateBudget, [number, number]> = {
  ms: [1, 3_600_000],
  msPerPrompt: [0, 60_000],
  heapMb: [16, 65_536],
  extraCharacters: [0, 1 << 28],
};

/** The budget: the defaults, `ms` from {@link TEMPLATE_BUDGET_ENV} when set, then `overrides`; each checked. */
export function templateBudget(overrides: Partial<TemplateBudget> = {}): TemplateBudget {
  const env = process.env[TEMPLATE_BUDGET_ENV];
  const fromEnv = env === undefined || env === '' ? {} : { ms: Number(env) };
  const budget = { ...DEFAULT_TEMPLATE_BUDGET, ...fromEnv, ...overrides };
  for (const [key, [min, max]] of Object.entries(BUDGET_RANGES) as Array<[keyof TemplateBudget, [number, number]]>) {
    const value = budget[key];
    if (!Number.isInteger(value) || value < min || value > max) {
      const source = key in overrides ? `templateBudget.${key}` : TEMPLATE_BUDGET_ENV;
      throw badInput(`${source} must be an integer between ${min} and ${max}, got ${String(key in overrides ? value : env)}`);
    }
  }
  return budget;
}

/** One prompt to render: the template's variables and the longest text accepted. */
export interface TemplateJob {
  variables: Record<string, unknown>;
  maxCharacters: number;
}

/** What one prompt rendered to: its text, or the template's own error (it raised, or misused a value). */
export type TemplateOutcome = { text: string } | { error: string };

// Messages between the threads.
interface WorkerCall { id: number; source: string; jobs: TemplateJob[] }
type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'done'; id: number; outcomes: TemplateOutcome[] }
  | { kind: 'parse'; id: number; error: string }
  | { kind: 'too-long'; id: number; limit: number }
  | { kind: 'stack'; id: number };

type Threads = typeof import('node:worker_threads');
type Jinja = typeof import('@huggingface/jinja');

/**
 * The worker thread's program. It is sent as source text, so it uses nothing from this module but its
 * arguments: the worker_threads module and @huggingface/jinja, imported by {@link workerSource}.
 */
function templateWorkerMain({ parentPort }: Threads, jinja: Jinja | { default: Jinja }): void {
  const { Template } = 'Template' in jinja ? jinja : jinja.default;
  type Compiled = InstanceType<typeof Template>;
  const compiled = new Map<string, Compiled>();
  const port = parentPort!;
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
  const isStackOverflow = (error: unknown) => error instanceof RangeError && /call stack/i.test(error.message);
  const isStringLimit = (error: unknown) => error instanceof RangeError && /string length/i.test(error.message);
  port.on('message', (call: WorkerCall) => {
    let template = compiled.get(call.source);
    if (!template) {
      try {
        template = new Template(call.source);
      } catch (error) {
        port.postMessage(isStackOverflow(error) ? { kind: 'stack', id: call.id } : { kind: 'parse', id: call.id, error: message(error) });
        return;
      }
      if (compiled.size >= 8) compiled.delete(compiled.keys().next().value!);
      compiled.set(call.source, template);
    }
    const outcomes: TemplateOutcome[] = [];
    for (let index = 0; index < call.jobs.length; index++) {
      const { variables, maxCharacters } = call.jobs[index]!;
      try {
        const text = template.render(variables);
        if (text.length > maxCharacters) {
          port.postMessage({ kind: 'too-long', id: call.id, limit: maxCharacters });
          return;
        }
        outcomes.push({ text });
      } catch (error) {
        if (isStackOverflow(error)) {
          port.postMessage({ kind: 'stack', id: call.id });
          return;
        }
        if (isStringLimit(error)) {
          port.postMessage({ kind: 'too-long', id: call.id, limit: maxCharacters });
          return;
        }
        outcomes.push({ error: message(error) });
      }
    }
    port.postMessage({ kind: 'done', id: call.id, outcomes });
  });
  port.postMessage({ kind: 'ready' });
}

/**
 * The eval worker's source: imports, then {@link templateWorkerMain}. `import()` works whether the
 * process runs eval code as a script or as a module (`--input-type=module` is inherited by workers).
 */
function workerSource(): string {
  const jinja = pathToFileURL(createRequire(import.meta.url).resolve('@huggingface/jinja')).href;
  return `Promise.all([import('node:worker_threads'), import(${JSON.stringify(jinja)})]).then(([threads, jinja]) => (${templateWorkerMain.toString()})(threads, jinja));`;
}

const STACK_MB = 4;

/** The refusal of a template that went over one of its limits. */
export function budgetExceeded(limit: string): MoodaxisError {
  return badInput(`the chat template exceeded its budget (${limit})`);
}

class TemplateSandbox {
  private worker: Worker | null = null;
  private starting: Promise<Worker> | null = null;
  private heapMb = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;

  /** Renders `source` for every job, after the calls already waiting. */
  render(source: string, jobs: TemplateJob[], budget: TemplateBudget): Promise<TemplateOutcome[]> {
    const run = this.queue.then(() => this.renderNow(source, jobs, budget));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Starts the worker now (after the calls already waiting), so that the first render finds it ready. */
  warm(heapMb: number): void {
    const started = this.queue.then(() => this.start(heapMb));
    this.queue = started.catch(() => undefined); // a worker that cannot start fails the next render instead
  }

  private start(heapMb: number): Promise<Worker> {
    if (this.starting && this.heapMb === heapMb) return this.starting;
    if (this.worker) void this.discard(this.worker);
    this.heapMb = heapMb;
    const worker = new Worker(workerSource(), {
      eval: true,
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: Math.min(32, Math.max(4, heapMb >> 3)), stackSizeMb: STACK_MB },
    });
    this.worker = worker;
    // Always listened to: an 'error' (out of memory) can also come while a timed-out worker is being
    // terminated, after a call stopped listening, and an unheard 'error' would end the process.
    const gone = () => {
      if (this.worker === worker) this.forget();
    };
    worker.on('error', gone).once('exit', gone);
    this.starting = new Promise<Worker>((resolve, reject) => {
      const fail = (why: string) => {
        if (this.worker === worker) this.forget();
        reject(new MoodaxisError('INTERNAL', `the chat template worker did not start: ${why}`));
      };
      worker.once('message', (reply: WorkerReply) => {
        worker.off('error', onError).off('exit', onExit);
        if (reply.kind !== 'ready') return fail(`unexpected first message ${reply.kind}`);
        worker.unref();
        resolve(worker);
      });
      const onError = (error: Error) => fail(error.message);
      const onExit = (code: number) => fail(`it exited with code ${code}`);
      worker.once('error', onError).once('exit', onExit);
    });
    return this.starting;
  }

  private forget(): void {
    this.worker = null;
    this.starting = null;
  }

  /** Stops a worker (resolves once it is gone; never rejects). */
  private async discard(worker: Worker): Promise<void> {
    if (this.worker === worker) this.forget();
    await worker.terminate().catch(() => undefined);
  }

  private async renderNow(source: string, jobs: TemplateJob[], budget: TemplateBudget): Promise<TemplateOutcome[]> {
    if (jobs.length === 0) return [];
    const worker = await this.start(budget.heapMb);
    const id = this.nextId++;
    const limitMs = budget.ms + budget.msPerPrompt * jobs.length;
    worker.ref();
    try {
      return await new Promise<TemplateOutcome[]>((resolve, reject) => {
        let settled = false;
        const finish = (settle: () => void) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          worker.off('message', onMessage).off('error', onError).off('exit', onExit);
          settle();
        };
        // Over time: the worker is terminated (V8 interrupts even a loop that never yields).
        const timer = setTimeout(() => finish(() => void this.discard(worker).then(() => reject(budgetExceeded(`${limitMs} ms`)))), limitMs);
        const onMessage = (reply: WorkerReply) => {
          if (!('id' in reply) || reply.id !== id) return;
          finish(() => {
            if (reply.kind === 'done') resolve(reply.outcomes);
            else if (reply.kind === 'parse') reject(badInput(`the model's chat template does not parse as Jinja: ${reply.error}`));
            else if (reply.kind === 'too-long') reject(budgetExceeded(`${reply.limit} characters`));
            else if (reply.kind === 'stack') reject(budgetExceeded(`${STACK_MB} MB of stack`));
          });
        };
        const onError = (error: Error & { code?: string }) =>
          finish(() => {
            this.forget();
            if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') reject(budgetExceeded(`${budget.heapMb} MB of memory`));
            else reject(new MoodaxisError('INTERNAL', `the chat template worker failed: ${error.message}`, { cause: error }));
          });
        const onExit = (code: number) =>
          finish(() => {
            this.forget();
            reject(new MoodaxisError('INTERNAL', `the chat template worker stopped (exit code ${code})`));
          });
        worker.on('message', onMessage).once('error', onError).once('exit', onExit);
        worker.postMessage({ id, source, jobs } satisfies WorkerCall);
      });
    } finally {
      if (this.worker === worker) worker.unref();
    }
  }
}

const sandbox = new TemplateSandbox();

/** Starts the template worker ahead of its first use (a model with a chat template was loaded). */
export function warmTemplateWorker(budget: TemplateBudget): void {
  sandbox.warm(budget.heapMb);
}

/** Renders a template over a batch of prompts in the process's template worker, within `budget`. */
export function renderInSandbox(source: string, jobs: TemplateJob[], budget: TemplateBudget): Promise<TemplateOutcome[]> {
  return sandbox.render(source, jobs, budget);
}
