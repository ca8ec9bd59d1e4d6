/**
 * @adapterkit/core — tensors, autograd, backends, modules and the adapter
 * plugin host. Importing it registers the reference CPU backend ('cpu-ref').
 */
export * from './tensor/dtype.js';
export * from './tensor/shape.js';
export { Tensor, liveTensors, type NestedArray } from './tensor/tensor.js';
export * from './errors.js';
export type { Backend, Storage, View, MemoryInfo, KernelArgs, KernelImpl } from './backend/backend.js';
export * from './backend/primitives.js';
export * from './backend/registry.js';
export { tidy, keep, dispose } from './backend/scope.js';
export { runKernel, runKernelInto, emptyTensor, broadcastView, type OutputSpec } from './backend/dispatch.js';
export { memory, toBackend } from './backend/transfer.js';
export { CpuBackend, registerCpuBackend } from './backend/cpu/index.js';
export { noGrad, isGradEnabled, withGradMode } from './autograd/grad-mode.js';
export { backward, type BackwardOptions } from './autograd/backward.js';
export { checkpoint } from './autograd/checkpoint.js';
export { record } from './autograd/record.js';
export type { BackwardFn, GradNode } from './autograd/node.js';
export * from './random/generator.js';
export { uniformAt, normalAt, hash2 } from './random/hash.js';
export * from './ops/index.js';
export * from './nn/index.js';
export * from './optim/index.js';

import { registerCpuBackend } from './backend/cpu/index.js';
registerCpuBackend();
