/**
 * Where a protocol's calibrated axes come from: a given axes file (or document), the user's cache for
 * this model and these settings, or, when neither, a calibration the protocol runs itself (then stored
 * with `storeCachedAxes`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROTOCOL_DEFAULTS } from '../defaults.js';
import { assertAxesFit, readAxesFile, resolveAxes, writeAxesFile } from '../docs/axes.js';
import { runKey } from '../docs/run-key.js';
import type { AxesDoc } from '../docs/types.js';
import type { Model } from '../engine/model.js';
import type { AxisSet } from '../method/axes-file.js';
import type { OutputOptions, RunOptions, RunSettings } from '../method/settings.js';
import { cacheDir } from './cache.js';

/** The options of protocols that score on calibrated axes (fingerprint, benchmark, drift). */
export interface AxesRunOptions extends RunOptions, OutputOptions {
  /** Calibrated axes (a file from `calibrate`, or the document); default: cached for this model, else calibrated first. */
  axes?: string | AxesDoc;
  /** Reuse / store calibrated axes in the user's cache (default PROTOCOL_DEFAULTS.cache: true). */
  cache?: boolean;
}

export interface AxesSource {
  /** null: the caller must calibrate. */
  axes: AxesDoc | null;
  /** Where calibrated axes are cached for this model (null with cache off or given axes). */
  cachePath: string | null;
  from: 'file' | 'cache' | 'calibrated';
  /** Why calibration runs (with from 'calibrated'): the cache is off, or no cached axes have these settings. */
  reason?: string;
}

const cachePrefix = (model: Model) => `${model.info.name.replace(/[^\w.-]+/g, '_')}-`;

/**
 * The cache entry of these axes: keyed on the model, the axis set, the backend and every run setting
 * that changes the axes: not `parallel` nor the baseline's token limit, but the seed and the sampler
 * settings (they change which answers calibration reads).
 */
function axesCachePath(model: Model, axisSet: AxisSet, s: RunSettings): string {
  const key = runKey({ identity: model.info.identity, set: [axisSet.name, axisSet.version, axisSet.axes.map((a) => a.id)], s: { ...s, parallel: undefined, baselineMaxTokens: undefined, system: undefined }, backend: model.info.backend });
  return join(cacheDir(), 'axes', `${cachePrefix(model)}${key.slice(0, 16)}.json`);
}

/** The sampler settings a cached axes file records that these settings differ in, e.g. "seed 3 (cached: 42)". */
const SAMPLER_KEYS = ['seed', 'maxTokens', 'temperature', 'topK', 'topP', 'deterministic'] as const;

/** Why no cached axes fit: the closest cached entry of this model and the settings that differ from it. */
function cacheMissReason(model: Model, s: RunSettings): string {
  const dir = join(cacheDir(), 'axes');
  let best: string[] | null = null;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!name.startsWith(cachePrefix(model)) || !name.endsWith('.json')) continue;
    try {
      const manifest = (JSON.parse(readFileSync(join(dir, name), 'utf8')) as AxesDoc).manifest;
      if (manifest.model.identity !== model.info.identity) continue;
      const sampler = manifest.sampler as unknown as Record<string, unknown>;
      const current: Record<string, unknown> = { ...s, deterministic: s.deterministic ?? model.info.backend === 'cpu' };
      const diff = SAMPLER_KEYS.filter((k) => sampler[k] !== undefined && sampler[k] !== current[k]).map((k) => `${k} ${String(current[k])} (cached: ${String(sampler[k])})`);
      if (manifest.capture.compat !== s.compat) diff.push(`compat ${s.compat ?? 'off'}`);
      if (!best || diff.length < best.length) best = diff;
    } catch {
      // an unreadable entry says nothing
    }
  }
  if (!best) return 'no cached axes for this model yet';
  return best.length ? `no cached axes for these settings: ${best.join(', ')}` : 'no cached axes for this axis set';
}

export async function findAxes(
  model: Model,
  axisSet: AxisSet,
  settings: RunSettings,
  options: Pick<AxesRunOptions, 'axes' | 'cache'>,
  status: (message: string) => void,
): Promise<AxesSource> {
  if (options.axes) {
    const { doc: axes, source } = await resolveAxes(options.axes);
    assertAxesFit(axes, model.info, source);
    return { axes, cachePath: null, from: 'file' };
  }
  if (!(options.cache ?? PROTOCOL_DEFAULTS.cache)) return { axes: null, cachePath: null, from: 'calibrated', reason: 'the axes cache is off' };
  const cachePath = axesCachePath(model, axisSet, settings);
  if (existsSync(cachePath)) {
    try {
      const axes = await readAxesFile(cachePath);
      assertAxesFit(axes, model.info, cachePath);
      status(`using cached axes ${cachePath}`);
      return { axes, cachePath, from: 'cache' };
    } catch {
      // an unreadable or foreign cache entry is recalibrated and overwritten
    }
  }
  return { axes: null, cachePath, from: 'calibrated', reason: cacheMissReason(model, settings) };
}

export function storeCachedAxes(source: AxesSource, axes: AxesDoc): void {
  if (source.cachePath && source.from === 'calibrated') writeAxesFile(source.cachePath, axes);
}
