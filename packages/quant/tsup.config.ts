import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', bench: 'bench/quant.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Core must stay one instance (kernel registry, Tensor identity): never bundle it.
  external: ['@adapterkit/core', '@adapterkit/backend-cpu', '@adapterkit/method-lora'],
});
