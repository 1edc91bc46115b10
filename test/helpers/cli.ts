/** Running the built CLI (node bin/moodaxis.js) from tests. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoPath } from './paths.js';

const run = promisify(execFile);

/** Builds dist/ (npx tsc -p tsconfig.build.json) when any lib source is newer than the compiled CLI. */
export async function ensureBuilt(): Promise<void> {
  const main = repoPath('dist/lib/cli/main.js');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : e.name.endsWith('.ts') ? statSync(join(dir, e.name)).mtimeMs : 0)));
  if (existsSync(main) && statSync(main).mtimeMs >= newest(repoPath('lib'))) return;
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoPath('.') });
}

/** `node bin/moodaxis.js ...args`: exit code, stdout, stderr (in the repository, or in `cwd`, with extra `env`). */
export async function cli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [repoPath('bin/moodaxis.js'), ...args], {
      cwd: options.cwd ?? repoPath('.'),
      maxBuffer: 64 << 20,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...options.env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
