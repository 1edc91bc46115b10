/**
 * GGUF files in pure TypeScript: reading and checking a model before llama.cpp sees it, its content
 * identity, and writing GGUF files (control vectors, the synthetic models).
 *
 * llama.cpp aborts the whole process (GGML_ASSERT) on some malformed or hostile files instead of
 * returning an error, so every model goes through {@link readGgufHeader} (file layout) and
 * {@link validateForLlama} (what llama.cpp's loader needs) before it is handed to the native addon.
 *
 * | module | holds |
 * |---|---|
 * | format.ts | value types, ggml tensor types, alignment, llama.cpp's layer and expert limits |
 * | limits.ts | the caps on sizes a file claims (the file is untrusted input) |
 * | error.ts, types.ts | GgufError (ggufError, isGgufError); what the reader returns |
 * | file.ts | opening a model file, the bounds-checked forward reader |
 * | reader.ts | readGgufHeader: header, metadata, tensor infos |
 * | validate.ts | validateForLlama: architecture, hyperparameters, tokenizer, tensor shapes |
 * | identity.ts | modelIdentity: a sampled sha256 of the file |
 * | writer.ts | GgufWriter: GGUF v3 with streamed tensor data |
 */
export * from './format.js';
export * from './limits.js';
export * from './error.js';
export type * from './types.js';
export { readGgufHeader } from './reader.js';
export * from './validate.js';
export * from './identity.js';
export * from './writer.js';
