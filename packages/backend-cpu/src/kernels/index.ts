import { PRIMITIVE_KERNELS, registerKernel, type KernelImpl } from '@adapterkit/core';
import type { CpuAddon } from '../addon.js';
import { dataKernels } from './data.js';
import { elementwiseKernels } from './elementwise.js';
import { matmulKernels } from './matmul.js';
import { rowKernels } from './rows.js';

/** Where a kernel runs: the native addon or the reference ('cpu-ref') TypeScript kernel. */
export type KernelPath = 'native' | 'ts';

/** How the 'cpu' backend implements one primitive kernel, per dtype group. */
export interface KernelImplementation {
  f32: KernelPath;
  /** f64, i32, u8, i8, f16/bf16 (where the kernel supports them). */
  otherDTypes: KernelPath;
}

const NATIVE_F32: KernelImplementation = { f32: 'native', otherDTypes: 'ts' };
const NATIVE_ALL: KernelImplementation = { f32: 'native', otherDTypes: 'native' };
const TS: KernelImplementation = { f32: 'ts', otherDTypes: 'ts' };

/**
 * The implementation table (the README's kernel table is generated from the
 * same facts; a test checks it covers PRIMITIVE_KERNELS). 'ts' means the
 * reference kernel from core is registered for 'cpu' explicitly — never a
 * silent run-time fallback when the addon fails.
 */
export const KERNEL_IMPLEMENTATIONS: Readonly<Record<string, KernelImplementation>> = Object.freeze({
  ...Object.fromEntries(
    ['neg', 'abs', 'sign', 'exp', 'log', 'sqrt', 'rsqrt', 'recip', 'square', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'erf', 'gelu', 'geluTanh', 'silu',
      'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'sum', 'max', 'min', 'argmax',
      'matmul', 'softmax', 'logSoftmax', 'layerNorm', 'layerNormBackward', 'rmsNorm', 'rmsNormBackward', 'crossEntropy', 'crossEntropyBackward', 'random',
    ].map((n) => [n, NATIVE_F32]),
  ),
  scatterAdd: NATIVE_F32,
  copy: NATIVE_ALL,
  where: NATIVE_ALL,
  gather: NATIVE_ALL,
  fill: TS,
  cast: TS,
});

/** Every kernel of the 'cpu' backend bound to a loaded addon. */
export function fastCpuKernels(addon: CpuAddon): Map<string, KernelImpl> {
  const all = new Map<string, KernelImpl>();
  for (const part of [elementwiseKernels(addon), matmulKernels(addon), rowKernels(addon), dataKernels(addon)]) {
    for (const [name, impl] of part) all.set(name, impl);
  }
  const missing = PRIMITIVE_KERNELS.filter((k) => !all.has(k));
  if (missing.length) throw new Error(`@adapterkit/backend-cpu: no implementation for primitive kernel(s) ${missing.join(', ')}`);
  return all;
}

/** Registers every kernel for `backendName` (default 'cpu'). */
export function registerFastCpuKernels(addon: CpuAddon, backendName = 'cpu'): void {
  for (const [name, impl] of fastCpuKernels(addon)) registerKernel(name, backendName, impl);
}
