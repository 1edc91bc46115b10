import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Engine tests run llama.cpp on every core: test files run one after another.
    fileParallelism: false,
  },
});
