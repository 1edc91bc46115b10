/**
 * A failed addon build says why: the compiler's own error lines and what to install, on stderr, never
 * on stdout (a build started at first use must not corrupt `--json` output). The build runs in a copy
 * of the package (sources, scripts, package.json; node_modules linked), so the real addon is untouched.
 */
import { execFile } from 'node:child_process';
import { appendFile, cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoPath } from '../helpers/paths.js';

const run = (args: string[], cwd: string, env: NodeJS.ProcessEnv) =>
  promisify(execFile)(process.execPath, args, { cwd, env, timeout: 300_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('a failed addon build', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-build-'));
    for (const f of ['native', 'scripts', 'binding.gyp', 'package.json', 'build-deps/llama-headers']) await cp(repoPath(f), join(dir, f), { recursive: true });
    await symlink(repoPath('node_modules'), join(dir, 'node_modules'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("prints the compiler's error lines on stderr and nothing on stdout", async () => {
    // a source file that does not compile (in the copy)
    await appendFile(join(dir, 'native', 'log.cc'), '\n#error moodaxis test: this line does not compile\n');
    const r = await run([join(dir, 'scripts', 'build-addon.mjs')], dir, process.env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/moodaxis: build failed: node-gyp\.js rebuild failed \(exit \d+\):/);
    expect(r.stderr).toMatch(/native\/log\.cc:\d+:\d+: error: #error moodaxis test: this line does not compile/);
    expect(r.stderr).toMatch(/Full log: .*build-deps\/build\.log/);
  });

  it('configuration failures are named too (a compiler that is not there)', async () => {
    const r = await run([join(dir, 'scripts', 'build-addon.mjs')], dir, { ...process.env, CXX: '/nonexistent/c++' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/No such file or directory: '\/nonexistent\/c\+\+'/);
  });

  it('names what to install when the toolchain is missing', async () => {
    // a PATH with node alone: no make, no python3, no compiler
    await mkdir(join(dir, 'only-node'));
    await symlink(process.execPath, join(dir, 'only-node', 'node'));
    const r = await run([join(dir, 'scripts', 'build-addon.mjs')], dir, { PATH: join(dir, 'only-node'), HOME: process.env.HOME });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/a C\+\+ compiler, make, python3 not found: a C\+\+17 compiler \(g\+\+ or clang\+\+\), make and python3 are needed \(Debian\/Ubuntu: apt-get install g\+\+ make python3\)/);
  });
});
