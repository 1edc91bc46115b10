import { copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_CHUNK, modelIdentity, readGgufHeader, validateForLlama } from '../../lib/engine/gguf/index.js';
import { AIDREAMS, STORIES, tempDir } from './helpers.js';

describe('real tiny models (test/models)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir('real')));
  afterAll(() => cleanup());

  it.each([
    [STORIES, 5, 8, 4, 48],
    [AIDREAMS, 4, 4, 4, 39],
  ])('%s reads and validates', async (path, blocks, heads, kvHeads, nTensors) => {
    const info = await readGgufHeader(path);
    expect(info.version).toBe(3);
    expect(info.architecture).toBe('llama');
    expect(info.blockCount).toBe(blocks);
    expect(info.embeddingLength).toBe(64);
    expect(info.contextLength).toBe(128);
    expect(info.vocabSize).toBe(512);
    expect(info.chatTemplate).toBeNull();
    expect(info.metadata.get('llama.attention.head_count')).toBe(heads);
    expect(info.metadata.get('llama.attention.head_count_kv')).toBe(kvHeads);
    expect(info.metadata.get('llama.feed_forward_length')).toBe(172);
    expect(info.metadata.get('tokenizer.ggml.model')).toBe('llama');
    expect((info.metadata.get('tokenizer.ggml.tokens') as string[]).slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(info.metadata.get('tokenizer.ggml.seperator_token_id')).toBe(4294967295);
    expect(info.tensors.length).toBe(nTensors);
    expect(info.tensors[0]).toMatchObject({ name: 'token_embd.weight', shape: [64, 512], typeName: 'F32', offset: 0, byteSize: 64 * 512 * 4 });
    const last = info.tensors.at(-1)!;
    expect(info.dataOffset + last.offset + last.byteSize).toBe(info.fileSize);
    expect(() => validateForLlama(info)).not.toThrow();
  });

  it('gives each model a stable, distinct identity that follows sampled weights', async () => {
    const a = await modelIdentity(STORIES);
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await modelIdentity(STORIES)).toBe(a);
    expect(await modelIdentity(AIDREAMS)).not.toBe(a);

    // A copy has the same identity; changing a byte inside the first sampled chunk changes it.
    const copy = join(dir, 'copy.gguf');
    await copyFile(STORIES, copy);
    expect(await modelIdentity(copy)).toBe(a);
    const info = await readGgufHeader(copy);
    const fh = await open(copy, 'r+');
    const at = info.dataOffset + IDENTITY_CHUNK - 1;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, at);
    await fh.close();
    expect(await modelIdentity(copy)).not.toBe(a);
  });
});
