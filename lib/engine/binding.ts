/**
 * The typed native binding: finds the compiled addon (source build first, then the prebuilt-library
 * build), builds it on first use when npm held back our install script, initialises the CPU backends and,
 * when asked, the CUDA backend plugin.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MoodaxisError } from './errors.js';
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
export interface NativeRequest {
  text: string; addSpecial: boolean; parseSpecial: boolean; maxTokens: number; seed: number;
  startInThink?: boolean; forced?: Int32Array; tokens?: Int32Array;
}
export interface NativeCaptureLayer { block: number; finalNorm?: boolean; weight: number }
export interface NativeGenerateOptions {
  temperature: number; topK: number; topP: number; ignoreEos?: boolean; allowedTokens?: Int32Array; thinkBudget?: number; thinkClose?: number; parallel: number; contextLimit?: number;
  flashAttn?: boolean; f32Cache?: boolean; backendSampling?: boolean; solo?: boolean;
  capture?: { layers: NativeCaptureLayer[]; tokenDecay: number; compat: boolean };
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
  /** Prompt tokens copied from another sequence's cache (shared prefix) instead of prefilled. */
  sharedTokens: number;
}
export interface NativeContext {
  generate(
    requests: NativeRequest[],
    options: NativeGenerateOptions,
    onProgress?: (done: number, total: number, tokens: number, finished: Array<NativeResult & { index: number }>) => void,
  ): Promise<NativeResult[]>;
  forward(tokens: Int32Array, layers: number[]): Promise<Float32Array[]>;
  stats(): NativeGenerateStats;
  dispose(): Promise<void>;
}
export interface NativeAddon {
  init(options: { libDir?: string; verbose?: boolean }): void;
  loadBackend(path: string): { ok: boolean; error?: string; name?: string; devices?: number };
  systemInfo(): NativeSystemInfo;
  Model: { load(path: string, options: { gpuLayers: number; useMmap?: boolean }): Promise<NativeModel> };
  Context: new (model: NativeModel, options: { threads?: number }) => NativeContext;
}

export type BuildKind = 'source' | 'prebuilt';
export const addonLocations: Record<BuildKind, string> = {
  source: join(packageRoot, 'build-source', 'Release', 'moodaxis.node'),
  prebuilt: join(packageRoot, 'build', 'Release', 'moodaxis.node'),
};

let loaded: { addon: NativeAddon; kind: BuildKind; path: string } | null = null;
let cuda: { tried: boolean; ok: boolean; reason: string | null; plugin: string | null } = { tried: false, ok: false, reason: null, plugin: null };

/** Which build to use: MOODAXIS_BUILD=source|prebuilt, else the source build when there is one. */
function chooseBuild(): BuildKind | null {
  const wanted = process.env.MOODAXIS_BUILD;
  if (wanted === 'source' || wanted === 'prebuilt') return existsSync(addonLocations[wanted]) ? wanted : null;
  if (existsSync(addonLocations.source)) return 'source';
  if (existsSync(addonLocations.prebuilt)) return 'prebuilt';
  return null;
}

/** Runs the build script without blocking the event loop; its progress goes to stderr. */
function buildAddon(): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stderr.write('moodaxis: the native addon is not built yet (npm may have held back its install script); building it now…\n');
    const child = spawn(process.execPath, [join(packageRoot, 'scripts', 'build-addon.mjs')], { cwd: packageRoot, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new MoodaxisError('NATIVE', `building the native addon failed (exit ${code}); run it yourself to see why: cd ${packageRoot} && npm run build:addon`)),
    );
  });
}

/** Loads and initialises the addon (building it first if needed). */
export async function nativeAddon(): Promise<{ addon: NativeAddon; kind: BuildKind; path: string }> {
  if (loaded) return loaded;
  let kind = chooseBuild();
  if (!kind) {
    await buildAddon();
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
  loaded = { addon, kind, path };
  return loaded;
}

/** The CUDA backend plugin of node-llama-cpp's CUDA package, when installed. */
function cudaPluginPath(): string | null {
  const req = createRequire(join(packageRoot, 'package.json'));
  for (const base of req.resolve.paths('@node-llama-cpp/linux-x64-cuda') ?? []) {
    const bins = join(base, '@node-llama-cpp', `${process.platform}-${process.arch}-cuda`, 'bins');
    if (!existsSync(bins)) continue;
    for (const sub of readdirSync(bins)) {
      const file = join(bins, sub, 'libggml-cuda.so');
      if (existsSync(file)) return file;
    }
  }
  return null;
}

/**
 * Makes the CUDA backend available if it can be: built in (source builds with CUDA) or loaded as the
 * prebuilt plugin. Returns whether a GPU device is present and, if not, why.
 */
export async function ensureCuda(): Promise<{ ok: boolean; reason: string | null; devices: NativeDevice[] }> {
  const { addon, kind } = await nativeAddon();
  const gpus = () => addon.systemInfo().devices.filter((d) => d.type === 'gpu' || d.type === 'igpu');
  if (!cuda.tried) {
    cuda.tried = true;
    if (gpus().length === 0 && kind === 'prebuilt') {
      cuda.plugin = cudaPluginPath();
      if (!cuda.plugin) {
        cuda.reason = 'the @node-llama-cpp/linux-x64-cuda package is not installed';
      } else {
        const res = addon.loadBackend(cuda.plugin);
        if (!res.ok) cuda.reason = `the CUDA backend did not load: ${res.error} (it needs the CUDA 13 runtime: libcudart.so.13 and libcublas.so.13, and an NVIDIA driver)`;
      }
    } else if (gpus().length === 0) {
      cuda.reason = 'this source build has no CUDA backend: rebuild with `npm run build:cuda`';
    }
    if (!cuda.reason && gpus().length === 0) cuda.reason = 'the CUDA backend loaded but found no GPU';
  }
  const devices = gpus();
  return { ok: devices.length > 0, reason: devices.length > 0 ? null : cuda.reason, devices };
}

export function cudaPlugin(): string | null {
  return cuda.plugin;
}
