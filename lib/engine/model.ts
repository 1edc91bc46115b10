/**
 * The public engine API: loadModel(path, options) -> Model with info, generate and dispose.
 * A model owns one native context thread; generate calls on one model run one after another on it,
 * models run in parallel with each other.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { ensureCuda, nativeAddon, nativeErrorCode, type NativeContext, type NativeGenerateOptions, type NativeGenerateStats, type NativeModel, type NativeRequest, type NativeResult } from './binding.js';
import { renderChats, type ChatMessage, type RenderedPrompt, type TemplateKwargs } from './chat.js';
import { CAPTURE_WEIGHTS, ENGINE_DEFAULTS, PARALLEL_DEFAULTS, RUN_DEFAULTS } from '../defaults.js';
import { MoodaxisError, badInput, errorCode } from './errors.js';
import { modelIdentity, readGgufHeader, validateForLlama, type GgufInfo } from './gguf/index.js';
import { checkRpcServers, ensureRpcBackend, parseRpcServers } from './rpc.js';
import { checkPlacement, gpusOfModel, splitModeValue, wantsChildProcesses, type PlacementOptions, type SplitInfo } from './placement.js';
import { templateBudget, warmTemplateWorker, type TemplateBudget } from './template-sandbox.js';

export type { GpuChoice, LoadOptions, ModelInfo, GenerateRequest, CaptureOptions, ControlVectorInput, GenerateOptions, GenerateResult, Model } from './model-types.js';
export { deriveSeed } from './model-types.js';
import { deriveSeed, type ControlVectorInput, type GenerateOptions, type GenerateRequest, type GenerateResult, type GpuChoice, type LoadOptions, type Model, type ModelInfo } from './model-types.js';

/**
 * Sequences in flight when the caller does not say: on CUDA 256 where its KV cache fits (the full 8B-shape
 * fingerprint workload on an H200 took 32.4 s at 256 and 35.6 s at 128, BENCHMARKS.md; see
 * `fittingParallel`), 16 on CPU.
 */
export function defaultParallel(backend: ModelInfo['backend']): number {
  return backend === 'cuda' ? PARALLEL_DEFAULTS.cuda : PARALLEL_DEFAULTS.cpu;
}

/**
 * The largest power of two up to `ceiling` whose KV cache takes at most half of `freeBytes`, for
 * sequences of `tokensPerSeq` (the context rounds up to 256 per sequence, as the engine sizes it).
 */
export function fittingParallel(ceiling: number, kvBytesPerToken: number, tokensPerSeq: number, freeBytes: number): number {
  const perSeq = Math.ceil(tokensPerSeq / 256) * 256 * kvBytesPerToken;
  let p = ceiling;
  while (p > 1 && p * perSeq > freeBytes / 2) p = Math.ceil(p / 2);
  return p;
}

/** Bytes of F16 KV cache per token: every layer's K and V rows (null when the tensors are not the usual ones). */
function kvBytesPerToken(gguf: GgufInfo): number | null {
  let elements = 0;
  for (const t of gguf.tensors) if (/^blk\.\d+\.attn_[kv]\.weight$/.test(t.name)) elements += t.shape[1] ?? 0;
  return elements > 0 ? elements * 2 : null;
}

/** A switch for benchmarks and tests: the variable's 0 or 1 when it is set to one of them, else `otherwise`. */
function envSwitch(name: string, otherwise: boolean): boolean {
  const env = process.env[name];
  return env === '0' || env === '1' ? env === '1' : otherwise;
}

/** Top-k on the device unless the caller says: with CUDA; MOODAXIS_DEVICE_TOP_K=0|1 overrides (benchmarks). */
function deviceTopKDefault(backend: ModelInfo['backend']): boolean {
  return envSwitch('MOODAXIS_DEVICE_TOP_K', backend === 'cuda');
}

/**
 * Whether the tail of a call moves sequences into lower ids (one graph evaluation per step): on GPU
 * backends, where an evaluation has a fixed cost; MOODAXIS_COMPACT_TAIL=0|1 overrides (tests, benchmarks).
 */
function compactTailDefault(backend: ModelInfo['backend']): boolean {
  return envSwitch('MOODAXIS_COMPACT_TAIL', backend !== 'cpu');
}

/**
 * What prefill planning weighs, in prompt tokens computed. On an H200 (8B Q4_K_M) a prompt token costs
 * 0.085 ms, a graph evaluation 11.3 ms more and a KV stream copy (a device copy and a wait per layer's K
 * and V) 1 ms; on a 2-core CPU (a tiny model) 0.033, 1.25 and 0.5 ms (fitted over the prefill decodes of
 * the benchmark's workload, BENCHMARKS.md). MOODAXIS_PREFILL_COSTS=EVAL,COPY overrides (bench/prefill-plan.mjs
 * replays a GPU's plan on the CPU).
 */
function prefillCosts(backend: ModelInfo['backend']): { evalCostTokens: number; copyCostTokens: number } {
  const env = (process.env.MOODAXIS_PREFILL_COSTS ?? '').split(',').map(Number);
  if (env.length === 2 && env.every((v) => Number.isInteger(v) && v >= 0)) return { evalCostTokens: env[0]!, copyCostTokens: env[1]! };
  return backend === 'cpu' ? { evalCostTokens: 32, copyCostTokens: 16 } : { evalCostTokens: 128, copyCostTokens: 12 };
}

/**
 * A decode's and a graph evaluation's most tokens (n_batch = n_ubatch). On GPU backends 1024: on an H200
 * (8B Q4_K_M) the benchmark workload's prefill took 1.48–1.51 s at 1024 against 1.54–1.72 s at 512 (fewer
 * evaluations, each faster per token: PP 11.5k tok/s at 2048 against 10.1k at 512), and 2048 and 4096 fed
 * more tokens again to fill their batches evenly (BENCHMARKS.md). On the CPU 512. MOODAXIS_BATCH_TOKENS
 * overrides (benchmarks).
 */
export function batchTokensDefault(backend: ModelInfo['backend']): number {
  const env = Number(process.env.MOODAXIS_BATCH_TOKENS);
  if (Number.isInteger(env) && env > 0) return env;
  return backend === 'cpu' ? 512 : 1024;
}

/** Default capture layers and weights for a model with `layers` blocks. */
export function defaultCapture(layers: number): { layers: number[]; layerWeights: number[] } {
  const n = Math.min(CAPTURE_WEIGHTS.length, layers);
  return {
    layers: Array.from({ length: n }, (_, i) => layers - n + i),
    layerWeights: CAPTURE_WEIGHTS.slice(CAPTURE_WEIGHTS.length - n),
  };
}


function checkNumber(name: string, value: number, min: number, max: number, integer = false) {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value)))
    throw badInput(`${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got ${value}`);
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

/**
 * Why a model of `bytes` cannot be loaded onto a GPU with `free` bytes of free memory (weights plus a
 * margin for the KV cache and compute buffers), or null when it fits.
 */
export function gpuFitProblem(path: string, bytes: number, device: string, free: number): string | null {
  if (!(free > 0) || bytes <= free * 0.9) return null;
  return `${basename(path)}: the model's weights take ${gib(bytes)} GiB but ${device} has ${gib(free)} GiB free: it does not fit in GPU memory. Run it on the CPU (--gpu cpu, or gpu: 'cpu'), use a smaller quantization of the model, or free GPU memory`;
}

export async function validateFile(path: string): Promise<GgufInfo> {
  let st;
  try {
    st = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw badInput(`${path}: no such file`);
    throw badInput(`${path}: cannot read (${code ?? (error as Error).message})`);
  }
  if (st.isDirectory()) throw badInput(`${path}: is a directory, expected a .gguf model file`);
  const info = await readGgufHeader(path);
  validateForLlama(info, path);
  return info;
}

export async function loadModel(path: string, options: LoadOptions = {}): Promise<Model> {
  const gpu = options.gpu ?? ENGINE_DEFAULTS.gpu;
  if (!['auto', 'cuda', 'cpu'].includes(gpu)) throw badInput(`gpu must be auto, cuda or cpu, got ${String(gpu)}`);
  if (options.contextSize !== undefined) checkNumber('contextSize', options.contextSize, 8, 1 << 20, true);
  if (options.threads !== undefined) checkNumber('threads', options.threads, 1, 1024, true);
  checkPlacement(options);
  if (wantsChildProcesses(options)) {
    await validateFile(path);
    const { loadInChildProcesses } = await import('./replica.js');
    return loadInChildProcesses(path, options, loadVocabulary);
  }
  return loadInProcess(path, options, false);
}

/**
 * The model's vocabulary and metadata only (no weights, no GPU): tokenize, detokenize and renderPrompt
 * work, generate refuses. What a parent process keeps of a model that runs in child processes.
 */
export function loadVocabulary(path: string, options: Pick<LoadOptions, 'templateBudget' | 'onWarning'> = {}): Promise<Model> {
  return loadInProcess(path, { ...options, gpu: 'cpu' }, true);
}

async function loadInProcess(path: string, options: LoadOptions, vocabOnly: boolean): Promise<Model> {
  const gpu = options.gpu ?? ENGINE_DEFAULTS.gpu;
  const budget = templateBudget(options.templateBudget);
  const gguf = await validateFile(path);
  // The template worker starts while llama.cpp loads the weights: the first generate finds it ready.
  if (gguf.chatTemplate && !vocabOnly) warmTemplateWorker(budget);
  const { addon } = await nativeAddon();
  // RPC servers: the backend loaded (built at first use) and every server answering before llama.cpp
  // connects, since its client aborts the process on a connection that fails
  const rpc = options.rpc !== undefined && !vocabOnly ? parseRpcServers(options.rpc) : null;
  if (rpc) {
    await ensureRpcBackend();
    await checkRpcServers(rpc);
  }
  let device: string | null = null;
  let split: SplitInfo | undefined;
  if (gpu !== 'cpu') {
    const cuda = await ensureCuda();
    let free = 0;
    if (cuda.ok) ({ device, split, free } = gpusOfModel(cuda.devices, options));
    else if (gpu === 'cuda') throw new MoodaxisError('RESOURCE', `CUDA was asked for but is not usable: ${cuda.reason}. Use --gpu cpu, or see \`moodaxis doctor\`.`);
    // a machine with an NVIDIA driver where no CUDA backend works: say so once, then run on the CPU
    else if (cuda.selection?.message) (options.onWarning ?? ((m: string) => process.stderr.write(`moodaxis: warning: ${m}\n`)))(cuda.selection.message);
    // (with RPC servers most layers go to them: the local GPU's memory alone says nothing)
    const problem = device && !rpc ? gpuFitProblem(path, gguf.fileSize, device, free) : null;
    if (problem && gpu === 'cuda') throw new MoodaxisError('RESOURCE', problem);
    if (problem) {
      options.onWarning?.(`${problem}; loading it on the CPU instead (gpu: 'auto')`);
      device = null;
      split = undefined;
    }
  }
  let native: NativeModel;
  try {
    native = await addon.Model.load(path, {
      gpuLayers: device || rpc ? -1 : 0,
      useMmap: true,
      ...(rpc ? { rpc, localGpus: device !== null } : {}),
      ...(vocabOnly ? { vocabOnly } : {}),
      ...(device && options.splitMode ? { splitMode: splitModeValue[options.splitMode] } : {}),
      ...(device && options.mainGpu !== undefined ? { mainGpu: options.mainGpu } : {}),
      ...(device && options.tensorSplit ? { tensorSplit: Float32Array.from(options.tensorSplit) } : {}),
    });
  } catch (error) {
    const message = (error as Error).message;
    // The addon says RESOURCE when llama.cpp could not allocate the model's buffers; any other failure is the file's.
    if (nativeErrorCode(error) !== 'RESOURCE') throw new MoodaxisError('BAD_INPUT', `${path}: ${message}`, { cause: error });
    if (device)
      throw new MoodaxisError('RESOURCE', `${path}: ${message}: the model does not fit in the memory of ${device}. Run it on the CPU (--gpu cpu, or gpu: 'cpu'), use a smaller quantization, or free GPU memory`, { cause: error });
    throw new MoodaxisError('RESOURCE', `${path}: ${message}`, { cause: error });
  }
  let raw: ReturnType<NativeModel['info']>;
  let eosText: string;
  let identity: string;
  try {
    raw = native.info();
    eosText = raw.eos >= 0 ? native.detokenize(Int32Array.of(raw.eos), true) : '';
    identity = vocabOnly ? '' : await modelIdentity(path, gguf);
  } catch (error) {
    native.dispose();
    if (error instanceof MoodaxisError) throw error;
    throw new MoodaxisError('BAD_INPUT', `${path}: ${(error as Error).message}`, { cause: error });
  }
  const info: ModelInfo = {
    architecture: raw.architecture,
    layers: raw.layers,
    hiddenSize: raw.hiddenSize,
    // general.name is often missing or just the architecture ("llama"): the file name says more then.
    name: raw.name && raw.name !== raw.architecture ? raw.name : basename(path).replace(/\.gguf$/i, ''),
    chatTemplate: raw.chatTemplate,
    backend: device ? 'cuda' : 'cpu',
    device,
    ...(split ? { split } : {}),
    ...(rpc ? { rpc } : {}),
    path,
    identity,
    vocabSize: raw.vocabSize,
    contextTrain: raw.contextTrain,
    sizeBytes: raw.sizeBytes,
  };
  // One core is left free: llama.cpp's thread barriers spin, and a thread descheduled by any other busy
  // process stalls every step (measured on 2 cores beside one busy process: 2 threads 45 tok/s, 1 thread 3,491).
  const threads = options.threads ?? Math.max(1, availableParallelism() - 1);
  const model = new LoadedModel(native, info, { bosText: raw.bosText, eosText }, options.contextSize ?? Math.max(raw.contextTrain, ENGINE_DEFAULTS.minContextSize), threads, budget, options.onWarning, vocabOnly);
  model.kvBytesPerToken = kvBytesPerToken(gguf);
  return model;
}

class LoadedModel implements Model {
  private context: NativeContext | null = null;
  private closing: Promise<void> | null = null;
  private parallelUsed = { parallel: 0, requestedParallel: 0 };
  private warnedNoTemplate = false;
  /** F16 KV bytes per token, for the default parallelism on a GPU (null: unknown). */
  kvBytesPerToken: number | null = null;

  constructor(
    private native: NativeModel,
    readonly info: ModelInfo,
    private templateTokens: { bosText: string; eosText: string },
    private contextLimit: number,
    private threads: number,
    private templateBudget: TemplateBudget,
    private onWarning?: (message: string) => void,
    private vocabOnly = false,
  ) {}

  get disposed(): boolean {
    return this.closing !== null;
  }

  private async ctx(): Promise<NativeContext> {
    if (this.closing) throw new MoodaxisError('CANCELLED', `${this.info.path}: the model has been disposed`);
    if (this.vocabOnly) throw new MoodaxisError('INTERNAL', `${this.info.path}: only the vocabulary was loaded (loadVocabulary): it cannot generate`);
    if (!this.context) {
      const { addon } = await nativeAddon();
      // Calls that arrived together all waited above: one context (one owner thread) for all of them,
      // and none once the model was disposed meanwhile.
      if (this.closing) throw new MoodaxisError('CANCELLED', `${this.info.path}: the model has been disposed`);
      this.context ??= new addon.Context(this.native, { threads: this.threads });
    }
    return this.context;
  }

  /** defaultParallel, lowered on a GPU until the KV cache of that many of these requests fits in half its free memory. */
  private async defaultParallelFor(requests: NativeRequest[], f32Cache: boolean): Promise<number> {
    const ceiling = defaultParallel(this.info.backend);
    if (this.info.backend !== 'cuda' || !this.kvBytesPerToken) return ceiling;
    const { addon } = await nativeAddon();
    const gpu = addon.systemInfo().devices.find((d) => d.type === 'gpu' || d.type === 'igpu');
    if (!gpu) return ceiling;
    // a prompt's UTF-8 bytes bound its token count from above
    const longest = Math.max(...requests.map((r) => (r.tokens ? r.tokens.length : Buffer.byteLength(r.text)) + (r.forced ? r.forced.length : r.maxTokens)));
    return fittingParallel(ceiling, this.kvBytesPerToken * (f32Cache ? 2 : 1), longest, gpu.memoryFree);
  }

  private thinkClose: number | null | undefined;

  /** The id of the single `</think>` token of the vocabulary, or null when it has none. */
  private thinkCloseToken(): number | null {
    if (this.thinkClose === undefined) {
      const ids = this.nativeTokenize('</think>', false, true);
      this.thinkClose = ids.length === 1 ? ids[0]! : null;
    }
    return this.thinkClose;
  }

  async renderPrompt(messages: ChatMessage[], templateKwargs: TemplateKwargs = {}): Promise<RenderedPrompt> {
    return (await this.renderPrompts([messages], templateKwargs))[0]!;
  }

  /** Renders conversations (all in one template-worker call). */
  private async renderPrompts(conversations: ChatMessage[][], templateKwargs: TemplateKwargs = {}): Promise<RenderedPrompt[]> {
    try {
      return await renderChats(this.info.chatTemplate, conversations, this.templateTokens, this.templateBudget, templateKwargs);
    } catch (error) {
      // Name the model: its template (a damaged one included) is what failed.
      if (error instanceof MoodaxisError) throw new MoodaxisError(error.code, `${basename(this.info.path)}: ${error.message}`, { cause: error });
      throw error;
    }
  }

  tokenize(text: string, options: { addSpecial?: boolean; parseSpecial?: boolean } = {}): Int32Array {
    if (this.closing) throw new MoodaxisError('CANCELLED', `${this.info.path}: the model has been disposed`);
    return this.nativeTokenize(text, options.addSpecial ?? true, options.parseSpecial ?? false);
  }

  detokenize(ids: Int32Array | readonly number[], options: { special?: boolean } = {}): string {
    if (this.closing) throw new MoodaxisError('CANCELLED', `${this.info.path}: the model has been disposed`);
    if (!(ids instanceof Int32Array) && !Array.isArray(ids)) throw badInput('detokenize(ids): expected an Int32Array or an array of token ids');
    const tokens = Int32Array.from(ids);
    tokens.forEach((t, i) => {
      if (t !== ids[i] || t < 0 || t >= this.info.vocabSize) throw badInput(`detokenize(ids): ids[${i}] = ${String(ids[i])} is not a token id of ${basename(this.info.path)} (0 … ${this.info.vocabSize - 1})`);
    });
    try {
      return this.native.detokenize(tokens, options.special ?? false);
    } catch (error) {
      throw new MoodaxisError('BAD_INPUT', `${basename(this.info.path)}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The native tokenizer; its failures (a damaged vocabulary) are bad input naming the model. */
  private nativeTokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array {
    try {
      return this.native.tokenize(text, addSpecial, parseSpecial);
    } catch (error) {
      throw new MoodaxisError('BAD_INPUT', `${basename(this.info.path)}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The request's messages (checked), or null for a plain-prompt or token request. */
  private messagesOf(req: GenerateRequest, index: number): ChatMessage[] | null {
    if (!req || typeof req !== 'object' || !('messages' in req) || !Array.isArray(req.messages)) return null;
    for (const [j, m] of req.messages.entries()) {
      if (!m || !['system', 'user', 'assistant'].includes(m.role) || typeof m.content !== 'string')
        throw badInput(`requests[${index}].messages[${j}]: expected { role: 'system'|'user'|'assistant', content: string }`);
    }
    return req.messages;
  }

  private toNative(req: GenerateRequest, index: number, runSeed: number, maxTokens: number, chat: RenderedPrompt | undefined): NativeRequest {
    let rendered: RenderedPrompt;
    let given: Int32Array | undefined;
    if (chat) {
      rendered = chat;
    } else if ('prompt' in req && typeof req.prompt === 'string') {
      rendered = { text: req.prompt, addSpecial: true, parseSpecial: false, startInThink: false, system: 'none' };
    } else if ('tokens' in req && (req.tokens instanceof Int32Array || Array.isArray(req.tokens))) {
      const ids = Int32Array.from(req.tokens);
      if (ids.length === 0 || ids.some((t, j) => t !== (req.tokens as ArrayLike<number>)[j]))
        throw badInput(`requests[${index}].tokens: expected a non-empty array of integer token ids`);
      rendered = { text: '', addSpecial: false, parseSpecial: false, startInThink: false, system: 'none' };
      given = ids;
    } else {
      throw badInput(`requests[${index}]: expected { messages: [...] }, { prompt: string } or { tokens: number[] }`);
    }
    const limit = req.maxTokens ?? maxTokens;
    checkNumber(`requests[${index}].maxTokens`, limit, 1, 1 << 20, true);
    const out: NativeRequest = {
      text: rendered.text,
      addSpecial: rendered.addSpecial,
      parseSpecial: rendered.parseSpecial,
      maxTokens: limit,
      seed: req.seed ?? deriveSeed(runSeed, index),
      startInThink: rendered.startInThink,
      ...(given ? { tokens: given } : {}),
    };
    if (req.response !== undefined) {
      const forced = typeof req.response === 'string' ? this.nativeTokenize(req.response, false, false) : req.response;
      if (!(forced instanceof Int32Array) || forced.length === 0) throw badInput(`requests[${index}].response: expected a non-empty string or token ids`);
      out.forced = forced;
    }
    return out;
  }

  async generate(requests: GenerateRequest[], options: GenerateOptions = {}): Promise<GenerateResult[]> {
    if (!Array.isArray(requests)) throw badInput('generate(requests): requests must be an array');
    const temperature = options.temperature ?? RUN_DEFAULTS.temperature;
    const topK = options.topK ?? RUN_DEFAULTS.topK;
    const topP = options.topP ?? RUN_DEFAULTS.topP;
    const maxTokens = options.maxTokens ?? RUN_DEFAULTS.maxTokens;
    const seed = options.seed ?? RUN_DEFAULTS.seed;
    checkNumber('temperature', temperature, 0, 100);
    checkNumber('topK', topK, 0, 1 << 20, true);
    checkNumber('topP', topP, 0, 1);
    checkNumber('seed', seed, 0, 2 ** 32 - 1, true);
    if (options.parallel !== undefined) checkNumber('parallel', options.parallel, 1, 1024, true);
    // Every chat request's prompt in one template-worker call.
    const conversations = requests.map((r, i) => this.messagesOf(r, i));
    const chatIndex = conversations.flatMap((m, i) => (m ? [i] : []));
    const prompts = await this.renderPrompts(chatIndex.map((i) => conversations[i]!), options.templateKwargs);
    const chats = new Map(chatIndex.map((i, k) => [i, prompts[k]!]));
    const nativeRequests = requests.map((r, i) => this.toNative(r, i, seed, maxTokens, chats.get(i)));
    const parallel = options.parallel ?? (await this.defaultParallelFor(nativeRequests, options.deterministic ?? false));
    if (!this.info.chatTemplate && !this.warnedNoTemplate && requests.some((r) => 'messages' in r)) {
      // Said once per model: the messages are still answered, as plain text.
      this.warnedNoTemplate = true;
      (options.onWarning ?? this.onWarning)?.(
        `${basename(this.info.path)} has no chat template: { messages } are sent as plain text (their contents joined by blank lines, roles dropped)`,
      );
    }
    const allowed = options.allowedTokens;
    if (allowed !== undefined) {
      if (allowed.length === 0) throw badInput('allowedTokens: give at least one token id');
      for (const id of allowed) checkNumber('allowedTokens', id, 0, this.info.vocabSize - 1, true);
      if (options.backendSampling) throw badInput('allowedTokens needs host sampling (backendSampling off)');
    }
    if (options.thinkBudget !== undefined) checkNumber('thinkBudget', options.thinkBudget, 0, 1 << 20, true);

    let capture: NativeGenerateOptions['capture'] = null;
    if (options.capture !== false) {
      const c = options.capture ?? {};
      const defaults = defaultCapture(this.info.layers);
      const layers = c.layers ?? defaults.layers;
      const weights = c.layerWeights ?? (c.layers ? defaultCapture(layers.length).layerWeights : defaults.layerWeights);
      if (layers.length !== weights.length) throw badInput(`capture.layerWeights has ${weights.length} weights for ${layers.length} layers`);
      for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= this.info.layers) throw badInput(`capture layer ${l} does not exist: the model has layers 0..${this.info.layers - 1}`);
      const tokenDecay = c.tokenDecay ?? RUN_DEFAULTS.tokenDecay;
      checkNumber('capture.tokenDecay', tokenDecay, 0, 1);
      const compat = c.compat === 'mood-axis';
      const deepest = Math.max(...layers);
      capture = {
        layers: layers.map((block, i) => ({ block, weight: weights[i], finalNorm: compat && block === this.info.layers - 1 && block === deepest })),
        tokenDecay,
        compat,
      };
    }
    const cv = options.controlVector;
    if (cv) {
      const expected = (this.info.layers - 1) * this.info.hiddenSize;
      if (!(cv.data instanceof Float32Array) || cv.data.length !== expected)
        throw badInput(`controlVector.data must be a Float32Array of (layers−1)×hiddenSize = ${expected} floats`);
      if (!(cv.layerStart >= 1 && cv.layerEnd >= cv.layerStart && cv.layerEnd < this.info.layers))
        throw badInput(`controlVector layers must satisfy 1 ≤ start ≤ end ≤ ${this.info.layers - 1}`);
    }
    const ctx = await this.ctx();
    // The default `parallel` steps down (halves, with a warning) while its context cannot be created
    // (memory); a `parallel` the caller chose is kept, and the error says what to lower.
    let used = Math.max(1, Math.min(parallel, nativeRequests.length));
    this.parallelUsed = { parallel: used, requestedParallel: parallel };
    const warn = options.onWarning ?? this.onWarning;
    for (;;) {
      try {
        return await this.generateOnce(ctx, nativeRequests, options, { temperature, topK, topP, parallel: used, capture, cv });
      } catch (error) {
        // RESOURCE: the context for `used` sequences could not be created, or its KV cache ran full.
        if (errorCode(error) !== 'RESOURCE') throw error;
        const message = (error as Error).message;
        if (used <= 1) throw new MoodaxisError('RESOURCE', `${message}; even one sequence does not fit: lower \`maxTokens\` (or \`contextSize\`), or shorten the prompts`, { cause: error });
        if (options.parallel !== undefined || this.closing) throw new MoodaxisError('RESOURCE', `${message}; lower \`parallel\` or \`maxTokens\``, { cause: error });
        const lower = Math.ceil(used / 2);
        warn?.(`${message}; retrying with parallel ${lower}`);
        used = lower;
        this.parallelUsed = { parallel: used, requestedParallel: parallel };
      }
    }
  }

  private async generateOnce(
    ctx: NativeContext,
    nativeRequests: NativeRequest[],
    options: GenerateOptions,
    s: { temperature: number; topK: number; topP: number; parallel: number; capture: NativeGenerateOptions['capture']; cv: ControlVectorInput | null | undefined },
  ): Promise<GenerateResult[]> {
    const { temperature, topK, topP, parallel, capture, cv } = s;
    const { onProgress, onResult, onText } = options;
    const thinkClose = options.thinkBudget !== undefined ? this.thinkCloseToken() : null;
    const convert = (r: NativeResult): GenerateResult => ({
      text: r.text,
      tokens: r.tokens,
      stopReason: r.eos ? 'eos' : 'length',
      vector: capture ? r.vector : new Float32Array(0),
      layerNorms: r.norms,
      promptTokens: r.promptTokens,
      capturedTokens: r.capturedTokens,
      tokenIds: r.ids,
      thinkTokens: r.thinkTokens,
      thinkCut: r.thinkCut,
    });
    let results: NativeResult[];
    try {
      const budgeted = options.thinkBudget !== undefined && thinkClose !== null;
      results = await ctx.generate(
        nativeRequests,
        {
          temperature, topK, topP, parallel,
          ignoreEos: options.ignoreEos ?? false,
          ...(options.allowedTokens ? { allowedTokens: Int32Array.from(options.allowedTokens) } : {}),
          thinkBudget: budgeted ? options.thinkBudget! : -1,
          thinkClose: budgeted ? thinkClose : -1,
          contextLimit: this.contextLimit,
          flashAttn: this.info.backend === 'cuda' && !options.deterministic,
          f32Cache: options.deterministic ?? false,
          backendSampling: options.backendSampling ?? false,
          // only a plain top-k draw over the whole vocabulary can take its candidates from the device
          deviceTopK: (options.deviceTopK ?? deviceTopKDefault(this.info.backend)) && topK > 0 && !options.allowedTokens && !options.backendSampling,
          solo: (options.deterministic ?? false) && this.info.backend !== 'cpu',
          compactTail: compactTailDefault(this.info.backend),
          ...prefillCosts(this.info.backend),
          batchTokens: batchTokensDefault(this.info.backend),
          capture,
          stream: onText !== undefined,
          reuseCache: options.reuseCache ?? false,
          ...(cv ? { controlVector: cv.data, cvecStart: cv.layerStart, cvecEnd: cv.layerEnd } : {}),
        },
        onProgress || onResult || onText
          ? (done, total, tokens, finished, partial) => {
              if (onText) for (const p of partial) onText(p.index, p.text);
              // a non-finite state is not handed on (nor journaled): generate rejects below
              if (onResult) for (const r of finished) if (!capture || allFinite(r.vector)) onResult(r.index, convert(r));
              onProgress?.({ done, total, tokens });
            }
          : undefined,
      );
    } catch (error) {
      throw translateNativeError(error, this.info.path);
    }
    const bad = capture ? results.findIndex((r) => !allFinite(r.vector)) : -1;
    if (bad >= 0)
      throw new MoodaxisError('BAD_INPUT', `${basename(this.info.path)}: request ${bad}: the model's hidden states are not finite (NaN or infinity): its weights or hyperparameters are damaged, or it overflows`);
    return results.map(convert);
  }

  lastGenerateStats(): (NativeGenerateStats & { parallel: number; requestedParallel: number }) | null {
    return this.context ? { ...this.context.stats(), ...this.parallelUsed } : null;
  }

  async hiddenStates(tokens: Int32Array, layers: number[]): Promise<Float32Array[]> {
    const ctx = await this.ctx();
    try {
      return await ctx.forward(tokens, layers);
    } catch (error) {
      throw translateNativeError(error, this.info.path);
    }
  }

  dispose(): Promise<void> {
    if (!this.closing) {
      const ctx = this.context;
      this.context = null;
      this.closing = (async () => {
        if (ctx) await ctx.dispose();
        this.native.dispose();
      })();
    }
    return this.closing;
  }
}

function allFinite(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

/** An error of the addon, with the code it gave, naming the model. */
function translateNativeError(error: unknown, path: string): MoodaxisError {
  const message = (error as Error)?.message ?? String(error);
  const code = nativeErrorCode(error);
  return new MoodaxisError(code, `${basename(path)}: ${message}`, code === 'NATIVE' ? { cause: error } : undefined);
}
