import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The WebGPU test creates one Dawn instance; run files one after another in one fork.
    fileParallelism: false,
    pool: 'forks',
  },
});
