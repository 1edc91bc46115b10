import { describe, expect, it } from 'vitest';
import { defaultParallel, fittingParallel } from '../../lib/engine/model.js';

describe('default parallelism', () => {
  // Llama-3-8B shape: 32 layers × (K 1024 + V 1024) F16 = 131,072 bytes of KV cache per token.
  const kv8b = 32 * 2048 * 2;
  const GiB = 1024 ** 3;
  it('is 256 on CUDA and 16 on the CPU', () => {
    expect(defaultParallel('cuda')).toBe(256);
    expect(defaultParallel('cpu')).toBe(16);
  });
  it('keeps 256 where the KV cache fits in half the free memory, else halves', () => {
    // 600-token sequences round up to 768: 96 MiB each; 256 of them 24 GiB
    expect(fittingParallel(256, kv8b, 600, 130 * GiB)).toBe(256);
    expect(fittingParallel(256, kv8b, 600, 48 * GiB)).toBe(256);
    expect(fittingParallel(256, kv8b, 600, 47.9 * GiB)).toBe(128);
    expect(fittingParallel(256, kv8b, 600, 18 * GiB)).toBe(64);
    expect(fittingParallel(256, kv8b, 600, 0.1 * GiB)).toBe(1);
    expect(fittingParallel(256, kv8b * 2, 600, 48 * GiB)).toBe(128); // F32 cache (deterministic mode)
  });
});
