/**
 * Calibrated axes files (`moodaxis calibrate --out axes.json`): per axis the unit direction, centre,
 * scale and held-out quality, with the manifest of the run that made them. Axes belong to one model:
 * applying them to another (other identity or hidden size) is refused.
 */
import { badInput } from '../engine/errors.js';
import { readInputText } from '../engine/input.js';
import type { ModelInfo } from '../engine/model.js';
import { z } from 'zod';
import { formatIssue, formatPath, parseJsonText } from './json.js';
import { arr, describeValue, num, obj, oneOf, text } from './schemas.js';
import type { AxesDoc, Manifest } from './types.js';
import { decodeVector, encodeVector } from './vectors.js';
import { writeFileAtomic } from './write.js';

/** A vector as written (base64 float32) or given (numbers); its length and values are checked after. */
const vectorSchema = z.unknown().superRefine((v, ctx) => {
  const ok = (typeof v === 'string' && v.length > 0) || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x)));
  if (!ok) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected base64 float32 text or an array of numbers, got ${v === undefined ? 'nothing' : describeValue(v)}` });
});

const axisSchema = obj({
  id: text.min(1, { message: 'expected a non-empty string' }),
  positive: text,
  negative: text,
  vector: vectorSchema,
  center: num,
  scale: num.refine((s) => s > 0, 'expected a positive scale'),
  auc: num,
  dprime: num,
  n: num.int({ message: 'expected a whole number' }).nonnegative({ message: 'expected a number ≥ 0' }),
  meanNorm: num.optional(),
  evalScores: obj({ positive: arr(num), negative: arr(num) }).optional(),
});
const docSchema = obj({
  kind: oneOf(['moodaxis.axes']),
  schemaVersion: z.literal(1, { errorMap: (_issue, ctx) => ({ message: `expected 1, got ${ctx.data === undefined ? 'nothing' : describeValue(ctx.data)}` }) }),
  set: oneOf(['A', 'B', 'C']).default('A'),
  axes: arr(axisSchema).min(1, { message: 'expected at least one axis' }),
  manifest: obj({
    model: obj({ identity: text, hiddenSize: num.int({ message: 'expected a whole number' }).positive({ message: 'expected a number > 0' }), name: text }),
  }),
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
    const issue = parsed.error.issues[0]!;
    const field = formatPath(issue.path, '');
    throw badInput(`${source}: ${field || '(document)'}: ${formatIssue(issue)}`, { file: source, field });
  }
  const d = parsed.data;
  const hidden = d.manifest.model.hiddenSize;
  const axes = d.axes.map((a, i) => {
    let vector: Float32Array;
    try {
      vector = typeof a.vector === 'string' ? decodeVector(a.vector) : Float32Array.from(a.vector as number[]);
    } catch {
      throw badInput(`${source}: axes[${i}].vector: not base64 float32`, { file: source, field: `axes[${i}].vector` });
    }
    if (vector.length !== hidden) throw badInput(`${source}: axes[${i}].vector: has ${vector.length} values, the manifest's model has hidden size ${hidden}`, { file: source, field: `axes[${i}].vector` });
    if (!vector.every(Number.isFinite)) throw badInput(`${source}: axes[${i}].vector: holds values that are not finite numbers`, { file: source, field: `axes[${i}].vector` });
    return { ...a, vector, meanNorm: a.meanNorm ?? 0, evalScores: a.evalScores ?? { positive: [], negative: [] } };
  });
  return { kind: d.kind, schemaVersion: d.schemaVersion, set: d.set, axes: axes as AxesDoc['axes'], manifest: d.manifest as unknown as Manifest };
}

export async function readAxesFile(path: string): Promise<AxesDoc> {
  return parseAxesDoc(parseJsonText(await readInputText(path), path), path);
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

/** Axes given as a file path or a document (the `axes` option): the document and the name errors give it. */
export async function resolveAxes(axes: string | AxesDoc): Promise<{ doc: AxesDoc; source: string }> {
  return typeof axes === 'string' ? { doc: await readAxesFile(axes), source: axes } : { doc: axes, source: 'axes' };
}
