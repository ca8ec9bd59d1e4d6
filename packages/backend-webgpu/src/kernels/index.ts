import { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS, registerKernel, type KernelImpl } from '@adapterkit/core';
import { WEBGPU_BACKEND_NAME, type WebGpuBackend } from '../backend.js';
import { attentionKernel } from './attention.js';
import { binaryKernel, castKernel, compareKernel, copyKernel, unaryKernel, whereKernel } from './elementwise.js';
import { fillKernel, randomKernel } from './fill-random.js';
import { gatherKernel, scatterAddKernel } from './gather.js';
import { crossEntropyBackwardKernel, crossEntropyKernel } from './loss.js';
import { matmulKernel } from './matmul.js';
import { layerNormBackwardKernel, layerNormKernel, rmsNormBackwardKernel, rmsNormKernel } from './norm.js';
import { reduceKernel } from './reduce.js';
import { softmaxKernel } from './softmax.js';

/** Every webgpu kernel by primitive name, plus the optional 'attention' (see core's primitives.ts for the contracts). */
export function webGpuKernels(): Map<string, KernelImpl<WebGpuBackend>> {
  const k = new Map<string, KernelImpl<WebGpuBackend>>();
  for (const op of UNARY_OPS) k.set(op, (b, args) => unaryKernel(op, b, args));
  for (const op of BINARY_OPS) k.set(op, (b, args) => binaryKernel(op, b, args));
  for (const op of COMPARE_OPS) k.set(op, (b, args) => compareKernel(op, b, args));
  for (const op of REDUCE_OPS) k.set(op, (b, args) => reduceKernel(op, b, args));
  k.set('fill', (b, args) => fillKernel(b, args));
  k.set('random', (b, args) => randomKernel(b, args));
  k.set('copy', (b, args) => copyKernel(b, args));
  k.set('cast', (b, args) => castKernel(b, args));
  k.set('where', (b, args) => whereKernel(b, args));
  k.set('matmul', (b, args) => matmulKernel(b, args));
  k.set('gather', (b, args) => gatherKernel(b, args));
  k.set('scatterAdd', (b, args) => scatterAddKernel(b, args));
  k.set('softmax', (b, args) => softmaxKernel(false, b, args));
  k.set('logSoftmax', (b, args) => softmaxKernel(true, b, args));
  k.set('layerNorm', (b, args) => layerNormKernel(b, args));
  k.set('layerNormBackward', (b, args) => layerNormBackwardKernel(b, args));
  k.set('rmsNorm', (b, args) => rmsNormKernel(b, args));
  k.set('rmsNormBackward', (b, args) => rmsNormBackwardKernel(b, args));
  k.set('crossEntropy', (b, args) => crossEntropyKernel(b, args));
  k.set('crossEntropyBackward', (b, args) => crossEntropyBackwardKernel(b, args));
  // Optional fused kernel (core's OPTIONAL_KERNELS): scaledDotProductAttention uses it when registered.
  k.set('attention', (b, args) => attentionKernel(b, args));
  return k;
}

let registered = false;

/** Registers every kernel above for 'webgpu'. Idempotent, so a plugin's later override is kept. */
export function registerWebGpuKernels(): void {
  if (registered) return;
  registered = true;
  for (const [name, impl] of webGpuKernels()) registerKernel(name, WEBGPU_BACKEND_NAME, impl);
}
