/** The user's cache folder: calibrated axes per model identity, and the demo model. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(): string {
  if (process.env.MOODAXIS_CACHE_DIR) return process.env.MOODAXIS_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'moodaxis');
}
