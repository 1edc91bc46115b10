/**
 * A CUDA backend that cannot work must lead to the CPU with a message, never to a dead process.
 * Two deliberately unusable backend files stand in for a broken prebuilt CUDA backend:
 * - a real shared library whose ggml_backend_init logs a CUDA error and aborts (what a backend compiled
 *   by a newer toolkit than the driver does in its first kernel launch);
 * - a file that is not a shared library at all.
 * MOODAXIS_CUDA_BACKENDS puts them in place of the candidates, so this runs on machines with no GPU.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { explainProbeFailure, pinnedPackageDir } from '../../lib/engine/gpu-backends.js';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { testModel } from '../helpers/paths.js';

const run = promisify(execFile);
const ABORTING_BACKEND = `
#include <stdio.h>
#include <stdlib.h>
void * ggml_backend_init(void) {
  fprintf(stderr, "ggml_cuda_init: found 1 CUDA devices\\n");
  fprintf(stderr, "CUDA error: the provided PTX was compiled with an unsupported toolchain.\\n");
  abort();
}
`;

describe('an unusable CUDA backend falls back to the CPU', () => {
  let dir: string;
  let aborting: string;
  let garbage: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-gpu-'));
    await writeFile(join(dir, 'abort.c'), ABORTING_BACKEND);
    aborting = join(dir, 'libggml-cuda-abort.so');
    await run('cc', ['-shared', '-fPIC', '-o', aborting, join(dir, 'abort.c')]);
    garbage = join(dir, 'libggml-cuda-garbage.so');
    await writeFile(garbage, 'this is not a shared library\n');
    await ensureBuilt();
  }, 120_000);
  afterAll(async () => {
    vi.unstubAllEnvs();
    await rm(dir, { recursive: true, force: true });
  });

  it('doctor --json names each candidate and its verdict, with clean JSON on stdout', async () => {
    const env = { MOODAXIS_CUDA_BACKENDS: `${aborting}:${garbage}` };
    vi.stubEnv('MOODAXIS_CUDA_BACKENDS', env.MOODAXIS_CUDA_BACKENDS);
    const r = await cli(['doctor', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { cuda: { usable: boolean; reason: string; candidates: Array<{ file: string; verdict: { ok: boolean; reason: string } }> } };
    expect(doc.cuda.usable).toBe(false);
    expect(doc.cuda.candidates.map((c) => c.file)).toEqual([aborting, garbage]);
    // the child died of the abort; the cause came from the lines it logged before dying
    expect(doc.cuda.candidates[0]!.verdict.reason).toMatch(/compiled for a newer driver.*unsupported toolchain/);
    expect(doc.cuda.candidates[1]!.verdict.reason).toMatch(/did not load/);
    expect(doc.cuda.reason).toMatch(/Running on the CPU/);
    expect(r.stderr).toMatch(/checking the CUDA backend/);
  }, 120_000);

  it('a model with gpu auto loads on the CPU, says why once, and generates; gpu cuda is refused', async () => {
    vi.stubEnv('MOODAXIS_CUDA_BACKENDS', `${aborting}:${garbage}`);
    const { loadModel } = await import('../../lib/engine/index.js');
    const warnings: string[] = [];
    const model = await loadModel(testModel('stories260K.gguf'), { gpu: 'auto', onWarning: (m) => warnings.push(m) });
    try {
      expect(model.info.backend).toBe('cpu');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/no usable CUDA backend.*Running on the CPU/);
      const [out] = await model.generate([{ prompt: 'Once upon a time' }], { temperature: 0, maxTokens: 12 });
      expect(out!.text.startsWith(', there was a little girl named Lily')).toBe(true);
    } finally {
      await model.dispose();
    }
    await expect(loadModel(testModel('stories260K.gguf'), { gpu: 'cuda' })).rejects.toMatchObject({ code: 'RESOURCE', message: expect.stringMatching(/CUDA was asked for but is not usable/) });
  }, 120_000);

  it('a verdict is kept: the second check of the same file runs no child process', async () => {
    vi.stubEnv('MOODAXIS_CUDA_BACKENDS', aborting);
    const r = await cli(['doctor', '--json']);
    const doc = JSON.parse(r.stdout) as { cuda: { candidates: Array<{ cached: boolean }> } };
    expect(doc.cuda.candidates[0]!.cached).toBe(true);
    expect(r.stderr).not.toMatch(/checking the CUDA backend/);
  }, 120_000);

  it('explains the usual causes in words', () => {
    const driver = { version: '580.159.04', cuda: '13.0' };
    expect(explainProbeFailure(['CUDA error: the provided PTX was compiled with an unsupported toolchain.'], driver, 'killed by SIGABRT')).toBe(
      'it was compiled for a newer driver than this one (580.159.04, CUDA 13.0) (CUDA error: the provided PTX was compiled with an unsupported toolchain.)',
    );
    expect(explainProbeFailure(['the backend did not load: libcudart.so.12: cannot open shared object file: No such file or directory'], driver, 'exit 3')).toBe(
      'it needs libcudart.so.12, which this machine does not have',
    );
    expect(explainProbeFailure(['something else'], null, 'the process was killed by SIGSEGV')).toBe('its test decode failed (the process was killed by SIGSEGV)');
  });

  it('finds a pinned package (installed, or fetched with npm pack in a child process) and names a failure', async () => {
    const logged: string[] = [];
    expect(await pinnedPackageDir('@node-llama-cpp/linux-x64', (l) => logged.push(l))).toMatch(/node_modules\/@node-llama-cpp\/linux-x64$/);
    expect(logged).toEqual([]);
    await expect(pinnedPackageDir('@moodaxis-test/no-such-package', (l) => logged.push(l))).rejects.toThrow(
      /could not fetch @moodaxis-test\/no-such-package@3\.21\.1 from the npm registry or npm's cache/,
    );
    expect(logged).toEqual(['fetching @moodaxis-test/no-such-package@3.21.1 with npm pack…']);
  }, 120_000);
});
