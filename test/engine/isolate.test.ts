/**
 * Isolate mode on the real addon and stories260K: the model in a child process gives this process's
 * results bit for bit, with its events; and when llama.cpp aborts in the child, the call is rejected
 * with the child's last log lines, this process lives on, and the next call starts the child again.
 *
 * The abort is a real one, made where ggml-cuda makes it: a small shared library, preloaded into the
 * child only (LD_PRELOAD in its environment), wraps ggml's scheduler graph compute; while a trigger
 * file exists it logs a cudaMalloc failure through ggml's logger and calls ggml_abort, as ggml-cuda's
 * CUDA_CHECK does on an out-of-memory in a decode. Everything after that (the addon's abort hook
 * printing llama.cpp's last log lines, SIGABRT, the parent's error) is the product's own path.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadModel, type GenerateResult, type Model } from '../../lib/engine/index.js';
import { ensureBuilt } from '../helpers/cli.js';
import { repoPath, testModel } from '../helpers/paths.js';

const run = promisify(execFile);
const STORIES = testModel('stories260K.gguf');

const ABORTING_COMPUTE = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
#include "ggml.h"
#include "ggml-backend.h"

typedef enum ggml_status (*compute_fn)(ggml_backend_sched_t, struct ggml_cgraph *);
typedef void (*log_fn)(enum ggml_log_level, const char *, ...);
typedef void (*abort_fn)(const char *, int, const char *, ...);

enum ggml_status ggml_backend_sched_graph_compute_async(ggml_backend_sched_t sched, struct ggml_cgraph * graph) {
  /* ggml-base is loaded by the addon (not in the global scope): find ggml's own functions in it */
  void * base = dlopen("libggml-base.so", RTLD_NOLOAD | RTLD_LAZY);
  compute_fn compute = (compute_fn) dlsym(base, "ggml_backend_sched_graph_compute_async");
  const char * trigger = getenv("MOODAXIS_TEST_ABORT_FILE");
  if (trigger && access(trigger, F_OK) == 0) {
    ((log_fn) dlsym(base, "ggml_log_internal"))(GGML_LOG_LEVEL_ERROR, "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 9216.00 MiB on device 0: cudaMalloc failed: out of memory\\n");
    ((abort_fn) dlsym(base, "ggml_abort"))("ggml/src/ggml-cuda/ggml-cuda.cu", 97, "CUDA error");
  }
  return compute(sched, graph);
}
`;

/** The ids of this process's child processes (Linux). */
function childPids(): number[] {
  const tasks = readdirSync(`/proc/${process.pid}/task`);
  return tasks.flatMap((t) => readFileSync(`/proc/${process.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
}

const bits = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
const same = (a: GenerateResult[], b: GenerateResult[]) => {
  expect(a.map((r) => r.text)).toEqual(b.map((r) => r.text));
  expect(a.map((r) => bits(r.vector))).toEqual(b.map((r) => bits(r.vector)));
  expect(a.map((r) => Array.from(r.tokenIds))).toEqual(b.map((r) => Array.from(r.tokenIds)));
};

const REQUESTS = ['Once upon a time', 'Tom had a red ball', 'The sun was hot', 'Lily'].map((prompt) => ({ prompt }));
const OPTIONS = { maxTokens: 16, deterministic: true, seed: 5 } as const;

describe('isolate mode: the model in a child process', () => {
  let dir: string;
  let trigger: string;
  let local: Model;
  let expected: GenerateResult[];
  beforeAll(async () => {
    await ensureBuilt(); // the child runs the compiled library (dist/)
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-isolate-'));
    await writeFile(join(dir, 'abort.c'), ABORTING_COMPUTE);
    const headers = repoPath('build-deps/llama-headers/ggml/include');
    await run('cc', ['-shared', '-fPIC', '-O1', `-I${headers}`, '-o', join(dir, 'libabort-compute.so'), join(dir, 'abort.c'), '-ldl']);
    trigger = join(dir, 'abort-now');
    local = await loadModel(STORIES, { gpu: 'cpu' });
    expected = await local.generate(REQUESTS, OPTIONS);
  }, 180_000);
  afterAll(async () => {
    vi.unstubAllEnvs();
    await local?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the in-process results bit for bit, with progress and finished results as events', async () => {
    const before = childPids();
    const model = await loadModel(STORIES, { gpu: 'cpu', isolate: true });
    try {
      expect(childPids().length).toBe(before.length + 1);
      expect(model.info).toEqual(local.info);
      const seen: number[] = [];
      const finished: number[] = [];
      const out = await model.generate(REQUESTS, {
        ...OPTIONS,
        onProgress: (p) => seen.push(p.done),
        onResult: (i, r) => {
          finished.push(i);
          expect(bits(r.vector)).toBe(bits(expected[i]!.vector));
        },
      });
      same(out, expected);
      expect(seen.at(-1)).toBe(REQUESTS.length);
      expect(finished.sort()).toEqual([0, 1, 2, 3]);
      expect(model.lastGenerateStats()).toMatchObject({ stepTokens: expect.any(Number), parallel: 4 });
      // tokenizing and rendering stay in this process (synchronous), on the vocabulary alone
      expect(Array.from(model.tokenize('Once upon a time'))).toEqual(Array.from(local.tokenize('Once upon a time')));
      expect(model.detokenize(expected[0]!.tokenIds)).toBe(local.detokenize(expected[0]!.tokenIds));
      const ids = local.tokenize('Once upon a time');
      const states = await model.hiddenStates(ids, [1, 4]);
      expect(states.map(bits)).toEqual((await local.hiddenStates(ids, [1, 4])).map(bits));
      // a bad request is refused as in this process
      await expect(model.generate([{ prompt: 'x', maxTokens: 0 }])).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/requests\[0\]\.maxTokens/) });
    } finally {
      await model.dispose();
    }
    expect(childPids()).toEqual(before);
    await expect(model.generate(REQUESTS)).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('a llama.cpp abort in the child rejects the call with its last log lines; the next call starts it again', async () => {
    vi.stubEnv('LD_PRELOAD', join(dir, 'libabort-compute.so'));
    vi.stubEnv('MOODAXIS_TEST_ABORT_FILE', trigger);
    const model = await loadModel(STORIES, { gpu: 'cpu', isolate: true });
    try {
      same(await model.generate(REQUESTS, OPTIONS), expected);
      await writeFile(trigger, '');
      const error = (await model.generate(REQUESTS, OPTIONS).then(() => null, (e: unknown) => e)) as Error & { code: string };
      expect(error).toMatchObject({ code: 'RESOURCE' });
      expect(error.message).toMatch(/^stories260K\.gguf: llama\.cpp aborted the model's process during generate; the next call starts it again\. Its last output:\n/);
      expect(error.message).toMatch(/cudaMalloc failed: out of memory/);
      expect(error.message).toMatch(/llama\.cpp aborted the process: .*CUDA error/);
      await rm(trigger);
      // this process lives on; the next call loads the model in a new child and gives the same results
      same(await model.generate(REQUESTS, OPTIONS), expected);
    } finally {
      await model.dispose();
    }
  });

  it('dispose cancels a call in flight and ends the child', async () => {
    const before = childPids();
    const model = await loadModel(STORIES, { gpu: 'cpu', isolate: true });
    let done = 0;
    const long = model.generate(
      Array.from({ length: 8 }, (_, i) => ({ prompt: `Story ${i}:` })),
      { maxTokens: 4000, ignoreEos: true, parallel: 8, onProgress: (p) => (done = p.tokens) },
    );
    const outcome = long.then(() => null, (error: unknown) => error);
    while (done === 0) await new Promise((r) => setTimeout(r, 20));
    await model.dispose();
    expect(await outcome).toMatchObject({ code: 'CANCELLED' });
    expect(childPids()).toEqual(before);
  });

  it('a program that ends without dispose() ends, and its model process with it', async () => {
    const script = `
      import { existsSync, readdirSync, readFileSync } from 'node:fs';
      const { loadModel } = await import(${JSON.stringify(repoPath('dist/lib/engine/index.js'))});
      const model = await loadModel(${JSON.stringify(STORIES)}, { gpu: 'cpu', isolate: true });
      const [out] = await model.generate([{ prompt: 'Once upon a time' }], { maxTokens: 4, temperature: 0 });
      const children = readdirSync('/proc/self/task').flatMap((t) => readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim().split(/\\s+/).filter(Boolean));
      console.log(JSON.stringify({ text: out.text, children }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
    const { text, children } = JSON.parse(stdout) as { text: string; children: string[] };
    expect(text).toBe(', there was a');
    expect(children).toHaveLength(1);
    // gone, or a zombie waiting for whoever adopted it to reap it
    const running = () => existsSync(`/proc/${children[0]}/stat`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${children[0]}/stat`, 'utf8'));
    for (let i = 0; i < 100 && running(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(running()).toBe(false);
  });

  it('refuses bad placement options and a missing file before starting a process', async () => {
    await expect(loadModel(join(dir, 'none.gguf'), { isolate: true })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/none\.gguf: no such file/) });
    await expect(loadModel(STORIES, { gpu: 'cpu', gpus: [0] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/not with gpu 'cpu'/) });
    await expect(loadModel(STORIES, { gpu: 'cpu', replicas: 0 })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/replicas must be an integer/) });
    await expect(loadModel(STORIES, { gpus: [1, 1] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/names a GPU twice/) });
    await expect(loadModel(STORIES, { splitMode: 'diagonal' as 'row' })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/splitMode must be none, layer or row/) });
    await expect(loadModel(STORIES, { tensorSplit: [3, -1] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/tensorSplit must be/) });
    await expect(loadModel(STORIES, { tensorSplit: [0, 0] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/at least one GPU/) });
    await expect(loadModel(STORIES, { gpu: 'cpu', splitMode: 'layer' })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/not with gpu 'cpu'/) });
    await expect(loadModel(STORIES, { gpus: 'all', splitMode: 'row' })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/use one or the other/) });
  });
});
