/**
 * The typed native binding: finds the compiled addon (source build first, then the prebuilt-library
 * build), builds it on first use when npm held back our install script, initialises the CPU backends and,
 * when asked, the CUDA backend plugin.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildFailure, runBuildScript } from './build-script.js';
import { MoodaxisError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { selectCudaBackend, type GpuSelection } from './gpu-backends.js';
import { packageRoot } from './package-root.js';

export interface NativeDevice { name: string; description: string; type: 'cpu' | 'gpu' | 'igpu' | 'accel'; memoryFree: number; memoryTotal: number }
export interface NativeSystemInfo {
  dynamicBackends: boolean;
  libDir: string;
  backends: string[];
  devices: NativeDevice[];
  failedBackends: string[];
  features: string;
  gpuOffload: boolean;
}
export interface NativeModelInfo {
  architecture: string; name: string; layers: number; hiddenSize: number; contextTrain: number; vocabSize: number;
  sizeBytes: number; parameters: number; description: string; chatTemplate: string | null;
  bos: number; eos: number; addBos: boolean; bosText: string;
}
export interface NativeModel {
  info(): NativeModelInfo;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(tokens: Int32Array, special: boolean): string;
  meta(key: string): string | null;
  dispose(): void;
}
/**
 * What the native side is given. It holds no defaults: every field is required (a missing or mistyped one
 * rejects with code BAD_INPUT); the optional ones are absent when there is nothing to give.
 */
export interface NativeRequest {
  text: string; addSpecial: boolean; parseSpecial: boolean; maxTokens: number; seed: number; startInThink: boolean;
  /** The prompt as token ids (`text` unused), and teacher forcing: score these tokens instead of sampling. */
  tokens?: Int32Array; forced?: Int32Array;
}
export interface NativeCaptureLayer { block: number; finalNorm: boolean; weight: number }
export interface NativeGenerateOptions {
  temperature: number; topK: number; topP: number; ignoreEos: boolean;
  /** At most this many tokens in think blocks, then `thinkClose` is forced; −1 for either: no budget. */
  thinkBudget: number; thinkClose: number;
  parallel: number;
  /** Per-sequence context cap (0: the model's training context). */
  contextLimit: number;
  flashAttn: boolean; f32Cache: boolean; backendSampling: boolean; deviceTopK: boolean; compactTail: boolean; solo: boolean; stream: boolean;
  /** Prefill planning's costs, in prompt tokens computed: a graph evaluation's fixed part, and a KV stream copy. */
  evalCostTokens: number; copyCostTokens: number;
  /** A decode's and a graph evaluation's most tokens (n_batch = n_ubatch; raised to the sequences of a step). */
  batchTokens: number;
  /** Keep the sequences' KV cache after the call; start prompts from what an earlier call left (GenerateOptions.reuseCache). */
  reuseCache: boolean;
  /** null: nothing captured. */
  capture: { layers: NativeCaptureLayer[]; tokenDecay: number; compat: boolean } | null;
  allowedTokens?: Int32Array;
  controlVector?: Float32Array; cvecStart?: number; cvecEnd?: number;
}
export interface NativeResult {
  text: string; tokens: number; eos: boolean; promptTokens: number; capturedTokens: number; thinkTokens: number; thinkCut: boolean;
  vector: Float32Array; norms: Float32Array; ids: Int32Array;
}
export interface NativeGenerateStats {
  prefillMs: number; stepMs: number; steps: number; prefillTokens: number; stepTokens: number;
  /** Host time inside llama_decode, waiting for a decode's outputs, and choosing tokens (prefill and steps). */
  decodeMs: number; waitMs: number; sampleMs: number;
  /** Part of decodeMs spent reading and folding captured states. */
  captureMs: number;
  /**
   * Prompt tokens not prefilled because a sequence's cache held them already: a prefix shared with another
   * request, or (reuseCache) what an earlier call left. Included in prefillTokens.
   */
  sharedTokens: number;
  /**
   * The prompt tokens a prefill must compute at the least: the distinct prefixes of the call's prompts (each
   * prompt's last token counted). A property of the requests; what prefill computed is measured against it.
   */
  uniquePromptTokens: number;
  /** Prompt tokens the prefill decodes computed: those not shared, and shared ones fed again to fill a batch evenly. */
  computedPromptTokens: number;
  /**
   * Prefill decodes, and the graph evaluations (ubatches) llama.cpp splits the prefill and step decodes
   * into: with one KV stream per sequence a ubatch holds consecutive sequence ids with equal token counts.
   */
  prefillDecodes: number; prefillUbatches: number; stepUbatches: number;
  /** Sequences moved to a lower id in the tail of the call, so that a step stays one graph evaluation. */
  movedSequences: number;
  /**
   * Copies of one sequence's KV stream into another (llama.cpp copies the whole stream): a prompt prefix
   * shared from another sequence, or a sequence moved to a lower id in the tail.
   */
  streamCopies: number;
}
export interface NativeContext {
  generate(
    requests: NativeRequest[],
    options: NativeGenerateOptions,
    onProgress?: (done: number, total: number, tokens: number, finished: Array<NativeResult & { index: number }>, partial: Array<{ index: number; text: string }>) => void,
  ): Promise<NativeResult[]>;
  forward(tokens: Int32Array, layers: number[]): Promise<Float32Array[]>;
  stats(): NativeGenerateStats;
  dispose(): Promise<void>;
}
/** Model.load's options: splitMode 0 none, 1 layer, 2 row; tensorSplit one share per device; vocabOnly: no weights. */
export interface NativeLoadOptions {
  gpuLayers: number; useMmap: boolean; vocabOnly?: boolean; splitMode?: number; mainGpu?: number; tensorSplit?: Float32Array;
  /** RPC servers ("host:port", checked to answer first: the RPC client aborts on a failed connection) and whether local GPUs join them. */
  rpc?: string[]; localGpus?: boolean;
}
export interface NativeAddon {
  init(options: { libDir?: string; verbose?: boolean }): void;
  loadBackend(path: string): { ok: boolean; error?: string; name?: string; devices?: number };
  systemInfo(): NativeSystemInfo;
  /** Serves these devices (ggml names) with llama.cpp's RPC server until the process ends; settles only when the server gave up. */
  rpcServe(options: { endpoint: string; threads: number; devices: string[] }): Promise<{ errors: string }>;
  Model: { load(path: string, options: NativeLoadOptions): Promise<NativeModel> };
  Context: new (model: NativeModel, options: { threads: number }) => NativeContext;
}

/** The `code` the native side gives its errors (rejected promises and thrown errors). */
export type NativeErrorCode = 'BAD_INPUT' | 'RESOURCE' | 'CANCELLED' | 'NATIVE';

/** The code of an error from the addon: NATIVE when it carries none (an error of the addon itself). */
export function nativeErrorCode(error: unknown): NativeErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'BAD_INPUT' || code === 'RESOURCE' || code === 'CANCELLED' ? code : 'NATIVE';
}

export type BuildKind = 'source' | 'prebuilt';
export const addonLocations: Record<BuildKind, string> = {
  source: join(packageRoot, 'build-source', 'Release', 'moodaxis.node'),
  prebuilt: join(packageRoot, 'build', 'Release', 'moodaxis.node'),
};

export interface LoadedAddon {
  addon: NativeAddon;
  kind: BuildKind;
  path: string;
}

/** Which build to use: MOODAXIS_BUILD=source|prebuilt, else the source build when there is one. */
function chooseBuild(): BuildKind | null {
  const wanted = process.env.MOODAXIS_BUILD;
  if (wanted === 'source' || wanted === 'prebuilt') return existsSync(addonLocations[wanted]) ? wanted : null;
  if (existsSync(addonLocations.source)) return 'source';
  if (existsSync(addonLocations.prebuilt)) return 'prebuilt';
  return null;
}

/**
 * Runs the build script without blocking the event loop. Its progress and errors go to stderr (never
 * stdout, which may carry --json output); a failure's message repeats the compiler's error lines.
 */
async function buildAddon(): Promise<void> {
  process.stderr.write('moodaxis: the native addon is not built yet (npm may have held back its install script); building it now…\n');
  const run = await runBuildScript([], (chunk) => process.stderr.write(chunk));
  if (run.code !== 0) throw new MoodaxisError('NATIVE', `building the native addon failed: ${buildFailure(run)}\nAfter fixing it: cd ${packageRoot} && npm run build:addon`);
}

/** Held while a first use builds the addon, so that processes starting together build it once. */
export const firstUseBuildLock = join(packageRoot, 'build', '.first-use-build.lock');

async function loadAddon(): Promise<LoadedAddon> {
  let kind = chooseBuild();
  if (!kind) {
    await withFileLock(
      firstUseBuildLock,
      async () => {
        // another process may have built it while this one waited
        if (!chooseBuild()) await buildAddon();
      },
      { onWait: () => process.stderr.write('moodaxis: another process is building the native addon; waiting for it…\n') },
    );
    kind = chooseBuild();
    if (!kind) throw new MoodaxisError('NATIVE', `the native addon was built but not found at ${addonLocations.prebuilt}`);
  }
  const path = addonLocations[kind];
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (error) {
    throw new MoodaxisError('NATIVE', `could not load the native addon ${path}: ${(error as Error).message}\nRebuild it with: cd ${packageRoot} && npm run build:addon`, { cause: error });
  }
  addon.init({ libDir: dirname(path), verbose: process.env.MOODAXIS_VERBOSE === '1' });
  return { addon, kind, path };
}

let loading: Promise<LoadedAddon> | null = null;

/**
 * Loads and initialises the addon, building it first if needed: concurrent first calls share one
 * promise, and concurrent processes one build (a lock file).
 */
export function nativeAddon(): Promise<LoadedAddon> {
  loading ??= loadAddon().catch((error: unknown) => {
    loading = null; // a later call tries again
    throw error;
  });
  return loading;
}

let cudaSelection: Promise<CudaStatus> | null = null;

export interface CudaStatus {
  ok: boolean;
  reason: string | null;
  devices: NativeDevice[];
  /** The backend plugin in use (prebuilt addon) or null (built in, or none). */
  plugin: string | null;
  /** What each candidate backend said (prebuilt addon on a machine with an NVIDIA driver). */
  selection: GpuSelection | null;
}

export interface CudaOptions {
  /** Progress lines while a backend is fetched, built or checked (default: stderr). */
  log?: (line: string) => void;
  /** Build the CUDA backend from source at first use when nvcc is present (default true). */
  build?: boolean;
}

const stderrLog = (line: string) => process.stderr.write(`moodaxis: ${line}\n`);

/**
 * Makes a CUDA device available if one can be used safely: built in (a source build with CUDA), or a
 * backend plugin proven in a child process first (lib/engine/gpu-backends.ts). Never aborts the process.
 * The answer is the same for the whole process.
 */
export function ensureCuda(options: CudaOptions = {}): Promise<CudaStatus> {
  cudaSelection ??= (async () => {
    const { addon, kind, path } = await nativeAddon();
    const gpus = () => addon.systemInfo().devices.filter((d) => d.type === 'gpu' || d.type === 'igpu');
    if (kind === 'source') {
      const ok = gpus().length > 0;
      return { ok, devices: gpus(), plugin: null, selection: null, reason: ok ? null : 'this source build has no CUDA backend: rebuild with `npm run build:cuda`, or use the prebuilt addon (MOODAXIS_BUILD=prebuilt)' };
    }
    const selection = await selectCudaBackend({
      addonPath: path,
      log: options.log ?? stderrLog,
      build: options.build,
      probeModel: async () => {
        const { ensureSyntheticModel, TINY_MODEL } = await import('./synthetic/models.js');
        return ensureSyntheticModel(TINY_MODEL, join(packageRoot, 'build-deps', 'probe-model'));
      },
    });
    if (!selection.chosen) {
      const reason = selection.message ?? (selection.driver ? 'no CUDA backend could be used' : 'no NVIDIA driver found (/proc/driver/nvidia/version, nvidia-smi)');
      return { ok: false, reason, devices: [], plugin: null, selection };
    }
    const file = selection.chosen.file!;
    const loadedBackend = addon.loadBackend(file);
    if (!loadedBackend.ok) return { ok: false, reason: `${file} passed its check but did not load here: ${loadedBackend.error}`, devices: [], plugin: file, selection };
    const ok = gpus().length > 0;
    return { ok, devices: gpus(), plugin: file, selection, reason: ok ? null : `${file} loaded but found no GPU` };
  })();
  return cudaSelection;
}
