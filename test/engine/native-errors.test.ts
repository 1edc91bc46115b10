/**
 * The native edge, called directly: the addon holds no defaults (a missing or mistyped field is refused,
 * naming it), and every error it gives carries the `code` C++ set where the failure was known:
 * BAD_INPUT, RESOURCE, CANCELLED or NATIVE. The engine (lib/engine/model.ts) passes that code on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeAddon, type NativeAddon, type NativeGenerateOptions, type NativeModel, type NativeRequest } from '../../lib/engine/binding.js';
import { errorCode, loadModel } from '../../lib/engine/index.js';
import { repoPath, testModel } from '../helpers/paths.js';

const STORIES = testModel('stories260K.gguf');

const request = (over: Partial<NativeRequest> = {}): NativeRequest => ({
  text: 'Once upon a time', addSpecial: true, parseSpecial: false, maxTokens: 6, seed: 1, startInThink: false, ...over,
});
const options = (over: Partial<NativeGenerateOptions> = {}): NativeGenerateOptions => ({
  temperature: 0, topK: 0, topP: 1, ignoreEos: false, thinkBudget: -1, thinkClose: -1, parallel: 2, contextLimit: 0,
  flashAttn: false, f32Cache: true, backendSampling: false, deviceTopK: false, compactTail: false, solo: false, stream: false, reuseCache: false, capture: null, evalCostTokens: 32, copyCostTokens: 16, batchTokens: 512, ...over,
});

/** The rejection of a promise (or the throw of a call), with its message and code. */
async function failure(run: () => unknown): Promise<{ message: string; code: unknown }> {
  try {
    await run();
  } catch (error) {
    return { message: (error as Error).message, code: (error as { code?: unknown }).code };
  }
  throw new Error('expected a failure');
}

describe('native errors carry a code set in C++', () => {
  let addon: NativeAddon;
  let model: NativeModel;
  beforeAll(async () => {
    ({ addon } = await nativeAddon());
    model = await addon.Model.load(STORIES, { gpuLayers: 0, useMmap: true });
  });
  afterAll(() => model?.dispose());

  it('every field is required: a missing or mistyped one is refused, naming it (BAD_INPUT)', async () => {
    const ctx = new addon.Context(model, { threads: 1 });
    try {
      const { temperature: _, ...noTemperature } = options();
      expect(await failure(() => ctx.generate([request()], noTemperature as NativeGenerateOptions))).toEqual({ code: 'BAD_INPUT', message: 'generate options.temperature must be a number' });
      const { seed: __, ...noSeed } = request();
      expect(await failure(() => ctx.generate([noSeed as NativeRequest], options()))).toEqual({ code: 'BAD_INPUT', message: 'generate requests[0].seed must be an unsigned 32-bit integer' });
      expect(await failure(() => ctx.generate([request(), request({ maxTokens: 2.5 })], options()))).toEqual({ code: 'BAD_INPUT', message: 'generate requests[1].maxTokens must be a 32-bit integer' });
      expect(await failure(() => ctx.generate([request()], options({ deviceTopK: true, topK: 0 })))).toEqual({ code: 'BAD_INPUT', message: 'generate options.deviceTopK needs topK > 0, no allowedTokens and no backendSampling' });
      expect(await failure(() => ctx.generate([request()], options({ capture: undefined as never })))).toEqual({ code: 'BAD_INPUT', message: 'generate options.capture must be an object' });
      expect(await failure(() => ctx.generate([request()], options({ capture: { layers: [{ block: 1, weight: 1 } as never], tokenDecay: 0.9, compat: false } })))).toEqual({
        code: 'BAD_INPUT', message: 'generate options.capture.layers[0].finalNorm must be a boolean',
      });
      expect(await failure(() => ctx.generate([request({ tokens: [1, 2] as never })], options()))).toEqual({ code: 'BAD_INPUT', message: 'generate requests[0].tokens must be an Int32Array' });
      expect(await failure(() => ctx.generate([request()], options({ parallel: 0 })))).toEqual({ code: 'BAD_INPUT', message: 'generate options.parallel must be at least 1' });
      expect(await failure(() => ctx.generate([request()], options({ batchTokens: 0 })))).toEqual({ code: 'BAD_INPUT', message: 'generate options.batchTokens must be between 1 and 65536' });
      expect(await failure(() => ctx.forward(Int32Array.of(1, 2), ['x' as never]))).toEqual({ code: 'BAD_INPUT', message: 'forward layers[0] must be a 32-bit integer' });
      // the context still works after refused calls
      const [out] = await ctx.generate([request()], options());
      expect(out!.tokens).toBe(6);
    } finally {
      await ctx.dispose();
    }
    expect(await failure(() => addon.Model.load(STORIES, { gpuLayers: 0 } as never))).toEqual({ code: 'BAD_INPUT', message: 'Model.load options.useMmap must be a boolean' });
    expect(await failure(() => new addon.Context(model, {} as never))).toEqual({ code: 'BAD_INPUT', message: 'Context options.threads must be a 32-bit integer' });
    expect(await failure(() => new addon.Context({} as never, { threads: 1 }))).toMatchObject({ code: 'BAD_INPUT' });
  });

  it('bad token ids and layers are BAD_INPUT, found on the owner thread', async () => {
    const ctx = new addon.Context(model, { threads: 1 });
    try {
      expect(await failure(() => ctx.generate([request({ tokens: Int32Array.of(1, 600) })], options()))).toEqual({
        code: 'BAD_INPUT', message: 'request 0: token id 600 is outside the vocabulary (0..511)',
      });
      expect(await failure(() => ctx.generate([request({ forced: Int32Array.of(5, -3) })], options()))).toEqual({
        code: 'BAD_INPUT', message: 'request 0: response token id -3 is outside the vocabulary (0..511)',
      });
      expect(await failure(() => ctx.generate([request()], options({ allowedTokens: Int32Array.of(4, 9999) })))).toMatchObject({ code: 'BAD_INPUT' });
      expect(await failure(() => ctx.forward(Int32Array.of(1, 2, 3), [7]))).toEqual({ code: 'BAD_INPUT', message: 'layer 7 does not exist' });
      expect(await failure(() => ctx.forward(Int32Array.of(1, 512), [1]))).toEqual({ code: 'BAD_INPUT', message: 'token id 512 is outside the vocabulary (0..511)' });
    } finally {
      await ctx.dispose();
    }
  });

  it('a context that cannot be had is RESOURCE; a disposed one is CANCELLED', async () => {
    const ctx = new addon.Context(model, { threads: 1 });
    process.env.MOODAXIS_KV_MEMORY_LIMIT = '1000';
    try {
      const refused = await failure(() => ctx.generate([request()], options()));
      expect(refused.code).toBe('RESOURCE');
      expect(refused.message).toMatch(/^could not create a context for 1 sequences of 256 tokens \(its KV cache needs about .* is allowed \(MOODAXIS_KV_MEMORY_LIMIT\)\)$/);
    } finally {
      delete process.env.MOODAXIS_KV_MEMORY_LIMIT;
    }
    const long = ctx.generate(Array.from({ length: 64 }, (_, i) => request({ seed: i, maxTokens: 200 })), options({ ignoreEos: true, temperature: 0.8, topK: 40, topP: 0.9, contextLimit: 4096 }));
    const outcome = failure(() => long);
    await new Promise((r) => setTimeout(r, 20));
    await ctx.dispose();
    expect(await outcome).toEqual({ code: 'CANCELLED', message: 'generation cancelled: the model or context was disposed' });
    expect(await failure(() => ctx.generate([request()], options()))).toEqual({ code: 'CANCELLED', message: 'the context has been disposed' });
  });

  it('a file llama.cpp cannot load is BAD_INPUT', async () => {
    expect(await failure(() => addon.Model.load(repoPath('package.json'), { gpuLayers: 0, useMmap: true }))).toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/^llama\.cpp could not load the model/) });
  });

  it('the engine passes the code on (no classification of messages)', async () => {
    const engine = await loadModel(STORIES, { gpu: 'cpu', threads: 1 });
    try {
      const forced = await engine.generate([{ prompt: 'Once', response: Int32Array.of(3, 700) }]).then(() => null, (e: unknown) => e);
      expect(errorCode(forced)).toBe('BAD_INPUT');
      expect((forced as Error).message).toBe('stories260K.gguf: request 0: response token id 700 is outside the vocabulary (0..511)');
      const layer = await engine.hiddenStates(Int32Array.of(1, 2), [9]).then(() => null, (e: unknown) => e);
      expect(errorCode(layer)).toBe('BAD_INPUT');
    } finally {
      await engine.dispose();
    }
  });
});
