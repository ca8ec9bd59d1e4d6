/**
 * @adapterkit/backend-cuda — the CUDA backend ('cuda') for Node: a Node-API
 * addon that opens the CUDA driver, runtime, cuBLAS and NVRTC at run time,
 * device memory from a caching allocator, one stream, pinned staging and
 * asynchronous reads; matmul through cuBLAS, every other primitive CUDA C
 * compiled by NVRTC for the device and cached on disk.
 *
 * ```ts
 * import { setBackend } from '@adapterkit/core';
 * import { registerCudaBackend } from '@adapterkit/backend-cuda';
 * const cuda = registerCudaBackend();
 * if (cuda.available) setBackend('cuda');
 * else console.warn(`CUDA backend unavailable: ${cuda.reason}`);
 * ```
 *
 * Loading this package never touches CUDA; `cuda.available` / `cuda.reason`
 * probe once and say exactly what is missing on a machine without a driver,
 * GPU or toolkit.
 */
import { cudaStatus } from './status.js';

export { registerCudaBackend, createCudaBackend, precompileCudaKernels, CUDA_SUPPORTED_DTYPES, type CudaBackendOptions, type CudaRegistration, type PrecompileReport } from './register.js';
export { cudaStatus, nvrtcStatus, type CudaStatus, type NvrtcStatus } from './status.js';
export { CudaBackend, CudaStorage, CUDA_BACKEND_NAME, type CudaMemoryStats, type Dim3 } from './backend.js';
export { registerCudaSourceKernel, type CudaSourceKernel, type CudaLaunch, type CudaCall } from './source-kernel.js';
export { CudaParams } from './params.js';
export { autocast, setAutocast, autocastDType, type AutocastDType } from './autocast.js';
export { NvrtcCompiler, CudaCompileError, chooseTarget, defaultCacheDir, type CompileTarget, type CompiledImage } from './compiler.js';
export { CachingAllocator, CudaOutOfMemoryError, type AllocatorStats, type Block } from './allocator.js';
export { cudaKernels, registerCudaKernels, builtinKernelSources, type KernelSource } from './kernels/index.js';
export { PRELUDE as CUDA_PRELUDE } from './kernels/prelude.js';
export { STATUS as CUDA_STATUS_FLAGS } from './status-flags.js';
export { loadAddon, type CudaAddon, type NativeContext } from './addon.js';

/** Availability at a glance: `cuda.available`, `cuda.reason` (probed once, lazily). */
export const cuda = {
  get available(): boolean {
    return cudaStatus().available;
  },
  get reason(): string | undefined {
    return cudaStatus().reason;
  },
};
