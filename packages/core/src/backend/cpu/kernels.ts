import type { KernelImpl } from '../backend.js';
import { attentionKernel } from './attention.js';
import { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS } from '../primitives.js';
import { registerKernel } from '../registry.js';
import { binaryKernel, compareKernel } from './binary.js';
import { CPU_BACKEND_NAME } from './common.js';
import { castKernel, copyKernel, whereKernel } from './elementwise.js';
import { fillKernel, randomKernel } from './fill-random.js';
import { gatherKernel, scatterAddKernel } from './gather.js';
import { crossEntropyBackwardKernel, crossEntropyKernel } from './loss.js';
import { matmulKernel } from './matmul.js';
import { layerNormBackwardKernel, layerNormKernel, rmsNormBackwardKernel, rmsNormKernel } from './norm.js';
import { reduceKernel } from './reduce.js';
import { softmaxKernel } from './softmax.js';
import { unaryKernel } from './unary.js';

/** Every cpu-ref kernel by primitive name, plus the optional 'attention' (see primitives.ts for the contracts). */
export function cpuKernels(): Map<string, KernelImpl> {
  const k = new Map<string, KernelImpl>();
  for (const op of UNARY_OPS) k.set(op, (_b, args) => unaryKernel(op, args));
  for (const op of BINARY_OPS) k.set(op, (_b, args) => binaryKernel(op, args));
  for (const op of COMPARE_OPS) k.set(op, (_b, args) => compareKernel(op, args));
  for (const op of REDUCE_OPS) k.set(op, (_b, args) => reduceKernel(op, args));
  k.set('fill', (_b, args) => fillKernel(args));
  k.set('random', (_b, args) => randomKernel(args));
  k.set('copy', (_b, args) => copyKernel(args));
  k.set('cast', (_b, args) => castKernel(args));
  k.set('where', (_b, args) => whereKernel(args));
  k.set('matmul', (_b, args) => matmulKernel(args));
  k.set('gather', (_b, args) => gatherKernel(args));
  k.set('scatterAdd', (_b, args) => scatterAddKernel(args));
  k.set('softmax', (_b, args) => softmaxKernel(false, args));
  k.set('logSoftmax', (_b, args) => softmaxKernel(true, args));
  k.set('layerNorm', (_b, args) => layerNormKernel(args));
  k.set('layerNormBackward', (_b, args) => layerNormBackwardKernel(args));
  k.set('rmsNorm', (_b, args) => rmsNormKernel(args));
  k.set('rmsNormBackward', (_b, args) => rmsNormBackwardKernel(args));
  k.set('crossEntropy', (_b, args) => crossEntropyKernel(args));
  k.set('crossEntropyBackward', (_b, args) => crossEntropyBackwardKernel(args));
  // Optional fused kernel (OPTIONAL_KERNELS): the reference for other backends' versions, and the
  // path cpu-ref's own scaledDotProductAttention takes (see ops/attention.ts for why).
  k.set('attention', (_b, args) => attentionKernel(args));
  return k;
}

/** Registers every kernel above for 'cpu-ref' (called by registerCpuBackend). */
export function registerCpuKernels(): void {
  for (const [name, impl] of cpuKernels()) registerKernel(name, CPU_BACKEND_NAME, impl);
}
