/**
 * The engine's public types (load options, model info, generate requests, options and results, the Model
 * interface) and the per-request seed: shared by the in-process model (model.ts) and the models that run
 * in child processes (isolate.ts, replica.ts), which model.ts loads.
 */
import type { NativeGenerateStats } from './binding.js';
import type { ChatMessage, RenderedPrompt, TemplateKwargs } from './chat.js';
import type { PlacementOptions, SplitInfo } from './placement.js';
import type { TemplateBudget } from './template-sandbox.js';

export type GpuChoice = 'auto' | 'cuda' | 'cpu';

/** `isolate`, `gpus`, `replicas`, `splitMode`, `tensorSplit`, `mainGpu`, `rpc`: see lib/engine/placement.ts. */
export interface LoadOptions extends PlacementOptions {
  gpu?: GpuChoice;
  /**
   * Largest context per sequence (prompt + generated tokens); default: the model's training context,
   * at least 4096 (llama.cpp runs past a short training context with a warning, as tiny models need).
   */
  contextSize?: number;
  threads?: number;
  /**
   * Warnings about automatic step-downs: `gpu: 'auto'` loading on the CPU because the model does not fit
   * in GPU memory, and generate lowering `parallel` because the context for it cannot be created.
   */
  onWarning?: (message: string) => void;
  /**
   * Limits of the model's chat template, which is code from the model file: it renders in a worker
   * thread and is refused (BAD_INPUT) past them. Default: 5000 ms per rendering call plus 5 ms per
   * prompt (`ms` from $MOODAXIS_TEMPLATE_BUDGET_MS when set), 256 MB of heap, and twice the messages'
   * text plus 65,536 characters per prompt.
   */
  templateBudget?: Partial<TemplateBudget>;
}

export interface ModelInfo {
  architecture: string;
  layers: number;
  hiddenSize: number;
  name: string;
  chatTemplate: string | null;
  backend: 'cpu' | 'cuda';
  /** GPU name when backend is cuda ("2 × NVIDIA H200" when llama.cpp spreads it over two). */
  device: string | null;
  /** llama.cpp's split, when the model spans several GPUs. */
  split?: SplitInfo;
  /** The RPC servers whose devices hold layers of the model (`rpc` load option), when any. */
  rpc?: string[];
  /** Replicas that share the model's generate calls (data parallel), when more than one. */
  replicas?: number;
  path: string;
  /** Cheap content hash of the GGUF (see gguf.ts). */
  identity: string;
  vocabSize: number;
  contextTrain: number;
  sizeBytes: number;
}

export type GenerateRequest = ({ messages: ChatMessage[] } | { prompt: string } | { tokens: Int32Array | number[] }) & {
  /** Per-request seed; default: derived from the run seed and the request's index. */
  seed?: number;
  /** Per-request limit; default: options.maxTokens. */
  maxTokens?: number;
  /** Teacher forcing: feed this response (text, or token ids) instead of generating one. */
  response?: string | Int32Array;
};

export interface CaptureOptions {
  /** Block indices; default: the last four. */
  layers?: number[];
  tokenDecay?: number;
  /** Weights of the layers, shallowest first; default [.1, .2, .3, .4]. */
  layerWeights?: number[];
  /** Reproduce the reference code's positions and its post-norm deepest layer. */
  compat?: 'mood-axis';
}

export interface ControlVectorInput {
  /** (layers − 1) × hiddenSize floats, layer 1 first (layer 0 cannot be steered). */
  data: Float32Array;
  layerStart: number;
  layerEnd: number;
}

export interface GenerateOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  maxTokens?: number;
  seed?: number;
  parallel?: number;
  /** Generate exactly maxTokens tokens, ignoring end of generation (benchmarks). */
  ignoreEos?: boolean;
  /**
   * Choose every generated token only among these ids (e.g. a judge's "1".."5", so that each answer
   * parses); the sampler above runs over them alone. Host sampling only (not with backendSampling).
   */
  allowedTokens?: Int32Array | number[];
  /** Extra variables for the chat template of `messages` requests, e.g. `{ enable_thinking: false }`. */
  templateKwargs?: TemplateKwargs;
  /**
   * At most this many tokens in `<think>` blocks per answer; then `</think>` is forced and the answer
   * begins, and `maxTokens` counts the visible answer's tokens only. Only for a vocabulary with a single
   * `</think>` token (ignored otherwise). Default: no budget, maxTokens counts every token.
   */
  thinkBudget?: number;
  /**
   * Results independent of batch layout and close across backends: flash attention off, an F32 KV cache,
   * and on a GPU each sequence decoded alone one token at a time (there the matrix kernels, and their
   * TF32 use for F32 weights, change with the batch size). Slow on a GPU: for checks, not throughput.
   */
  deterministic?: boolean;
  /**
   * Sample inside the graph with llama.cpp's backend sampling instead of on the host (same arithmetic;
   * measured slower here: one small op chain per sequence). Default off.
   */
  backendSampling?: boolean;
  /**
   * Choose each row's top-k candidates inside the decode graph (one batched op over the logits matrix)
   * so that only rows x k logits cross to the host, which then draws as over the full row. Default: on
   * with CUDA, off on the CPU (there the logits are already in host memory). Set aside (the host samples) when topK is 0,
   * with allowedTokens or with backendSampling.
   */
  deviceTopK?: boolean;
  /**
   * Keep every sequence's KV cache after the call, and let a request whose prompt begins with what a kept
   * sequence holds (its prompt and answer from an earlier call) start from there instead of prefilling it:
   * the turns of a conversation reuse the shared history. The same positions are captured and the results
   * are those of a call without it up to float rounding: the history's keys and values were computed one
   * token per step rather than in one prefill, which CPU kernels round differently (vectors within ~1e-6 in
   * deterministic mode, as for requests batched differently). `lastGenerateStats().sharedTokens` counts
   * the tokens taken from the cache. The model's context then holds up to one sequence per request (at most
   * `parallel` are decoded at once), evicting the least recently used. Ignored in deterministic mode on a
   * GPU and for models whose cache cannot be cut at a position (recurrent, sliding window). Default off.
   */
  reuseCache?: boolean;
  onProgress?: (progress: { done: number; total: number; tokens: number }) => void;
  /** Called as each request finishes (before generate resolves), e.g. to journal it. */
  onResult?: (index: number, result: GenerateResult) => void;
  /** Streaming: called about every 100 ms with the text so far of each request still generating. */
  onText?: (index: number, textSoFar: string) => void;
  /**
   * Called when `parallel` is lowered because its context cannot be created, and once per model when
   * `{ messages }` go to a model without a chat template (sent as plain text). Default: the model's onWarning.
   */
  onWarning?: (message: string) => void;
  capture?: CaptureOptions | false;
  controlVector?: ControlVectorInput | null;
}

export interface GenerateResult {
  text: string;
  tokens: number;
  stopReason: 'eos' | 'length';
  /** hiddenSize floats; empty when capture is off. */
  vector: Float32Array;
  /** Mean hidden-state norm per captured layer over the captured positions. */
  layerNorms: Float32Array;
  promptTokens: number;
  capturedTokens: number;
  /** The generated token ids (the stop token excluded). */
  tokenIds: Int32Array;
  /** Generated tokens inside (or marking) `<think>` blocks; they are never captured. */
  thinkTokens: number;
  /** The think budget ran out and `</think>` was forced. */
  thinkCut: boolean;
}

export interface Model {
  readonly info: ModelInfo;
  generate(requests: GenerateRequest[], options?: GenerateOptions): Promise<GenerateResult[]>;
  /** Renders a request's prompt the way generate does. */
  renderPrompt(messages: ChatMessage[], templateKwargs?: TemplateKwargs): Promise<RenderedPrompt>;
  tokenize(text: string, options?: { addSpecial?: boolean; parseSpecial?: boolean }): Int32Array;
  /**
   * The text of token ids (e.g. a result's `tokenIds`), the pieces joined as generate joins them.
   * `special: true` also writes control tokens (BOS, EOS, template markers) as text; default false.
   */
  detokenize(ids: Int32Array | readonly number[], options?: { special?: boolean }): string;
  /** Hidden states of one token sequence, all positions, for the given blocks: [layer][token*hiddenSize]. */
  hiddenStates(tokens: Int32Array, layers: number[]): Promise<Float32Array[]>;
  /**
   * Timing of the last generate call (prompt prefill and one-token-per-sequence steps), with the
   * `parallel` it asked for and the one it ran with (lower when it had to step down).
   */
  lastGenerateStats(): (NativeGenerateStats & { parallel: number; requestedParallel: number }) | null;
  dispose(): Promise<void>;
  readonly disposed: boolean;
}

/** Seed of request i in a run: a 32-bit mix of the run seed and the index (or a caller's key). */
export function deriveSeed(runSeed: number, key: number | string): number {
  const text = `${runSeed}:${key}`;
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  h ^= h >>> 13;
  h = Math.imul(h, 0x5bd1e995);
  h ^= h >>> 15;
  return h >>> 0;
}
