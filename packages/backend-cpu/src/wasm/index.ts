/**
 * @adapterkit/backend-cpu/wasm — the CPU backend for browsers: typed-array
 * memory and the reference TS kernels, with f32 matmul in a WebAssembly SIMD
 * GEMM. Imports nothing from Node.
 *
 * ```ts
 * import { setBackend } from '@adapterkit/core';
 * import { registerWasmCpuBackend } from '@adapterkit/backend-cpu/wasm';
 * const r = await registerWasmCpuBackend();
 * if (r.available) setBackend('cpu');
 * ```
 */
export { registerWasmCpuBackend, WASM_KERNEL_IMPLEMENTATIONS, type WasmCpuRegistration, type WasmKernelPath } from './register.js';
export { WasmGemm, gemmWasmBytes } from './wasm-gemm.js';
