/**
 * Runs before every test file of the suite: registers the WebGPU backend
 * (Dawn; fails loudly when no adapter is found) and makes it the default, so
 * tests that create tensors without naming a backend run on the GPU.
 */
import { registerWebGpuBackend } from '@adapterkit/backend-webgpu';
import { setBackend } from '@adapterkit/core';

await registerWebGpuBackend();
setBackend('webgpu');
