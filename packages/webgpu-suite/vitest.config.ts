import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The other packages' test files, run on WebGPU. Every @adapterkit package is
 * aliased to its TypeScript source so that core's own tests (which import
 * ../src) and the packages that import '@adapterkit/core' share one module
 * instance — one backend registry, one default backend.
 */
const pkg = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));

/** Test files that run here; the rest are backend-specific (f64 gradient checks, CPU kernels, file formats). */
export const SUITE = [
  'core/test/models-bert.test.ts',
  'core/test/models-llama.test.ts',
  'core/test/models-llama-parity.test.ts',
  'core/test/models-llama-gguf.test.ts',
  'core/test/heads.test.ts',
  'core/test/heads-parity.test.ts',
  'core/test/generation.test.ts',
  'core/test/adapters-host.test.ts',
  'core/test/train-mlp.test.ts',
  'core/test/auto.test.ts',
  'core/test/adapter-files.test.ts',
  'method-bottleneck/test/*.test.ts',
  'method-lora/test/*.test.ts',
  'method-prefix/test/*.test.ts',
  'composition/test/*.test.ts',
  'webgpu-suite/test/*.test.ts',
];

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@adapterkit\/core$/, replacement: pkg('core/src/index.ts') },
      { find: /^@adapterkit\/core\/conformance$/, replacement: pkg('core/src/conformance/index.ts') },
      { find: /^@adapterkit\/backend-webgpu$/, replacement: pkg('backend-webgpu/src/index.ts') },
      { find: /^@adapterkit\/method-bottleneck$/, replacement: pkg('method-bottleneck/src/index.ts') },
      { find: /^@adapterkit\/method-lora$/, replacement: pkg('method-lora/src/index.ts') },
      { find: /^@adapterkit\/method-prefix$/, replacement: pkg('method-prefix/src/index.ts') },
      { find: /^@adapterkit\/composition$/, replacement: pkg('composition/src/index.ts') },
    ],
  },
  test: {
    root: pkg(''),
    include: SUITE,
    setupFiles: [fileURLToPath(new URL('./setup.ts', import.meta.url))],
    env: { ADAPTERKIT_TEST_BACKEND: 'webgpu' },
    // One Dawn device per worker; lavapipe already uses both cores.
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
