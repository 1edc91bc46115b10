/** Writing documents: atomically, so that an interrupted run never leaves a half-written file. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes a file atomically: a temporary file in the same folder, then a rename. */
export function writeFileAtomic(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** A document as the protocols write it: indented JSON with a final newline, written atomically. */
export function writeDocFile(path: string, doc: object): void {
  writeFileAtomic(path, `${JSON.stringify(doc, null, 2)}\n`);
}
