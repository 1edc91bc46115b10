/** Run keys: what identifies a run's journal (its header) and a cache entry (its file name). */
import { createHash } from 'node:crypto';

/** A short hash of the JSON of `parts`: equal parts, equal key. */
export function runKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
