/**
 * A lock shared between processes: the directory `path`, made atomically (mkdir fails when it exists).
 * Its holder refreshes the directory's mtime while it works; a lock left unrefreshed for `staleMs`
 * belongs to a process that died, and is taken over.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileLockOptions {
  /** A lock not refreshed for this long is taken over (default 10 s; the holder refreshes it 4 times as often). */
  staleMs?: number;
  /** How often a waiting process looks again (default 200 ms). */
  pollMs?: number;
  /** Called once when the lock is held by another process and this one starts waiting. */
  onWait?: () => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > staleMs;
  } catch {
    return false; // gone meanwhile: try to take it at once
  }
}

/** Moves a stale lock aside (only one of several processes doing this at once succeeds) and removes it. */
async function takeOver(path: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // another process took it over first
  }
  await rm(aside, { recursive: true, force: true });
}

/** Runs `fn` holding the lock `path`, waiting while another process holds it. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? 10_000;
  const pollMs = options.pollMs ?? 200;
  await mkdir(dirname(path), { recursive: true });
  let waiting = false;
  for (;;) {
    try {
      await mkdir(path);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await isStale(path, staleMs)) {
      await takeOver(path);
      continue;
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.();
    }
    await sleep(pollMs);
  }
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, staleMs / 4);
  refresh.unref();
  try {
    return await fn();
  } finally {
    clearInterval(refresh);
    await rm(path, { recursive: true, force: true });
  }
}
