/**
 * The synthetic models the library itself needs, and a cache that writes each model file once.
 *
 * | model           | blocks | d  | ff  | heads/kv | vocab            | type | chat template            | used by                 |
 * |-----------------|--------|----|-----|----------|------------------|------|--------------------------|-------------------------|
 * | TINY_MODEL      | 4      | 64 | 192 | 4/2      | built-in (~1.3k) | f32  | none                     | the CUDA backend probe  |
 * | TINY_CHAT_MODEL | 4      | 64 | 192 | 4/2      | built-in         | f32  | ChatML, eos <\|im_end\|> | the demo (`--demo`)     |
 *
 * Tests build more shapes from the same pieces (fixtures/models.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { modelIdentity, readGgufHeader } from '../gguf/index.js';
import { writeLlamaModel, type LlamaModelOptions } from './llama-model.js';

/** ChatML (Qwen style) with add_generation_prompt. */
export const CHATML_TEMPLATE = [
  "{%- for message in messages -%}",
  "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' -}}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}",
  "{{- '<|im_start|>assistant\\n' -}}",
  "{%- endif -%}",
].join('\n');

/** The smallest model llama.cpp loads: 4 blocks of width 64, no chat template. */
export const TINY_MODEL: Readonly<LlamaModelOptions> = {
  name: 'moodaxis-tiny',
  layers: 4,
  hiddenSize: 64,
  ffSize: 192,
  heads: 4,
  kvHeads: 2,
  contextLength: 512,
  seed: 1,
  type: 'f32',
  chatTemplate: null,
  tokenizer: 'builtin',
};

/** TINY_MODEL with a ChatML template whose end marker is the end of generation: the demo model. */
export const TINY_CHAT_MODEL: Readonly<LlamaModelOptions> = { ...TINY_MODEL, name: 'moodaxis-tiny-chat', chatTemplate: CHATML_TEMPLATE, eosToken: '<|im_end|>' };

/** Bump when the bytes written for the same options change, so cached files are not reused. */
export const SYNTHETIC_FORMAT_VERSION = 1;

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Short hash of everything that determines the file's bytes: the options (a copied tokenizer by the
 * identity of its source file, not its path) and {@link SYNTHETIC_FORMAT_VERSION}.
 */
export async function syntheticModelKey(options: LlamaModelOptions): Promise<string> {
  const tokenizer = options.tokenizer === 'builtin' ? 'builtin' : { fromGguf: await modelIdentity(options.tokenizer.fromGguf) };
  const material = canonicalJson({ ...options, tokenizer, format: SYNTHETIC_FORMAT_VERSION });
  return createHash('sha256').update(material).digest('hex').slice(0, 12);
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Path of the model `options` describe in `dir`, writing it first if needed. The file is named
 * `<name>-<key>.gguf` ({@link syntheticModelKey}); it is written under a temporary name and renamed, so a
 * reader never sees a half-written file, and an existing file is reused after checking its header.
 */
export async function ensureSyntheticModel(options: LlamaModelOptions, dir: string): Promise<string> {
  const slug = options.name.replace(/[^A-Za-z0-9._-]+/g, '_');
  const file = join(dir, `${slug}-${await syntheticModelKey(options)}.gguf`);
  let job = inFlight.get(file);
  if (!job) {
    job = writeOnce(file, dir, options).finally(() => inFlight.delete(file));
    inFlight.set(file, job);
  }
  return job;
}

async function writeOnce(file: string, dir: string, options: LlamaModelOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  if (existsSync(file)) {
    try {
      await readGgufHeader(file);
      return file;
    } catch {
      // damaged or foreign: write it again
    }
  }
  const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    await writeLlamaModel(tmp, options);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return file;
}
