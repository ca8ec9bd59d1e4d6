import type { Backend, KernelImpl } from '../backend.js';
import { primitiveKernelTable } from '../kernel-table.js';
import { attentionKernel } from './attention.js';
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
  return primitiveKernelTable<Backend>({
    unary: (op, _b, args) => unaryKernel(op, args),
    binary: (op, _b, args) => binaryKernel(op, args),
    compare: (op, _b, args) => compareKernel(op, args),
    reduce: (op, _b, args) => reduceKernel(op, args),
    softmax: (log, _b, args) => softmaxKernel(log, args),
    fill: (_b, args) => fillKernel(args),
    random: (_b, args) => randomKernel(args),
    copy: (_b, args) => copyKernel(args),
    cast: (_b, args) => castKernel(args),
    where: (_b, args) => whereKernel(args),
    matmul: (_b, args) => matmulKernel(args),
    gather: (_b, args) => gatherKernel(args),
    scatterAdd: (_b, args) => scatterAddKernel(args),
    layerNorm: (_b, args) => layerNormKernel(args),
    layerNormBackward: (_b, args) => layerNormBackwardKernel(args),
    rmsNorm: (_b, args) => rmsNormKernel(args),
    rmsNormBackward: (_b, args) => rmsNormBackwardKernel(args),
    crossEntropy: (_b, args) => crossEntropyKernel(args),
    crossEntropyBackward: (_b, args) => crossEntropyBackwardKernel(args),
    // The reference for other backends' versions, and the path cpu-ref's own
    // scaledDotProductAttention takes (see ops/attention.ts for why).
    attention: (_b, args) => attentionKernel(args),
  });
}

/** Registers every kernel above for 'cpu-ref' (called by registerCpuBackend). */
export function registerCpuKernels(): void {
  for (const [name, impl] of cpuKernels()) registerKernel(name, CPU_BACKEND_NAME, impl);
}
