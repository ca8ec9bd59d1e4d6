/// <reference types="@webgpu/types" />
/**
 * @adapterkit/backend-webgpu — the WebGPU backend: WGSL kernels for every
 * primitive, on navigator.gpu in browsers or Dawn (the `webgpu` package) in Node.
 */
export {
  WebGpuBackend,
  WebGpuStorage,
  WEBGPU_BACKEND_NAME,
  createWebGpuBackend,
  registerWebGpuBackend,
  type CreateWebGpuBackendOptions,
  type DispatchSpec,
  type WebGpuBackendOptions,
} from './backend.js';
export { webGpuKernels, registerWebGpuKernels } from './kernels/index.js';
export { matmulDesign, type MatmulDesign } from './kernels/matmul.js';
export { getGpu } from './device.js';
export { Params, header, loadFns, storeFns, grid, ENTRY_1D, MATH_WGSL, WG, type Access, type BindingDecl } from './shader.js';
