/**
 * Where a protocol's calibrated axes come from: a given axes file (or document), the user's cache for
 * this model and these settings, or, when neither, a calibration the protocol runs itself (then stored
 * with `storeCachedAxes`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GpuChoice, Model } from '../engine/model.js';
import { assertAxesFit, readAxesFile, writeAxesFile, type AxesDoc } from '../method/axes-doc.js';
import type { AxisSet } from '../method/axes-file.js';
import { runKey } from '../method/journal.js';
import type { RunSettings } from '../method/settings.js';
import { cacheDir } from './cache.js';

/** The options of protocols that score on calibrated axes (fingerprint, benchmark). */
export interface AxesRunOptions extends Partial<RunSettings> {
  /** Calibrated axes (a file from `calibrate`, or the document). */
  axes?: string | AxesDoc;
  /** Custom axis-set file (questions and instructions); default built-in. */
  axesFile?: string;
  axisSet?: AxisSet;
  gpu?: GpuChoice;
  /** Output folder for the protocol's JSON and journal. */
  out?: string;
  /** Reuse / store calibrated axes in the user's cache (default true). */
  cache?: boolean;
}

export interface AxesSource {
  /** null: the caller must calibrate. */
  axes: AxesDoc | null;
  /** Where calibrated axes are cached for this model (null with cache off or given axes). */
  cachePath: string | null;
  from: 'file' | 'cache' | 'calibrated';
}

function axesCachePath(model: Model, axisSet: AxisSet, s: RunSettings): string {
  const key = runKey({ identity: model.info.identity, set: [axisSet.name, axisSet.version, axisSet.axes.map((a) => a.id)], s: { ...s, parallel: undefined, system: undefined }, backend: model.info.backend });
  return join(cacheDir(), 'axes', `${model.info.name.replace(/[^\w.-]+/g, '_')}-${key.slice(0, 16)}.json`);
}

export async function findAxes(
  model: Model,
  axisSet: AxisSet,
  settings: RunSettings,
  options: Pick<AxesRunOptions, 'axes' | 'cache'>,
  status: (message: string) => void,
): Promise<AxesSource> {
  if (options.axes) {
    const source = typeof options.axes === 'string' ? options.axes : 'axes';
    const axes = typeof options.axes === 'string' ? await readAxesFile(options.axes) : options.axes;
    assertAxesFit(axes, model.info, source);
    return { axes, cachePath: null, from: 'file' };
  }
  if (options.cache === false) return { axes: null, cachePath: null, from: 'calibrated' };
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
  return { axes: null, cachePath, from: 'calibrated' };
}

export function storeCachedAxes(source: AxesSource, axes: AxesDoc): void {
  if (source.cachePath && source.from === 'calibrated') writeAxesFile(source.cachePath, axes);
}
