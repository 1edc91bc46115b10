/**
 * Resources (issue 8, part 4), on the CPU:
 * - the default `parallel` steps down (halves) while its KV cache cannot be had, says so through
 *   onWarning (the CLI prints it), records it in lastGenerateStats(), and gives the same results;
 * - a `parallel` the caller chose, or an absurd parallel × maxTokens, is a clear RESOURCE error that says
 *   what to lower (never an allocation the kernel kills the process for);
 * - a model that does not fit in GPU memory: the check and its message (the GPU path itself needs a GPU).
 * MOODAXIS_KV_MEMORY_LIMIT (bytes) caps the KV cache, so "too large" is tested without using the memory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCuda } from '../../lib/engine/binding.js';
import { errorCode, loadModel } from '../../lib/engine/index.js';
import { gpuFitProblem } from '../../lib/engine/model.js';
import { testModel } from '../helpers/paths.js';
import { ensureBuilt } from '../helpers/cli.js';
import { expectNamedError, expectNoCrash, runCli, writeMiniAxisSet } from './helpers.js';

const STORIES = testModel('stories260K.gguf');
// stories260K: 5 blocks, KV width 32: 16 sequences of 256 tokens take 5 MiB (F32 cache), 4 take 1.3 MiB.
const LIMIT = String(1.5 * 2 ** 20);

let dir: string;
let mini: string;
beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'moodaxis-resources-'));
  mini = writeMiniAxisSet(join(dir, 'mini-axes.json'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function withLimit<T>(limit: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.MOODAXIS_KV_MEMORY_LIMIT;
  process.env.MOODAXIS_KV_MEMORY_LIMIT = limit;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.MOODAXIS_KV_MEMORY_LIMIT;
    else process.env.MOODAXIS_KV_MEMORY_LIMIT = before;
  }
}

const requests = Array.from({ length: 16 }, (_, i) => ({ prompt: `Once upon a time, a girl named Ann ${i}` }));

describe('parallel too large for memory', () => {
  it('the default parallel steps down, warns, records it, and gives the same results', async () => {
    const warnings: string[] = [];
    const model = await loadModel(STORIES, { gpu: 'cpu', threads: 1, onWarning: (m) => warnings.push(m) });
    try {
      const reference = await model.generate(requests, { maxTokens: 200, parallel: 4, deterministic: true });
      const stepped = await withLimit(LIMIT, () => model.generate(requests, { maxTokens: 200, deterministic: true }));
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatch(/^stories260K\.gguf: could not create a context for 16 sequences of 256 tokens \(its KV cache needs about 5\.0 MiB but 1\.5 MiB of memory is allowed \(MOODAXIS_KV_MEMORY_LIMIT\)\); retrying with parallel 8$/);
      expect(warnings[1]).toMatch(/8 sequences .* retrying with parallel 4$/);
      expect(model.lastGenerateStats()).toMatchObject({ parallel: 4, requestedParallel: 16 });
      expect(stepped.map((r) => r.text)).toEqual(reference.map((r) => r.text));
      stepped.forEach((r, i) => expect(Array.from(r.vector)).toEqual(Array.from(reference[i]!.vector)));
      // a per-call callback takes precedence over the model's
      const own: string[] = [];
      await withLimit(LIMIT, () => model.generate(requests.slice(0, 8), { maxTokens: 200, deterministic: true, onWarning: (m) => own.push(m) }));
      expect(own).toHaveLength(1);
      expect(warnings).toHaveLength(2);
      // without the limit the default runs at 16 again
      await model.generate(requests, { maxTokens: 8, deterministic: true });
      expect(model.lastGenerateStats()).toMatchObject({ parallel: 16, requestedParallel: 16 });
    } finally {
      await model.dispose();
    }
  });

  it('a parallel the caller chose is kept: a clear error that says what to lower', async () => {
    const model = await loadModel(STORIES, { gpu: 'cpu', threads: 1 });
    try {
      const error = await withLimit(LIMIT, () => model.generate(requests, { maxTokens: 200, parallel: 16, deterministic: true }).then(() => null, (e: Error) => e));
      expect(errorCode(error)).toBe('RESOURCE');
      expect(error?.message).toMatch(/^stories260K\.gguf: could not create a context for 16 sequences of 256 tokens \(its KV cache needs about 5\.0 MiB .*\); lower `parallel` or `maxTokens`$/);
      // not even one sequence fits: say so
      const one = await withLimit('100000', () => model.generate(requests, { maxTokens: 200, deterministic: true }).then(() => null, (e: Error) => e));
      expect(errorCode(one)).toBe('RESOURCE');
      expect(one?.message).toMatch(/could not create a context for 1 sequences .* even one sequence does not fit: lower `maxTokens` \(or `contextSize`\), or shorten the prompts$/);
      // the model still works afterwards
      expect(await model.generate(requests.slice(0, 2), { maxTokens: 4 })).toHaveLength(2);
    } finally {
      await model.dispose();
    }
  });

  it('absurd parallel × maxTokens: refused before anything is allocated, with the sizes', async () => {
    const model = await loadModel(STORIES, { gpu: 'cpu', threads: 1, contextSize: 1 << 20 });
    try {
      const many = Array.from({ length: 256 }, (_, i) => ({ prompt: `x ${i}` }));
      const t = performance.now();
      const error = await model.generate(many, { parallel: 256, maxTokens: (1 << 20) - 64 }).then(() => null, (e: Error) => e);
      expect(performance.now() - t).toBeLessThan(5000);
      expect(errorCode(error)).toBe('RESOURCE');
      expect(error?.message).toMatch(/^stories260K\.gguf: could not create a context for 256 sequences of 1048576 tokens \(its KV cache needs about 160\.0 GiB but [\d.]+ GiB of memory is available\); lower `parallel` or `maxTokens`$/);
      // more sequences than llama.cpp allows at all
      const tooMany = Array.from({ length: 512 }, (_, i) => ({ prompt: `x ${i}` }));
      const seqs = await model.generate(tooMany, { parallel: 512, maxTokens: 4 }).then(() => null, (e: Error) => e);
      expect(errorCode(seqs)).toBe('RESOURCE');
      expect(seqs?.message).toMatch(/512 sequences .*n_seq_max must be <= 256.*lower `parallel`/);
    } finally {
      await model.dispose();
    }
  });

  it('the CLI prints the step-down and finishes; with --parallel it exits 1 saying what to lower, without output', async () => {
    const common = ['fingerprint', STORIES, '--axes-file', mini, '--gpu', 'cpu', '--max-tokens', '200', '--baseline-max-tokens', '200', '--no-cache'];
    const stepped = await runCli([...common, '--out', join(dir, 'stepped')], { env: { MOODAXIS_KV_MEMORY_LIMIT: LIMIT } });
    expectNoCrash(stepped, 'stepped');
    expect(stepped.status, stepped.stderr).toBe(0);
    expect(stepped.stderr).toMatch(/moodaxis: warning: stories260K\.gguf: could not create a context for \d+ sequences .* retrying with parallel \d+/);
    const reference = await runCli([...common, '--parallel', '2', '--out', join(dir, 'reference')]);
    expect(reference.status, reference.stderr).toBe(0);
    const scores = (p: string) => JSON.parse(readFileSync(join(dir, p, 'fingerprint.json'), 'utf8')).axes.map((a: { scores: number[] }) => a.scores);
    expect(scores('stepped')).toEqual(scores('reference'));

    const refused = await runCli([...common, '--parallel', '16', '--out', join(dir, 'refused')], { env: { MOODAXIS_KV_MEMORY_LIMIT: LIMIT } });
    expectNoCrash(refused, 'refused');
    expect(refused.status, refused.stderr).toBe(1);
    expectNamedError(refused, STORIES, 'explicit --parallel', /lower `parallel` or `maxTokens`/);
    expect(existsSync(join(dir, 'refused', 'fingerprint.json'))).toBe(false);
  });
});

describe('a model that does not fit in GPU memory', () => {
  it('the check says it does not fit and what to do', () => {
    const gib = 2 ** 30;
    expect(gpuFitProblem('/m/big.gguf', 70 * gib, 'NVIDIA H100', 79 * gib)).toBeNull();
    const problem = gpuFitProblem('/m/big.gguf', 140 * gib, 'NVIDIA H100', 79 * gib);
    expect(problem).toBe("big.gguf: the model's weights take 140.0 GiB but NVIDIA H100 has 79.0 GiB free: it does not fit in GPU memory. Run it on the CPU (--gpu cpu, or gpu: 'cpu'), use a smaller quantization of the model, or free GPU memory");
    expect(gpuFitProblem('/m/big.gguf', 76 * gib, 'NVIDIA H100', 79 * gib)).toMatch(/does not fit/); // weights alone leave no room
    expect(gpuFitProblem('/m/big.gguf', 140 * gib, 'GPU', 0)).toBeNull(); // free memory unknown: let llama.cpp try
  });

  it('gpu: cuda where CUDA is not usable: a RESOURCE error that says to use the CPU (library and CLI)', async () => {
    const cuda = await ensureCuda();
    if (cuda.ok) return void console.warn('CUDA is usable here: the no-CUDA path is not exercised');
    const error = await loadModel(STORIES, { gpu: 'cuda' }).then(() => null, (e: Error) => e);
    expect(errorCode(error)).toBe('RESOURCE');
    expect(error?.message).toMatch(/^CUDA was asked for but is not usable: .*Use --gpu cpu/);
    const run = await runCli(['generate', STORIES, '--prompt', 'hi', '--gpu', 'cuda']);
    expectNoCrash(run, '--gpu cuda');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/moodaxis: error: CUDA was asked for but is not usable: .*Use --gpu cpu/);
  });
});
