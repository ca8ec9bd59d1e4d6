import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One Dawn instance per process: run test files one after another in a single fork.
    fileParallelism: false,
    pool: 'forks',
  },
});
