/**
 * Calibrated axes files (`moodaxis calibrate --out axes.json`): per axis the unit direction, centre,
 * scale and held-out quality, with the manifest of the run that made them. Axes belong to one model:
 * applying them to another (other identity or hidden size) is refused.
 */
import { readInputText } from '../engine/input.js';
import { z } from 'zod';
import { badInput } from '../engine/errors.js';
import type { ModelInfo } from '../engine/model.js';
import type { Manifest } from '../protocols/types.js';
import { decodeVector, encodeVector, writeFileAtomic } from './journal.js';

export interface CalibratedAxis {
  id: string;
  positive: string;
  negative: string;
  vector: Float32Array;
  center: number;
  scale: number;
  auc: number;
  dprime: number;
  /** Calibration questions per pole. */
  n: number;
  /** Mean hidden-state norm over the calibration responses (h̄, for steering). */
  meanNorm: number;
  /** Held-out (evaluation) scores per pole, for the dead-zone follow rates. */
  evalScores: { positive: number[]; negative: number[] };
}

export interface AxesDoc {
  kind: 'moodaxis.axes';
  schemaVersion: 1;
  /** Which calibration set (A: the main one; B, C: paraphrases). */
  set: 'A' | 'B' | 'C';
  axes: CalibratedAxis[];
  manifest: Manifest;
}

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const axisSchema = z.object({
  id: z.string().min(1),
  positive: z.string(),
  negative: z.string(),
  vector: z.union([z.string().min(1), z.array(finite).min(1)]),
  center: finite,
  scale: finite.refine((s) => s > 0, 'expected a positive scale'),
  auc: finite,
  dprime: finite,
  n: z.number().int().nonnegative(),
  meanNorm: finite.optional(),
  evalScores: z.object({ positive: z.array(finite), negative: z.array(finite) }).optional(),
});
const docSchema = z.object({
  kind: z.literal('moodaxis.axes'),
  schemaVersion: z.literal(1),
  set: z.enum(['A', 'B', 'C']).default('A'),
  axes: z.array(axisSchema).min(1),
  manifest: z.object({
    model: z.object({ identity: z.string(), hiddenSize: z.number().int().positive(), name: z.string() }).passthrough(),
  }).passthrough(),
});

export function serializeAxes(doc: AxesDoc): string {
  return `${JSON.stringify({ ...doc, axes: doc.axes.map((a) => ({ ...a, vector: encodeVector(a.vector) })) }, null, 2)}\n`;
}

export function parseAxesDoc(json: unknown, source: string): AxesDoc {
  const kind = (json as { kind?: unknown } | null)?.kind;
  if (typeof kind === 'string' && kind.startsWith('moodaxis.') && kind !== 'moodaxis.axes')
    throw badInput(
      `${source}: kind is "${kind}": this is a ${kind.slice('moodaxis.'.length)} document, not an axes file. Calibrated axes come from \`moodaxis calibrate MODEL --out DIR\` (DIR/axes.json); fingerprint and benchmark cache theirs in ~/.cache/moodaxis/axes ($MOODAXIS_CACHE_DIR/axes)`,
    );
  const parsed = docSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const d = parsed.data;
  const hidden = d.manifest.model.hiddenSize;
  const axes = d.axes.map((a, i) => {
    let vector: Float32Array;
    try {
      vector = typeof a.vector === 'string' ? decodeVector(a.vector) : Float32Array.from(a.vector);
    } catch {
      throw badInput(`${source}: axes.${i}.vector: not base64 float32`);
    }
    if (vector.length !== hidden) throw badInput(`${source}: axes.${i}.vector: has ${vector.length} values, the manifest's model has hidden size ${hidden}`);
    if (!vector.every(Number.isFinite)) throw badInput(`${source}: axes.${i}.vector: holds values that are not finite numbers`);
    return { ...a, vector, meanNorm: a.meanNorm ?? 0, evalScores: a.evalScores ?? { positive: [], negative: [] } };
  });
  return { kind: d.kind, schemaVersion: d.schemaVersion, set: d.set, axes, manifest: d.manifest as unknown as Manifest };
}

export async function readAxesFile(path: string): Promise<AxesDoc> {
  const text = await readInputText(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw badInput(`${path}: not valid JSON (${(error as Error).message})`);
  }
  return parseAxesDoc(json, path);
}

export function writeAxesFile(path: string, doc: AxesDoc): void {
  writeFileAtomic(path, serializeAxes(doc));
}

/** Refuses axes made from another model. */
export function assertAxesFit(doc: AxesDoc, info: ModelInfo, source: string): void {
  const m = doc.manifest.model;
  if (m.hiddenSize !== info.hiddenSize)
    throw badInput(`${source}: these axes have hidden size ${m.hiddenSize} but ${info.name} has ${info.hiddenSize}; calibrate axes for this model`);
  if (m.identity !== info.identity)
    throw badInput(`${source}: these axes were made from another model (${m.name}, ${m.identity.slice(0, 19)}…), not ${info.name} (${info.identity.slice(0, 19)}…); calibrate axes for this model`);
}
