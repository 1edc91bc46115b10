/** Running scripts/build-addon.mjs from the library: its output is relayed, never written to stdout. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from './package-root.js';

export interface BuildRun {
  code: number | null;
  /** Everything the script printed (it writes to stderr only). */
  output: string;
}

/** Runs the build script with `args`, handing each chunk it prints to `relay`; never rejects for its exit code. */
export function runBuildScript(args: string[], relay: (chunk: string) => void): Promise<BuildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(packageRoot, 'scripts', 'build-addon.mjs'), ...args], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      relay(chunk.toString());
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A relay for runBuildScript that hands each non-empty line to `log` without the script's "moodaxis: " prefix. */
export function linesTo(log: (line: string) => void): (chunk: string) => void {
  return (chunk) => {
    for (const line of chunk.split('\n')) if (line.trim()) log(line.replace(/^moodaxis: /, ''));
  };
}

/** What a failed build said: the script's "build failed: …" message, or its exit code. */
export function buildFailure(run: BuildRun): string {
  return run.output.split('build failed: ')[1]?.trim() ?? `exit ${run.code}`;
}
