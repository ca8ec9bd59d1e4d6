import { primitiveKernelTable, registerKernel, type KernelImpl } from '@adapterkit/core';
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
  return primitiveKernelTable<WebGpuBackend>({
    unary: unaryKernel,
    binary: binaryKernel,
    compare: compareKernel,
    reduce: reduceKernel,
    softmax: softmaxKernel,
    fill: fillKernel,
    random: randomKernel,
    copy: copyKernel,
    cast: castKernel,
    where: whereKernel,
    matmul: matmulKernel,
    gather: gatherKernel,
    scatterAdd: scatterAddKernel,
    layerNorm: layerNormKernel,
    layerNormBackward: layerNormBackwardKernel,
    rmsNorm: rmsNormKernel,
    rmsNormBackward: rmsNormBackwardKernel,
    crossEntropy: crossEntropyKernel,
    crossEntropyBackward: crossEntropyBackwardKernel,
    attention: attentionKernel,
  });
}

let registered = false;

/** Registers every kernel above for 'webgpu'. Idempotent, so a plugin's later override is kept. */
export function registerWebGpuKernels(): void {
  if (registered) return;
  registered = true;
  for (const [name, impl] of webGpuKernels()) registerKernel(name, WEBGPU_BACKEND_NAME, impl);
}
