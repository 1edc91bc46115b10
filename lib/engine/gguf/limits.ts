/**
 * Limits on every quantity whose size comes from the file (a model file is untrusted input). Generous:
 * far above every real model, far below what would exhaust memory; each is also checked against the
 * file's size before anything is allocated. The README's "Untrusted models" section lists them.
 */

/** Tensors (real models: a few thousand). */
export const MAX_TENSORS = 1 << 20;
/** Metadata keys (real models: under a hundred). */
export const MAX_KVS = 1 << 20;
export const MAX_KEY_BYTES = 1 << 16;
/** One metadata string (the largest real ones, an embedded tokenizer.json, take a few tens of MB). */
export const MAX_STRING_BYTES = 64 * 1024 * 1024;
/** All metadata strings together, keys and array elements included (held in memory as JS strings). */
export const MAX_METADATA_STRING_BYTES = 256 * 1024 * 1024;
/** One metadata array (the largest real ones, vocabularies and BPE merges, hold under a million). */
export const MAX_ARRAY_ELEMENTS = 1 << 22;
/** All metadata arrays together (each element costs 8 to 40 bytes of JS heap). */
export const MAX_METADATA_ELEMENTS = 1 << 23;
/** One token text (or BPE merge) of the vocabulary. */
export const MAX_TOKEN_BYTES = 1 << 16;
/** tokenizer.chat_template (real templates take a few KB to a few tens of KB). */
export const MAX_CHAT_TEMPLATE_BYTES = 1 << 20;
/** `<arch>.context_length`, the context the model claims (real models: up to 10M, Llama 4 Scout). */
export const MAX_CONTEXT_LENGTH = 1 << 24;
