import { registerKernel, type KernelImpl } from '@adapterkit/core';
import { cpuQuantKernels } from './cpu.js';
import { fastCpuQuantKernels } from './cpu-fast.js';
import { CUDA_QUANT4_KEY, CUDA_QUANT4_SOURCE, CUDA_QUANT8_KEY, CUDA_QUANT8_SOURCE, cudaQuantKernels, registerCudaKernelSource } from './cuda.js';
import { webGpuQuantKernels } from './webgpu.js';

/** Backends this package registers kernels for, and with which implementations. */
export const QUANT_KERNEL_BACKENDS = {
  /** The reference CPU backend (TS). */
  'cpu-ref': cpuQuantKernels,
  /**
   * The fast CPU backend keeps cpu-ref's memory layout (typed arrays): the
   * TS dequantization fills one transient f32 buffer per layer and the
   * backend's native GEMM does the product (f64 data uses the TS kernels).
   */
  cpu: fastCpuQuantKernels,
  /** WGSL, through @adapterkit/backend-webgpu's dispatch API. */
  webgpu: webGpuQuantKernels,
  /** CUDA C for backend-cuda (NVRTC); source only until that backend exists. */
  cuda: cudaQuantKernels,
} as const;

let registered = false;

/**
 * Registers the quant kernels (`quantMatmul4bit`, `quantMatmul4bitBackward`,
 * `quantDequantize4bit` and the 8-bit three) for 'cpu-ref', 'cpu', 'webgpu'
 * and 'cuda', and records the CUDA sources. Idempotent, so a later call does
 * not replace kernels someone registered over ours. Registering for a
 * backend that is not (yet) registered is harmless: the kernel is found once
 * it is.
 */
export function registerQuantKernels(): void {
  if (registered) return;
  registered = true;
  for (const [backend, kernels] of Object.entries(QUANT_KERNEL_BACKENDS)) {
    for (const [name, impl] of Object.entries(kernels)) registerKernel(name, backend, impl as KernelImpl);
  }
  registerCudaKernelSource({ key: CUDA_QUANT4_KEY, source: CUDA_QUANT4_SOURCE, entries: ['quant4_matmul', 'quant4_matmul_backward', 'quant4_dequantize'] });
  registerCudaKernelSource({ key: CUDA_QUANT8_KEY, source: CUDA_QUANT8_SOURCE, entries: ['quant8_matmul', 'quant8_matmul_backward', 'quant8_dequantize'] });
}
