/**
 * node-llama-cpp 3.21.1 (its own addon over the same llama.cpp commit) as an independent oracle for the
 * engine tests. It is not a dependency of moodaxis, not even a devDependency: with it npm would install
 * ~680 MB of its prebuilt binaries for every platform and GPU API. The oracle is installed once, on
 * demand, into .cache/node-llama-cpp-oracle (npm's cache serves it after the first time) with its CPU
 * binaries for this platform only.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoPath } from './paths.js';

const run = promisify(execFile);
const VERSION = '3.21.1';

/** The folder holding the oracle's node_modules and the greedy script; installs it the first time. */
export async function nodeLlamaCppOracle(): Promise<string> {
  const dir = repoPath('.cache/node-llama-cpp-oracle');
  const platform = `@node-llama-cpp/${process.platform}-${process.arch}`;
  if (!existsSync(join(dir, 'node_modules', 'node-llama-cpp', 'package.json')) || !existsSync(join(dir, 'node_modules', platform))) {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'oracle', private: true, type: 'module', dependencies: { 'node-llama-cpp': VERSION, [platform]: VERSION } }));
    await run('npm', ['install', '--omit=optional', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: dir, timeout: 240_000 });
  }
  await copyFile(repoPath('test/helpers/node-llama-cpp-greedy.mjs'), join(dir, 'greedy.mjs'));
  return dir;
}
