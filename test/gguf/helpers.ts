/** Shared helpers of the GGUF tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { GgufError, type GgufErrorCode } from '../../lib/engine/gguf/index.js';
import { testModel } from '../helpers/paths.js';

/** The real tiny models kept in test/models. */
export const STORIES = testModel('stories260K.gguf');
export const AIDREAMS = testModel('aidreams260K.gguf');

/** A fresh temporary folder and its cleanup. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `moodaxis-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Awaits `p`, expects a GgufError with `code` whose message names `fileName` and matches every pattern. */
export async function expectGgufError(p: Promise<unknown> | (() => unknown), code: GgufErrorCode, fileName: string, ...patterns: Array<string | RegExp>): Promise<GgufError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected GgufError ${code}`).toBeInstanceOf(GgufError);
  const g = err as GgufError;
  expect({ code: g.code, message: g.message }).toMatchObject({ code });
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
