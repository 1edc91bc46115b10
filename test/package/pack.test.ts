/**
 * The package as a dependency of someone else's project: `npm pack`, install the tarball into a new
 * project (from npm's cache where it has the packages), then there `import { loadModel } from 'moodaxis'`
 * with a greedy generate on stories260K, and `npx moodaxis --help`. Also checks what the install brings:
 * no node-llama-cpp and none of its GPU or other-platform packages, node_modules ≤ 150 MB.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader, validateForLlama } from '../../lib/engine/gguf/index.js';
import { ensureBuilt } from '../helpers/cli.js';
import { repoPath, testModel } from '../helpers/paths.js';

const run = promisify(execFile);
const MB = 2 ** 20;

async function duBytes(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', dir]);
  return Number(stdout.split('\t')[0]);
}

describe('npm pack → install into a new project', () => {
  let dir: string;
  let project: string;
  let tarball: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-pack-'));
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: repoPath('.') });
    tarball = join(dir, stdout.trim().split('\n').pop()!);
    project = join(dir, 'consumer');
    await run('mkdir', ['-p', project]);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    // --ignore-scripts: as npm 11 does for a dependency's install script unless allowScripts approves it,
    // so that the addon is built at first use below
    await run('npm', ['install', tarball, '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project, timeout: 480_000, maxBuffer: 16 * MB });
  }, 600_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the tarball holds the license and what the README cites, and no test data', async () => {
    const { stdout } = await run('tar', ['tzf', tarball]);
    const files = stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/moodaxis.js', 'dist/lib/index.js', 'dist/lib/engine/isolate-child.js', 'axes/builtin.json', 'scripts/build-addon.mjs', 'scripts/gpu-probe.mjs', 'binding.gyp', 'docs/method.md', 'docs/native.md']) expect(files).toContain(f);
    expect(files.filter((f) => f.startsWith('test/') || f.endsWith('.gguf'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('fixtures/') || f.startsWith('dist/fixtures/'))).toEqual([]);
  });

  it('the demo model is written by the installed library alone (the test fixtures are not shipped)', async () => {
    const demo = pathToFileURL(join(project, 'node_modules', 'moodaxis', 'dist', 'lib', 'protocols', 'demo.js')).href;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `const { demoModelPath } = await import(${JSON.stringify(demo)}); console.log(await demoModelPath());`], {
      cwd: project,
      env: { ...process.env, MOODAXIS_CACHE_DIR: join(dir, 'cache') },
    });
    const path = stdout.trim();
    expect(path.startsWith(join(dir, 'cache', 'models', 'moodaxis-tiny-chat-'))).toBe(true);
    const info = await readGgufHeader(path);
    validateForLlama(info);
    expect(info.chatTemplate).toContain('<|im_start|>');
  });

  it('installs lean: no node-llama-cpp, no GPU or other-platform binaries, ≤ 150 MB', async () => {
    const modules = join(project, 'node_modules');
    expect(existsSync(join(modules, 'node-llama-cpp'))).toBe(false);
    expect(readdirSync(join(modules, '@node-llama-cpp'))).toEqual([`${process.platform}-${process.arch}`]);
    const bytes = await duBytes(modules);
    console.log(`node_modules of a project that depends on moodaxis: ${(bytes / MB).toFixed(0)} MB`);
    expect(bytes).toBeLessThanOrEqual(150 * MB);
  });

  it('import { loadModel } from "moodaxis" builds the addon at first use (output on stderr only), generates greedily there, and npx moodaxis --help runs', async () => {
    expect(existsSync(join(project, 'node_modules', 'moodaxis', 'build', 'Release', 'moodaxis.node'))).toBe(false);
    const script = join(project, 'use.mjs');
    await writeFile(
      script,
      `import { loadModel } from 'moodaxis';
       const model = await loadModel(${JSON.stringify(testModel('stories260K.gguf'))}, { gpu: 'cpu', threads: 1 });
       const [out] = await model.generate([{ prompt: 'Once upon a time' }], { temperature: 0, maxTokens: 12 });
       await model.dispose();
       console.log(JSON.stringify({ text: out.text }));`,
    );
    const used = await run(process.execPath, [script], { cwd: project, timeout: 300_000 });
    expect(used.stderr).toMatch(/moodaxis: the native addon is not built yet .* building it now/);
    expect(used.stderr).toMatch(/moodaxis: built .*moodaxis\.node in [\d.]+ s/);
    // stdout holds the script's one JSON line and nothing from the build
    expect(used.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(used.stdout).text.startsWith(', there was a little girl named Lily')).toBe(true);
    const help = await run('npx', ['moodaxis', '--help'], { cwd: project, timeout: 120_000 });
    expect(help.stdout).toMatch(/fingerprint/);
  }, 420_000);
});
