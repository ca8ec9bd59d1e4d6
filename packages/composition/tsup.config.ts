import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Core and the method packages must stay one instance each (their registries): never bundle them.
  external: ['@adapterkit/core', '@adapterkit/method-bottleneck', '@adapterkit/method-lora', '@adapterkit/method-prefix'],
});
