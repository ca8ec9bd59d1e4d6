import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Core must stay one instance (registries, Tensor identity): never bundle it.
  external: ['@adapterkit/core'],
});
