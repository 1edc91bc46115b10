/** Shared helpers of the GGUF tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { MoodaxisError } from '../../lib/engine/errors.js';
import { isGgufError, type GgufError, type GgufErrorReason } from '../../lib/engine/gguf/index.js';
import { testModel } from '../helpers/paths.js';

/** The real tiny models kept in test/models. */
export const STORIES = testModel('stories260K.gguf');
export const AIDREAMS = testModel('aidreams260K.gguf');

/** A fresh temporary folder and its cleanup. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `moodaxis-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Awaits `p`, expects a GGUF file's error (BAD_INPUT) with `reason` whose message names `fileName` and matches every pattern. */
export async function expectGgufError(p: Promise<unknown> | (() => unknown), reason: GgufErrorReason, fileName: string, ...patterns: Array<string | RegExp>): Promise<GgufError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected a GGUF error ${reason}`).toBeInstanceOf(MoodaxisError);
  expect(isGgufError(err), String(err)).toBe(true);
  const g = err as GgufError;
  expect({ code: g.code, reason: g.reason, message: g.message }).toMatchObject({ code: 'BAD_INPUT', reason });
  expect(g.message.startsWith(`${fileName}: `), g.message).toBe(true);
  for (const pat of patterns) {
    if (typeof pat === 'string') expect(g.message).toContain(pat);
    else expect(g.message).toMatch(pat);
  }
  return g;
}

/** Offset of the first occurrence of a length-prefixed GGUF string `s` (points at its length). */
export function findGgufString(buf: Buffer, s: string): number {
  const bytes = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(bytes.length));
  const at = buf.indexOf(Buffer.concat([len, bytes]));
  if (at < 0) throw new Error(`string ${s} not found`);
  return at;
}
