/**
 * Run settings shared by calibration, scoring and the protocols (defaults: lib/defaults.ts; the method:
 * docs/method.md §0), the options every model-running call of the library takes, and the manifest that
 * records the settings with the model's identity in every output.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_DEFAULTS } from '../defaults.js';
import type { TemplateKwargs } from '../engine/chat.js';
import { defaultCapture, defaultParallel, type GpuChoice, type Model } from '../engine/model.js';
import { packageRoot } from '../engine/package-root.js';
import type { Manifest } from '../docs/types.js';
import type { AxisSet } from './axes-file.js';
import type { CollectOptions } from './collect.js';
import type { ProgressCallback } from './response.js';

export interface RunSettings {
  seed: number;
  temperature: number;
  topK: number;
  topP: number;
  /** New tokens per calibration / evaluation response. */
  maxTokens: number;
  /** New tokens per baseline response. */
  baselineMaxTokens: number;
  parallel?: number;
  /** Capture layers (block indices); default the last four. */
  layers?: number[];
  layerWeights?: number[];
  tokenDecay: number;
  compat: 'mood-axis' | null;
  /** Flash attention off and F32 KV: results independent of batching (default on CPU). */
  deterministic?: boolean;
  /** Benchmarks only: generate exactly maxTokens, ignoring end of generation. */
  ignoreEos?: boolean;
  /**
   * The user's system prompt (`--system`): the answers without a pole instruction (baseline, benchmark
   * follow-ups, scored texts) are produced under it; calibration keeps its pole instructions alone.
   */
  system?: string | null;
  /** Extra chat-template variables (`--template-kwarg`, `--thinking` = enable_thinking), for every prompt. */
  templateKwargs?: TemplateKwargs;
  /** Tokens allowed in a <think> block before it is closed (`--think-budget`, default RUN_DEFAULTS.thinkBudget). */
  thinkBudget?: number;
}

export const DEFAULT_SETTINGS: RunSettings = {
  seed: RUN_DEFAULTS.seed,
  temperature: RUN_DEFAULTS.temperature,
  topK: RUN_DEFAULTS.topK,
  topP: RUN_DEFAULTS.topP,
  maxTokens: RUN_DEFAULTS.maxTokens,
  baselineMaxTokens: RUN_DEFAULTS.baselineMaxTokens,
  tokenDecay: RUN_DEFAULTS.tokenDecay,
  compat: null,
};

/**
 * The options every model-running call of the library takes (calibrate, fingerprint, stability,
 * benchmark, steer, score, drift): the run settings, where the model runs, the axis set, and the
 * progress and status callbacks, each with the same arguments everywhere.
 */
export interface RunOptions extends Partial<RunSettings> {
  /** Where the model runs when a path is given (a loaded model stays where it is). */
  gpu?: GpuChoice;
  /** Custom axis-set file (questions and instructions); default the built-in set. */
  axesFile?: string;
  /** The axis set itself (instead of `axesFile`). */
  axisSet?: AxisSet;
  /** Responses done of the total (journal-restored ones included; `detail.restored` says how many). */
  onProgress?: ProgressCallback;
  /** Status lines (cache hits, calibration, notes). */
  onStatus?: (message: string) => void;
}

/** The options of calls that write their document: into `out`, with its journal beside it. */
export interface OutputOptions {
  /** Output folder: the document (`<doc>.json`, written atomically) and its journal (`<doc>.journal.jsonl`); nothing is written without it. */
  out?: string;
}

export const SAMPLER_ORDER = 'top-k → temperature → top-p → dist (same distribution as temperature → top-k → top-p)';

export function toolVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

const SETTING_KEYS = ['seed', 'temperature', 'topK', 'topP', 'maxTokens', 'baselineMaxTokens', 'parallel', 'layers', 'layerWeights', 'tokenDecay', 'compat', 'deterministic', 'ignoreEos', 'system', 'templateKwargs', 'thinkBudget'] as const satisfies ReadonlyArray<keyof RunSettings>;

/**
 * The run settings among a call's options, defaults filled in. Only setting keys are taken: other
 * options (out, axesFile, …) must not reach the journal key, the axes cache key or the manifest.
 */
export function resolveSettings(options: Partial<RunSettings> = {}): RunSettings {
  const s = { ...DEFAULT_SETTINGS };
  for (const k of SETTING_KEYS) if (options[k] !== undefined) (s as Record<string, unknown>)[k] = options[k];
  return s;
}

export function captureLayers(model: Model, s: RunSettings): { layers: number[]; layerWeights: number[] } {
  const d = defaultCapture(model.info.layers);
  if (!s.layers) return { layers: d.layers, layerWeights: s.layerWeights ?? d.layerWeights };
  return { layers: s.layers, layerWeights: s.layerWeights ?? defaultCapture(s.layers.length).layerWeights };
}

export function captureOptions(model: Model, s: RunSettings) {
  return { ...captureLayers(model, s), tokenDecay: s.tokenDecay, ...(s.compat ? { compat: s.compat } : {}) };
}

/** Deterministic unless asked otherwise on CPU; fast (flash attention, F16 KV, batched) on CUDA. */
export function isDeterministic(model: Model, s: RunSettings): boolean {
  return s.deterministic ?? model.info.backend === 'cpu';
}

/** The generation options of a protocol's collect call, from its settings. */
export function collectOptions(model: Model, s: RunSettings, extra: Pick<CollectOptions, 'journal' | 'onProgress' | 'controlVector'> = {}): CollectOptions {
  return {
    seed: s.seed,
    parallel: s.parallel,
    temperature: s.temperature,
    topK: s.topK,
    topP: s.topP,
    deterministic: isDeterministic(model, s),
    capture: captureOptions(model, s),
    ignoreEos: s.ignoreEos,
    system: s.system ?? null,
    templateKwargs: s.templateKwargs,
    thinkBudget: s.thinkBudget ?? RUN_DEFAULTS.thinkBudget,
    ...extra,
  };
}

/** The manifest's record of the prompt settings: the system prompt with its sha256, the template variables. */
export function promptManifest(s: RunSettings): Record<string, unknown> {
  return {
    ...(s.system ? { systemPrompt: { text: s.system, sha256: createHash('sha256').update(s.system).digest('hex') } } : {}),
    ...(s.templateKwargs && Object.keys(s.templateKwargs).length ? { templateKwargs: s.templateKwargs } : {}),
  };
}

export function buildManifest(model: Model, s: RunSettings, axisSet: Pick<AxisSet, 'name' | 'version'>, extra: Record<string, unknown> = {}): Manifest {
  const { layers, layerWeights } = captureLayers(model, s);
  return {
    tool: { name: 'moodaxis', version: toolVersion() },
    createdAt: new Date().toISOString(),
    model: {
      path: model.info.path,
      name: model.info.name,
      identity: model.info.identity,
      architecture: model.info.architecture,
      layers: model.info.layers,
      hiddenSize: model.info.hiddenSize,
      chatTemplate: model.info.chatTemplate !== null,
      backend: model.info.device ? `${model.info.backend} (${model.info.device})` : model.info.backend,
      ...(model.info.split ? { split: model.info.split } : {}),
    },
    capture: { layers, layerWeights, tokenDecay: s.tokenDecay, compat: s.compat },
    sampler: {
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      order: SAMPLER_ORDER,
      seed: s.seed,
      parallel: s.parallel ?? defaultParallel(model.info.backend),
      maxTokens: s.maxTokens,
      baselineMaxTokens: s.baselineMaxTokens,
      deterministic: isDeterministic(model, s),
    },
    questions: { name: axisSet.name, version: axisSet.version ?? 'custom' },
    ...promptManifest(s),
    ...extra,
  };
}
