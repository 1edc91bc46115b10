/**
 * Concurrent first use: two processes that start at once on a package whose addon is not built yet, each
 * calling nativeAddon() twice at the same time, run the build script once (a lock file between the
 * processes, one promise within each), and both load the addon it built.
 *
 * The package is a copy of the compiled engine in a temporary folder, with a build script that counts its
 * starts, takes a while, and then puts the real prebuilt addon in place (the real build takes minutes).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addonLocations, nativeAddon } from '../../lib/engine/binding.js';
import { ensureBuilt } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';

const run = promisify(execFile);

describe('concurrent first use of the addon', () => {
  let pkg: string;
  let starts: string;
  let arrivals: string;
  let release: string;
  beforeAll(async () => {
    await ensureBuilt();
    const { kind } = await nativeAddon();
    release = join(addonLocations[kind], '..');
    pkg = mkdtempSync(join(tmpdir(), 'moodaxis-first-use-'));
    starts = join(pkg, 'build-starts.txt');
    arrivals = join(pkg, 'arrivals.txt');
    writeFileSync(join(pkg, 'package.json'), readFileSync(repoPath('package.json')));
    mkdirSync(join(pkg, 'native'));
    cpSync(repoPath('dist/lib/engine'), join(pkg, 'dist/lib/engine'), { recursive: true });
    mkdirSync(join(pkg, 'scripts'));
    writeFileSync(
      join(pkg, 'scripts/build-addon.mjs'),
      `import { appendFileSync, cpSync, readFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(starts)}, process.pid + '\\n');
// finish only once both processes have asked for the addon (and a while after), so that they overlap
const arrived = () => readFileSync(${JSON.stringify(arrivals)}, 'utf8').trim().split('\\n').length;
for (let waited = 0; arrived() < 2 && waited < 60000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
await new Promise((resolve) => setTimeout(resolve, 1000));
cpSync(${JSON.stringify(release)}, 'build/Release', { recursive: true });
`,
    );
  }, 300_000);
  afterAll(() => {
    if (pkg) rmSync(pkg, { recursive: true, force: true });
  });

  it('two processes starting together build the addon once and both load it', async () => {
    const binding = pathToFileURL(join(pkg, 'dist/lib/engine/binding.js')).href;
    const script = `const { nativeAddon } = await import(${JSON.stringify(binding)});
(await import('node:fs')).appendFileSync(${JSON.stringify(arrivals)}, process.pid + '\\n');
const [a, b] = await Promise.all([nativeAddon(), nativeAddon()]);
console.log(JSON.stringify({ shared: a === b, path: a.path, backends: a.addon.systemInfo().backends.length }));`;
    const env = { ...process.env };
    delete env.MOODAXIS_BUILD;
    const start = () => run(process.execPath, ['--input-type=module', '-e', script], { cwd: pkg, env });
    expect(existsSync(join(pkg, 'build/Release/moodaxis.node'))).toBe(false);
    const [first, second] = await Promise.all([start(), start()]);
    expect(readFileSync(starts, 'utf8').trim().split('\n')).toHaveLength(1);
    for (const out of [first, second]) {
      const answer = JSON.parse(out.stdout.trim());
      expect(answer).toMatchObject({ shared: true, path: join(pkg, 'build/Release/moodaxis.node') });
      expect(answer.backends).toBeGreaterThan(0);
    }
    // one built, the other waited for it (and said so)
    const said = [first.stderr, second.stderr];
    expect(said.filter((e) => e.includes('building it now')).length).toBe(1);
    expect(said.filter((e) => e.includes('another process is building the native addon; waiting for it')).length).toBe(1);
    expect(existsSync(join(pkg, 'build/.first-use-build.lock'))).toBe(false);
  }, 120_000);
});
