import { defineConfig } from 'vitest/config';

// The browser test builds the page, serves it with `vite preview` and drives Chromium: one file, 2–3 min on 2 cores
// (the limit leaves room for a machine busy with other test files: turbo runs two packages at once).
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 180_000 },
});
