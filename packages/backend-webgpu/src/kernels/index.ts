import { BINARY_OPS, COMPARE_OPS, UNARY_OPS, registerKernel, type KernelImpl } from '@adapterkit/core';
import { WEBGPU_BACKEND_NAME, type WebGpuBackend } from '../backend.js';
import { binaryKernel, castKernel, compareKernel, copyKernel, unaryKernel, whereKernel } from './elementwise.js';

/** Every webgpu kernel by primitive name (see core's primitives.ts for the contract). */
export function webGpuKernels(): Map<string, KernelImpl<WebGpuBackend>> {
  const k = new Map<string, KernelImpl<WebGpuBackend>>();
  for (const op of UNARY_OPS) k.set(op, (b, args) => unaryKernel(op, b, args));
  for (const op of BINARY_OPS) k.set(op, (b, args) => binaryKernel(op, b, args));
  for (const op of COMPARE_OPS) k.set(op, (b, args) => compareKernel(op, b, args));
  k.set('copy', (b, args) => copyKernel(b, args));
  k.set('cast', (b, args) => castKernel(b, args));
  k.set('where', (b, args) => whereKernel(b, args));
  return k;
}

/** Registers every kernel above for 'webgpu'. */
export function registerWebGpuKernels(): void {
  for (const [name, impl] of webGpuKernels()) registerKernel(name, WEBGPU_BACKEND_NAME, impl);
}
