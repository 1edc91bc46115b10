import { createHash } from 'node:crypto';
import { open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { planLlamaTensors, writeLlamaModel, type LlamaModelOptions } from '../../lib/engine/synthetic/llama-model.js';
import {
  CHATML_NO_SYSTEM_TEMPLATE,
  ensureFixtureModel,
  FIXTURE_PRESETS,
  LLAMA3_TEMPLATE,
  type FixturePresetName,
} from '../../fixtures/models.js';
import { CHATML_TEMPLATE } from '../../lib/engine/synthetic/models.js';
import { builtinTokenizer, TokenType } from '../../lib/engine/synthetic/tokenizer.js';
import { GgmlType, GgufValueType as T, readGgufHeader, validateForLlama, type GgufInfo } from '../../lib/engine/gguf/index.js';
import { STORIES, tempDir } from './helpers.js';

const TINY_PRESETS: FixturePresetName[] = ['tiny', 'tinyChat', 'tinyChatNoSystem'];

let dir: string;
let cleanup: () => Promise<void>;
const written = new Map<FixturePresetName, { path: string; info: GgufInfo }>();

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('presets'));
  for (const p of TINY_PRESETS) {
    const path = await ensureFixtureModel(p, dir);
    written.set(p, { path, info: await readGgufHeader(path) });
  }
});
afterAll(() => cleanup());

/** Metadata the writer must produce for `o`, with stored types, derived from the options alone. */
function expectedMetadata(o: LlamaModelOptions): Map<string, [number, unknown, number?]> {
  const tok = builtinTokenizer({ eosToken: o.eosToken, vocabSize: o.vocab, addBos: o.addBos });
  const m = new Map<string, [number, unknown, number?]>([
    ['general.alignment', [T.UINT32, 32]],
    ['general.architecture', [T.STRING, 'llama']],
    ['general.name', [T.STRING, o.name]],
    ['general.file_type', [T.UINT32, { f32: 0, f16: 1, q8_0: 7 }[o.type]]],
    ['general.quantization_version', [T.UINT32, 2]],
    ['llama.vocab_size', [T.UINT32, tok.tokens.length]],
    ['llama.context_length', [T.UINT32, o.contextLength]],
    ['llama.embedding_length', [T.UINT32, o.hiddenSize]],
    ['llama.block_count', [T.UINT32, o.layers]],
    ['llama.feed_forward_length', [T.UINT32, o.ffSize]],
    ['llama.attention.head_count', [T.UINT32, o.heads]],
    ['llama.attention.head_count_kv', [T.UINT32, o.kvHeads]],
    ['llama.rope.dimension_count', [T.UINT32, o.hiddenSize / o.heads]],
    ['llama.attention.layer_norm_rms_epsilon', [T.FLOAT32, Math.fround(1e-5)]],
    ['llama.rope.freq_base', [T.FLOAT32, 10000]],
  ]);
  for (const kv of tok.kvs) m.set(kv.key, [kv.type, kv.value, kv.elementType]);
  if (o.chatTemplate) m.set('tokenizer.chat_template', [T.STRING, o.chatTemplate]);
  return m;
}

describe.each(TINY_PRESETS)('preset %s', (preset) => {
  it('round-trips all metadata with the stored types', () => {
    const { info } = written.get(preset)!;
    const o = FIXTURE_PRESETS[preset]();
    const expected = expectedMetadata(o);
    expect([...info.metadata.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, [type, value, elementType]] of expected) {
      expect(info.metadata.get(key), key).toEqual(value);
      expect(info.metadataTypes.get(key), key).toEqual(type === T.ARRAY ? { type, elementType } : { type });
    }
    expect(info.architecture).toBe('llama');
    expect(info.name).toBe(o.name);
    expect(info.blockCount).toBe(o.layers);
    expect(info.embeddingLength).toBe(o.hiddenSize);
    expect(info.contextLength).toBe(o.contextLength);
    expect(info.chatTemplate).toBe(o.chatTemplate ?? null);
    expect(info.vocabSize).toBe((expected.get('tokenizer.ggml.tokens')![1] as string[]).length);
  });

  it('has exactly the tensors of the llama loader, contiguous and aligned', () => {
    const { info } = written.get(preset)!;
    const o = FIXTURE_PRESETS[preset]();
    const plan = planLlamaTensors(o, info.vocabSize!);
    expect(info.tensors.map((t) => [t.name, t.shape, t.type])).toEqual(plan.map((t) => [t.name, t.shape, t.type]));
    expect(info.tensors.length).toBe(3 + 9 * o.layers);
    const names = info.tensors.map((t) => t.name);
    for (const n of ['token_embd.weight', 'output_norm.weight', 'output.weight', `blk.${o.layers - 1}.ffn_down.weight`]) expect(names).toContain(n);
    expect(info.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!.shape).toEqual([64, 32]); // kvHeads 2 × head dim 16
    expect(info.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')!.shape).toEqual([192, 64]);
    let at = 0;
    for (const t of info.tensors) {
      expect(t.offset).toBe(at);
      at = Math.ceil((t.offset + t.byteSize) / 32) * 32;
    }
    expect(info.dataOffset % 32).toBe(0);
    expect(info.fileSize).toBe(info.dataOffset + at);
    expect(() => validateForLlama(info)).not.toThrow();
  });

  it('holds finite weights ~N(0, 0.02²) and norms of 1', async () => {
    const { path, info } = written.get(preset)!;
    const fh = await open(path, 'r');
    try {
      const read = async (name: string) => {
        const t = info.tensors.find((x) => x.name === name)!;
        const buf = Buffer.alloc(t.byteSize);
        await fh.read(buf, 0, t.byteSize, info.dataOffset + t.offset);
        return new Float32Array(buf.buffer, buf.byteOffset, t.byteSize / 4);
      };
      const emb = await read('token_embd.weight');
      const mean = emb.reduce((a, b) => a + b, 0) / emb.length;
      const std = Math.sqrt(emb.reduce((a, b) => a + (b - mean) ** 2, 0) / emb.length);
      expect(emb.every(Number.isFinite)).toBe(true);
      expect(Math.abs(mean)).toBeLessThan(0.001);
      expect(std).toBeGreaterThan(0.019);
      expect(std).toBeLessThan(0.021);
      expect((await read('blk.1.ffn_norm.weight')).every((x) => x === 1)).toBe(true);
      const q = await read('blk.2.attn_q.weight');
      expect(q.slice(0, 8)).not.toEqual(emb.slice(0, 8)); // every tensor has its own stream
    } finally {
      await fh.close();
    }
  });
});

describe('built-in tokenizer', () => {
  const tok = builtinTokenizer({ eosToken: '<|im_end|>' });
  const kv = (k: string) => tok.kvs.find((x) => x.key === k)!.value;
  const types = kv('tokenizer.ggml.token_type') as number[];
  const scores = kv('tokenizer.ggml.scores') as number[];

  it('is an SPM vocabulary with specials, byte tokens and scored pieces', () => {
    expect(kv('tokenizer.ggml.model')).toBe('llama');
    expect(tok.tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect(types.slice(0, 3)).toEqual([TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]);
    for (let b = 0; b < 256; b++) {
      expect(tok.tokens[3 + b]).toBe(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      expect(types[3 + b]).toBe(TokenType.BYTE);
    }
    const id = (s: string) => tok.tokens.indexOf(s);
    expect(types[id('<|im_start|>')]).toBe(TokenType.CONTROL);
    expect(types[id('<|im_end|>')]).toBe(TokenType.CONTROL);
    expect(types[id('<think>')]).toBe(TokenType.USER_DEFINED);
    expect(types[id('</think>')]).toBe(TokenType.USER_DEFINED);
    expect(kv('tokenizer.ggml.bos_token_id')).toBe(1);
    expect(kv('tokenizer.ggml.eos_token_id')).toBe(id('<|im_end|>'));
    expect(kv('tokenizer.ggml.unknown_token_id')).toBe(0);
    expect(kv('tokenizer.ggml.add_bos_token')).toBe(true);
    expect(new Set(tok.tokens).size).toBe(tok.tokens.length);
    expect(tok.tokens.length).toBeGreaterThan(1000);
    // Every merged piece can be reached by pairwise merges: all its prefixes are pieces or characters.
    for (const w of ['\u2581the', '\u2581people', '\u2581world', '\u2581happy', '\u2581assistant']) {
      for (let n = 1; n <= w.length; n++) expect(tok.tokens, w.slice(0, n)).toContain(w.slice(0, n));
    }
    expect(scores[id('\u2581the')]!).toBeGreaterThan(scores[id('\u2581people')]!);
  });

  it('pads to a requested vocabulary size with unused tokens', () => {
    const big = builtinTokenizer({ vocabSize: 4096 });
    expect(big.tokens.length).toBe(4096);
    const t = big.kvs.find((x) => x.key === 'tokenizer.ggml.token_type')!.value as number[];
    expect(t[4095]).toBe(TokenType.UNUSED);
    expect(() => builtinTokenizer({ vocabSize: 10 })).toThrow(/too small/);
  });
});

describe('chat templates', () => {
  const conv = [
    { role: 'system', content: 'Be warm.' },
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'How are you?' },
  ];

  it('ChatML renders with a generation prompt', () => {
    const out = new Template(CHATML_TEMPLATE).render({ messages: conv, add_generation_prompt: true });
    expect(out).toBe(
      '<|im_start|>system\nBe warm.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n' +
        '<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(new Template(CHATML_TEMPLATE).render({ messages: conv.slice(1, 2), add_generation_prompt: false })).toBe('<|im_start|>user\nHi<|im_end|>\n');
  });

  it('the no-system template raises on a system message', () => {
    const t = new Template(CHATML_NO_SYSTEM_TEMPLATE);
    expect(() => t.render({ messages: conv, add_generation_prompt: true })).toThrow(/System role not supported/);
    expect(t.render({ messages: conv.slice(1), add_generation_prompt: true })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('the Llama 3 template renders headers, bos and <|eot_id|>', () => {
    const out = new Template(LLAMA3_TEMPLATE).render({ messages: conv.slice(0, 2), add_generation_prompt: true, bos_token: '<|begin_of_text|>' });
    expect(out).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe warm.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });
});

describe('ensureFixtureModel', () => {
  it('reuses a written model and never leaves temporary files', async () => {
    const first = written.get('tiny')!.path;
    const before = await stat(first);
    const again = await ensureFixtureModel('tiny', dir);
    expect(again).toBe(first);
    expect((await stat(again)).mtimeMs).toBe(before.mtimeMs);
    const [a, b] = await Promise.all([ensureFixtureModel('tinyChat', dir), ensureFixtureModel('tinyChat', dir)]);
    expect(a).toBe(b);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('names files by a hash of the options and rewrites a damaged file', async () => {
    const other = await ensureFixtureModel({ ...FIXTURE_PRESETS.tiny(), seed: 2 }, dir);
    expect(other).not.toBe(written.get('tiny')!.path);
    expect(other).toMatch(/moodaxis-tiny-[0-9a-f]{12}\.gguf$/);
    await writeFile(other, Buffer.from('GGUF'));
    const repaired = await ensureFixtureModel({ ...FIXTURE_PRESETS.tiny(), seed: 2 }, dir);
    expect(repaired).toBe(other);
    expect((await readGgufHeader(repaired)).tensors.length).toBe(39);
  });

  it('is deterministic: the same options give the same bytes', async () => {
    const p = join(dir, 'again.gguf');
    await writeLlamaModel(p, FIXTURE_PRESETS.tiny());
    const h = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');
    expect(await h(p)).toBe(await h(written.get('tiny')!.path));
  });
});

describe('other shapes and types', () => {
  it('writes q8_0 blocks directly, keeping norms F32 and falling back to F16 for odd rows', async () => {
    const o: LlamaModelOptions = { ...FIXTURE_PRESETS.tiny(), name: 'q8', type: 'q8_0', ffSize: 100, layers: 2 };
    const path = await ensureFixtureModel(o, dir);
    const info = await readGgufHeader(path);
    validateForLlama(info);
    const type = (n: string) => info.tensors.find((t) => t.name === n)!.typeName;
    expect(type('token_embd.weight')).toBe('Q8_0');
    expect(type('blk.0.attn_q.weight')).toBe('Q8_0');
    expect(type('blk.0.ffn_up.weight')).toBe('Q8_0'); // rows of d = 64
    expect(type('blk.0.ffn_down.weight')).toBe('F16'); // rows of ff = 100
    expect(type('blk.0.attn_norm.weight')).toBe('F32');
    expect(info.metadata.get('general.file_type')).toBe(7);
  });

  it('writes f16 models and tied embeddings', async () => {
    const o: LlamaModelOptions = { ...FIXTURE_PRESETS.tiny(), name: 'f16tied', type: 'f16', tieEmbeddings: true, layers: 1 };
    const info = await readGgufHeader(await ensureFixtureModel(o, dir));
    validateForLlama(info);
    expect(info.tensors.map((t) => t.name)).not.toContain('output.weight');
    expect(info.tensors.find((t) => t.name === 'token_embd.weight')!.typeName).toBe('F16');
    expect(info.metadata.get('general.file_type')).toBe(1);
  });

  it('copies a tokenizer from another GGUF (stories260K)', async () => {
    const o: LlamaModelOptions = { ...FIXTURE_PRESETS.tiny(), name: 'stories-tok', tokenizer: { fromGguf: STORIES }, chatTemplate: CHATML_TEMPLATE };
    const info = await readGgufHeader(await ensureFixtureModel(o, dir));
    const src = await readGgufHeader(STORIES);
    validateForLlama(info);
    for (const [k, v] of src.metadata) {
      if (!k.startsWith('tokenizer.')) continue;
      expect(info.metadata.get(k), k).toEqual(v);
      expect(info.metadataTypes.get(k), k).toEqual(src.metadataTypes.get(k));
    }
    expect(info.vocabSize).toBe(512);
    expect(info.chatTemplate).toBe(CHATML_TEMPLATE);
    expect(info.tensors[0]!.shape).toEqual([64, 512]);
    await expect(ensureFixtureModel({ ...o, vocab: 1000 }, dir)).rejects.toThrow(/does not match the 512 tokens/);
  });

  it('plans the llama1b and llama3_8b shapes', () => {
    vi.stubEnv('MOODAXIS_LLAMA3_VOCAB', STORIES); // any existing file: only the options are used here
    try {
      const b8 = FIXTURE_PRESETS.llama3_8b();
      const plan8 = planLlamaTensors(b8, 128256);
      expect(plan8.length).toBe(3 + 32 * 9);
      const shape = (n: string) => plan8.find((t) => t.name === n)!.shape;
      expect(shape('token_embd.weight')).toEqual([4096, 128256]);
      expect(shape('blk.0.attn_k.weight')).toEqual([4096, 1024]);
      expect(shape('blk.31.ffn_down.weight')).toEqual([14336, 4096]);
      expect(plan8.filter((t) => t.type === GgmlType.Q8_0).length).toBe(2 + 32 * 7);
      const params = plan8.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
      expect(params).toBe(8_030_261_248); // Llama 3 8B
      expect(b8.chatTemplate).toBe(LLAMA3_TEMPLATE);
      expect(b8.eosToken).toBe('<|eot_id|>');
      const b1 = FIXTURE_PRESETS.llama1b();
      const plan1 = planLlamaTensors(b1, 128256);
      expect(plan1.map((t) => t.name)).not.toContain('output.weight');
      expect(plan1.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0)).toBe(1_235_814_400); // Llama 3.2 1B
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
