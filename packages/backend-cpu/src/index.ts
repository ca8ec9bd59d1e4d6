/**
 * @adapterkit/backend-cpu — the fast CPU backend ('cpu'): a Node native addon
 * with AVX-512 / AVX2 / scalar kernels chosen at run time, a packed
 * multithreaded GEMM, and fused row kernels; data stays in typed arrays on
 * the JS heap (zero-copy to native, synchronous reads).
 *
 * ```ts
 * import { setBackend } from '@adapterkit/core';
 * import { registerFastCpuBackend } from '@adapterkit/backend-cpu';
 * const cpu = registerFastCpuBackend();
 * if (cpu.available) setBackend('cpu');
 * else console.warn(`fast CPU backend unavailable, using cpu-ref: ${cpu.reason}`);
 * ```
 */
export { registerFastCpuBackend, type FastCpuRegistration } from './register.js';
export { loadCpuAddon, type AddonStatus, type CpuAddon, type LoadOptions, type NativeArray } from './addon.js';
export { FastCpuBackend, FAST_CPU_BACKEND_NAME, type FastCpuBackendOptions } from './backend.js';
export { KERNEL_IMPLEMENTATIONS, fastCpuKernels, registerFastCpuKernels, type KernelImplementation, type KernelPath } from './kernels/index.js';
export { layoutOf, MAX_DIMS } from './layout.js';
