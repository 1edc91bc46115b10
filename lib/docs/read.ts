/**
 * Reading protocol documents (fingerprint, stability, steer, validation, drift): parse the JSON, check
 * kind, schemaVersion and every field a reader uses (lib/docs/schemas.ts), and return the document
 * as written. Every problem is a BAD_INPUT MoodaxisError whose message names the file and the field,
 * with `file` and `field` (the field's path, '' for the whole document) set.
 */
import { badInput } from '../engine/errors.js';
import { readInputText } from '../engine/input.js';
import { formatPath, parseJsonText } from './json.js';
import { DOC_SCHEMAS, describeValue } from './schemas.js';
import type { ProtocolDoc } from './types.js';

export const DOC_KINDS = ['moodaxis.fingerprint', 'moodaxis.stability', 'moodaxis.steer', 'moodaxis.validation', 'moodaxis.drift'] as const;
export const SCHEMA_VERSION = 1;

/** The error of a document `source` whose `field` is wrong. */
function docError(source: string, field: string, message: string) {
  return badInput(`${source}: ${field || '(document)'}: ${message}`, { file: source, field });
}

const got = (v: unknown) => (v === undefined ? 'nothing' : describeValue(v));

/**
 * Check a parsed JSON document and return it typed. Throws a BAD_INPUT MoodaxisError whose message
 * names `source` and the offending field, e.g.
 * `a.json: axes[2].scores: expected an array of numbers (item 4 is null)`.
 */
export function validateDoc(json: unknown, source: string): ProtocolDoc {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw docError(source, '', `expected a moodaxis protocol document (a JSON object), got ${describeValue(json)}`);
  const d = json as Record<string, unknown>;
  const kind = d.kind as (typeof DOC_KINDS)[number];
  if (!DOC_KINDS.includes(kind)) throw docError(source, 'kind', `expected one of ${DOC_KINDS.map((k) => JSON.stringify(k)).join(', ')}, got ${got(d.kind)}`);
  if (d.schemaVersion !== SCHEMA_VERSION) {
    const newer = typeof d.schemaVersion === 'number' && d.schemaVersion > SCHEMA_VERSION;
    throw docError(source, 'schemaVersion', `expected ${SCHEMA_VERSION}, got ${got(d.schemaVersion)}${newer ? ' (written by a newer moodaxis?)' : ''}`);
  }
  const result = DOC_SCHEMAS[kind].safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw docError(source, formatPath(issue.path, ''), issue.message);
  }
  return json as ProtocolDoc;
}

/** Parse JSON text and validate it; a syntax error is a BAD_INPUT error naming the file, line and column. */
export function parseDoc(text: string, source: string): ProtocolDoc {
  return validateDoc(parseJsonText(text, source), source);
}

/** Reads a protocol document file (any kind the report reads). */
export async function readDoc(path: string): Promise<ProtocolDoc> {
  return parseDoc(await readInputText(path), path);
}

/** Reads a protocol document and checks it is of `kind`; every problem is BAD_INPUT naming file and field. */
export async function readDocFile<K extends ProtocolDoc['kind']>(path: string, kind: K): Promise<Extract<ProtocolDoc, { kind: K }>> {
  const doc = await readDoc(path);
  if (doc.kind !== kind) throw docError(path, 'kind', `expected "${kind}", got "${doc.kind}"`);
  return doc as Extract<ProtocolDoc, { kind: K }>;
}
