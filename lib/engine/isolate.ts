/**
 * Isolate mode: the model runs in a child process (lib/engine/isolate-child.ts) that serves the same
 * engine API over IPC. llama.cpp aborts its process on a CUDA error (out of memory in a decode, an
 * unsupported op, a backend built for another driver); here that abort kills the child only: the call
 * in flight is rejected with the child's last log lines, this process lives on, and the next call
 * starts the child again.
 *
 * Messages use Node's "advanced" IPC serialization (the structured clone algorithm), so hidden-state
 * vectors and token ids cross as Float32Array / Int32Array bytes, not as JSON. Progress, results and
 * streamed text arrive as events while a call runs. Tokenizing and prompt rendering stay in this process
 * on the model's vocabulary alone (loadVocabulary: no weights, no GPU), so they remain synchronous.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatMessage, RenderedPrompt, TemplateKwargs } from './chat.js';
import { MoodaxisError, badInput, type ErrorCode } from './errors.js';
import type { GenerateOptions, GenerateRequest, GenerateResult, LoadOptions, Model, ModelInfo } from './model-types.js';
import { packageRoot } from './package-root.js';
import type { ReplicaPlan } from './placement.js';
import { goneRpcServers, parseRpcServers } from './rpc.js';

/** Load options that cross to the child: no callbacks, no placement that concerns the parent. */
export type ChildLoadOptions = Omit<LoadOptions, 'onWarning' | 'isolate' | 'gpus' | 'replicas'>;
/** Generate options that cross to the child (callbacks become events). */
export type ChildGenerateOptions = Omit<GenerateOptions, 'onProgress' | 'onResult' | 'onText' | 'onWarning'>;
export type GenerateStats = NonNullable<ReturnType<Model['lastGenerateStats']>>;

export interface ErrorData { code: ErrorCode; message: string }

export type ToChild =
  | { kind: 'load'; path: string; options: ChildLoadOptions }
  | { kind: 'generate'; id: number; requests: GenerateRequest[]; options: ChildGenerateOptions; want: { progress: boolean; text: boolean } }
  | { kind: 'hiddenStates'; id: number; tokens: Int32Array; layers: number[] }
  | { kind: 'dispose' };

export type FromChild =
  | { kind: 'loaded'; info: ModelInfo }
  | { kind: 'failed'; error: ErrorData }
  | { kind: 'warning'; id: number | null; message: string }
  | { kind: 'progress'; id: number; done: number; total: number; tokens: number }
  | { kind: 'result'; id: number; index: number; result: GenerateResult }
  | { kind: 'text'; id: number; index: number; text: string }
  | { kind: 'reply'; id: number; value?: unknown; error?: ErrorData }
  | { kind: 'disposed' };

/** A call to the child without its id (the process numbers its calls). */
type CallMessage = Extract<ToChild, { id: number }> extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

/** What a generate reply carries besides the results already sent as events. */
export interface GenerateReply { rest: Array<[number, GenerateResult]>; stats: GenerateStats | null }

/** The compiled child entry (the TypeScript sources, under vitest, use the compiled one in dist/). */
function childEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const entry = here.endsWith('.ts') ? join(packageRoot, 'dist', 'lib', 'engine', 'isolate-child.js') : join(dirname(here), 'isolate-child.js');
  if (!existsSync(entry)) throw new MoodaxisError('INTERNAL', `the entry of the model's child process is missing (${entry}): build the library (npm run build)`);
  return entry;
}

/** The line the addon prints before llama.cpp's last log lines when ggml aborts (native/log.cc). */
const ABORT_MARKER = "llama.cpp's last log lines before it aborted";
const TAIL_LINES = 24;

interface CallHandlers {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  what: string;
  warning?: (message: string) => void;
  progress?: (progress: { done: number; total: number; tokens: number }) => void;
  result?: (index: number, result: GenerateResult) => void;
  text?: (index: number, text: string) => void;
}

export function errorFromData(error: ErrorData): Error {
  return error.code === 'INTERNAL' ? new Error(error.message) : new MoodaxisError(error.code, error.message);
}

/** One child process holding one loaded model. */
class ModelProcess {
  private readonly child: ChildProcess;
  private readonly calls = new Map<number, CallHandlers>();
  private nextId = 1;
  private tail: string[] = [];
  private partial = '';
  private forward = true;
  private disposing = false;
  /** Why the process is gone (null while it runs). */
  ended: Error | null = null;
  readonly exited: Promise<void>;
  readonly loaded: Promise<ModelInfo>;

  constructor(
    private readonly path: string,
    private readonly plan: ReplicaPlan,
    options: ChildLoadOptions,
    private readonly loadWarning: ((message: string) => void) | undefined,
  ) {
    this.child = fork(childEntry(), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
      env: { ...process.env, ...plan.env },
    });
    this.child.stdout!.on('data', (chunk: Buffer) => this.output(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => this.output(chunk));
    this.loaded = new Promise<ModelInfo>((resolve, reject) => this.calls.set(0, { resolve: resolve as (v: unknown) => void, reject, what: 'loading' }));
    this.loaded.catch(() => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.flushOutput();
        this.end(this.disposing ? new MoodaxisError('CANCELLED', `${basename(path)}: the model has been disposed`) : null, code, signal);
        resolve();
      });
      this.child.on('error', (error) => {
        this.end(new MoodaxisError('NATIVE', `${basename(path)}: the model's process could not run: ${error.message}`), null, null);
        resolve();
      });
    });
    this.child.on('message', (message: FromChild) => this.receive(message));
    this.send({ kind: 'load', path, options: { ...options, threads: options.threads ?? plan.threads, gpu: plan.gpu } });
  }

  /**
   * While no call is in flight the child does not keep this process alive (as an in-process model does
   * not): a program that ends without dispose() ends, and the child follows when its channel closes.
   */
  private holdProcess(hold: boolean) {
    for (const handle of [this.child, this.child.channel, this.child.stdout, this.child.stderr] as Array<{ ref?: () => void; unref?: () => void } | null | undefined>) {
      if (hold) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  /** The child's stdout and stderr go on to ours (up to an abort's log dump, which the error carries); the last lines are kept. */
  private output(chunk: Buffer) {
    const lines = (this.partial + chunk.toString()).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.line(line);
  }

  private flushOutput() {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  private line(line: string) {
    if (line.includes(ABORT_MARKER)) this.forward = false;
    if (this.forward) process.stderr.write(`${line}\n`);
    if (line.trim() === '') return;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
  }

  private end(error: Error | null, code: number | null, signal: NodeJS.Signals | null) {
    if (this.ended) return;
    this.ended = error ?? this.crashError(code, signal);
    for (const call of this.calls.values()) call.reject(this.ended);
    this.calls.clear();
  }

  /** The error of calls in flight when the child died: how it ended and its last output. */
  private crashError(code: number | null, signal: NodeJS.Signals | null): MoodaxisError {
    const what = [...this.calls.values()].find((c) => c.what !== 'loading')?.what ?? (this.calls.has(0) ? 'loading' : 'a call');
    const how = signal === 'SIGABRT' ? "llama.cpp aborted the model's process" : signal ? `the model's process was killed by ${signal}` : `the model's process exited with code ${code}`;
    const again = what === 'loading' ? '' : '; the next call starts it again';
    const lines = this.tail.length ? `. Its last output:\n${this.tail.map((l) => `  ${l.trim()}`).join('\n')}` : ' (it printed nothing)';
    const text = this.tail.join('\n');
    const kind: ErrorCode = /out of memory|cudaMalloc failed|failed to allocate/i.test(text) ? 'RESOURCE' : 'NATIVE';
    return new MoodaxisError(kind, `${basename(this.path)}${this.plan.label ? ` (${this.plan.label})` : ''}: ${how} during ${what}${again}${lines}`);
  }

  private receive(message: FromChild) {
    if (message.kind === 'loaded' || message.kind === 'failed') {
      const call = this.calls.get(0);
      this.calls.delete(0);
      if (message.kind === 'loaded') call?.resolve(message.info);
      else call?.reject(errorFromData(message.error));
      if (this.calls.size === 0) this.holdProcess(false);
      return;
    }
    if (message.kind === 'disposed') return;
    if (message.kind === 'warning' && message.id === null) {
      this.loadWarning?.(message.message);
      return;
    }
    const call = this.calls.get(message.id ?? -1);
    if (!call) return;
    switch (message.kind) {
      case 'warning': call.warning?.(message.message); break;
      case 'progress': call.progress?.({ done: message.done, total: message.total, tokens: message.tokens }); break;
      case 'result': call.result?.(message.index, message.result); break;
      case 'text': call.text?.(message.index, message.text); break;
      case 'reply':
        this.calls.delete(message.id);
        if (this.calls.size === 0) this.holdProcess(false);
        if (message.error) call.reject(errorFromData(message.error));
        else call.resolve(message.value);
        break;
    }
  }

  private send(message: ToChild) {
    try {
      this.child.send(message);
    } catch (error) {
      // a value the structured clone algorithm cannot copy (a function, say) in a request or an option
      throw badInput(`${basename(this.path)}: the call cannot be sent to the model's process: ${(error as Error).message}`);
    }
  }

  /** Sends a call; handlers receive its events until the reply settles it. */
  call(message: CallMessage, handlers: Omit<CallHandlers, 'resolve' | 'reject'>): Promise<unknown> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { ...handlers, resolve, reject });
      this.holdProcess(true);
      try {
        this.send({ ...message, id } as ToChild);
      } catch (error) {
        this.calls.delete(id);
        reject(error as Error);
      }
    });
  }

  /** Asks the child to dispose its model (cancelling a call in flight) and exit; kills it if it does not. */
  async dispose(): Promise<void> {
    if (this.ended) return;
    this.disposing = true;
    this.holdProcess(true);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    try {
      this.child.send({ kind: 'dispose' } satisfies ToChild);
    } catch {
      this.child.kill('SIGKILL');
    }
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * The error of a model's process that died while it used RPC servers (llama.cpp's RPC client aborts its
 * process when a connection fails), naming the servers that no longer answer; other errors as they are.
 */
async function withRpcCause(error: unknown, proc: ModelProcess, path: string, options: ChildLoadOptions): Promise<unknown> {
  if (!options.rpc || proc.ended !== error || !(error instanceof MoodaxisError) || error.code === 'CANCELLED') return error;
  const gone = await goneRpcServers(parseRpcServers(options.rpc));
  if (gone.length === 0) return error;
  const names = gone.map((g) => g.endpoint).join(', ');
  const reasons = gone.map((g) => (gone.length > 1 ? `${g.endpoint}: ${g.reason}` : g.reason)).join('; ');
  const message = `${basename(path)}: the RPC server${gone.length > 1 ? 's' : ''} ${names} stopped answering (${reasons}); ${error.message.replace(`${basename(path)}: `, '')}`;
  return new MoodaxisError('RESOURCE', message, { cause: error });
}

/** Starts a child process and loads the model in it; a failed start leaves no process behind. */
async function startProcess(path: string, plan: ReplicaPlan, options: ChildLoadOptions, onWarning?: (message: string) => void): Promise<ModelProcess> {
  const proc = new ModelProcess(path, plan, options, onWarning);
  try {
    await proc.loaded;
    return proc;
  } catch (error) {
    await proc.dispose();
    throw await withRpcCause(error, proc, path, options);
  }
}

/** A model in a child process: the Model API, with tokenizing and rendering done here on its vocabulary. */
export class IsolatedModel implements Model {
  private proc: ModelProcess | null;
  private starting: Promise<ModelProcess> | null = null;
  private stats: GenerateStats | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly path: string,
    private readonly plan: ReplicaPlan,
    private readonly options: ChildLoadOptions,
    private readonly vocab: Model,
    private readonly ownsVocab: boolean,
    private readonly onWarning: ((message: string) => void) | undefined,
    first: ModelProcess,
    readonly info: ModelInfo,
  ) {
    this.proc = first;
  }

  /** Loads the model in a new child process; `vocab` (this process's tokenizer) is disposed with it when `ownsVocab`. */
  static async start(path: string, plan: ReplicaPlan, options: ChildLoadOptions, vocab: Model, ownsVocab: boolean, onWarning?: (message: string) => void): Promise<IsolatedModel> {
    const proc = await startProcess(path, plan, options, onWarning);
    return new IsolatedModel(path, plan, options, vocab, ownsVocab, onWarning, proc, await proc.loaded);
  }

  get disposed(): boolean {
    return this.closing !== null;
  }

  private disposedError() {
    return new MoodaxisError('CANCELLED', `${this.info.path}: the model has been disposed`);
  }

  /** The running child, or a new one when the last one died (calls that arrive together share it). */
  private async live(): Promise<ModelProcess> {
    if (this.closing) throw this.disposedError();
    if (this.proc && !this.proc.ended) return this.proc;
    this.proc = null;
    this.starting ??= (async () => {
      try {
        const proc = await startProcess(this.path, this.plan, this.options, this.onWarning);
        const info = await proc.loaded;
        if (info.identity !== this.info.identity) {
          await proc.dispose();
          throw new MoodaxisError('BAD_INPUT', `${this.info.path}: the file changed since the model was loaded (its identity is now ${info.identity}): load it again`);
        }
        if (this.closing) {
          await proc.dispose();
          throw this.disposedError();
        }
        this.proc = proc;
        return proc;
      } finally {
        this.starting = null;
      }
    })();
    return this.starting;
  }

  async generate(requests: GenerateRequest[], options: GenerateOptions = {}): Promise<GenerateResult[]> {
    const proc = await this.live();
    const { onProgress, onResult, onText, onWarning, ...rest } = options;
    const results: GenerateResult[] = [];
    const reply = (await this.call(
      proc,
      { kind: 'generate', requests, options: rest, want: { progress: onProgress !== undefined, text: onText !== undefined } },
      {
        what: 'generate',
        warning: onWarning ?? this.onWarning,
        progress: onProgress,
        text: onText,
        result: (index, result) => {
          results[index] = result;
          onResult?.(index, result);
        },
      },
    )) as GenerateReply;
    for (const [index, result] of reply.rest) results[index] = result;
    this.stats = reply.stats;
    return results;
  }

  async hiddenStates(tokens: Int32Array, layers: number[]): Promise<Float32Array[]> {
    const proc = await this.live();
    return (await this.call(proc, { kind: 'hiddenStates', tokens, layers }, { what: 'hiddenStates' })) as Float32Array[];
  }

  /** A call to the model's process; if the process died while it used RPC servers, the error names them. */
  private call(proc: ModelProcess, ...args: Parameters<ModelProcess['call']>): ReturnType<ModelProcess['call']> {
    return proc.call(...args).catch(async (error: unknown) => {
      throw await withRpcCause(error, proc, this.path, this.options);
    });
  }

  renderPrompt(messages: ChatMessage[], templateKwargs?: TemplateKwargs): Promise<RenderedPrompt> {
    if (this.closing) return Promise.reject(this.disposedError());
    return this.vocab.renderPrompt(messages, templateKwargs);
  }

  tokenize(text: string, options?: { addSpecial?: boolean; parseSpecial?: boolean }): Int32Array {
    if (this.closing) throw this.disposedError();
    return this.vocab.tokenize(text, options);
  }

  detokenize(ids: Int32Array | readonly number[], options?: { special?: boolean }): string {
    if (this.closing) throw this.disposedError();
    return this.vocab.detokenize(ids, options);
  }

  lastGenerateStats(): GenerateStats | null {
    return this.stats;
  }

  dispose(): Promise<void> {
    this.closing ??= (async () => {
      await this.starting?.catch(() => undefined);
      await this.proc?.dispose();
      if (this.ownsVocab) await this.vocab.dispose();
    })();
    return this.closing;
  }
}
