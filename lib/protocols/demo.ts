/** The embedded demo model: a small chat-templated llama with random weights, made once into the cache. */
import { join } from 'node:path';
import { ensureSyntheticModel, TINY_CHAT_MODEL } from '../engine/synthetic/models.js';
import { cacheDir } from './cache.js';

export const DEMO_NOTE = 'demo model with random weights: its scores mean nothing; run `moodaxis fingerprint your-model.gguf` for a real one';

export async function demoModelPath(): Promise<string> {
  return ensureSyntheticModel(TINY_CHAT_MODEL, join(cacheDir(), 'models'));
}
