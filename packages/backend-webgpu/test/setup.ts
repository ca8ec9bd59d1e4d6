import { registerWebGpuBackend, type WebGpuBackend } from '../src/index.js';

let backend: Promise<WebGpuBackend> | null = null;

/**
 * Creates the 'webgpu' backend once per test process and registers it with
 * core. Fails loudly (never skips) when no adapter is found: in Node, Dawn
 * needs a Vulkan driver — see DEVELOPERS.md.
 */
export function initWebGpu(): Promise<WebGpuBackend> {
  backend ??= registerWebGpuBackend({ debug: true });
  return backend;
}
