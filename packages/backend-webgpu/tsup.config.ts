import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  // The public types mention GPUDevice/GPUBuffer: make consumers see the WebGPU globals.
  dts: { banner: '/// <reference types="@webgpu/types" />' },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Dawn for Node is loaded lazily with import('webgpu') and only in Node; never bundle it.
  external: ['webgpu', '@adapterkit/core'],
});
