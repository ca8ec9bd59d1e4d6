import type { Backend, KernelArgs, KernelImpl } from './backend.js';
import { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS, type BinaryOp, type CompareOp, type ReduceOp, type UnaryOp } from './primitives.js';

/**
 * A backend's implementation of every primitive kernel, grouped the way
 * backends write them: one function per elementwise/reduction family (taking
 * the op name), one for softmax/logSoftmax, one per remaining primitive, and
 * the optional fused kernels it has. The type makes a missing primitive a
 * compile error; `primitiveKernelTable` turns it into the name → kernel map
 * that `registerKernel` takes.
 */
export interface PrimitiveKernelSet<B extends Backend> {
  unary(op: UnaryOp, backend: B, args: KernelArgs<any>): void;
  binary(op: BinaryOp, backend: B, args: KernelArgs<any>): void;
  compare(op: CompareOp, backend: B, args: KernelArgs<any>): void;
  reduce(op: ReduceOp, backend: B, args: KernelArgs<any>): void;
  /** softmax (log = false) and logSoftmax (log = true). */
  softmax(log: boolean, backend: B, args: KernelArgs<any>): void;
  fill: KernelImpl<B>;
  random: KernelImpl<B>;
  copy: KernelImpl<B>;
  cast: KernelImpl<B>;
  where: KernelImpl<B>;
  matmul: KernelImpl<B>;
  gather: KernelImpl<B>;
  scatterAdd: KernelImpl<B>;
  layerNorm: KernelImpl<B>;
  layerNormBackward: KernelImpl<B>;
  rmsNorm: KernelImpl<B>;
  rmsNormBackward: KernelImpl<B>;
  crossEntropy: KernelImpl<B>;
  crossEntropyBackward: KernelImpl<B>;
  /** Optional fused attention (OPTIONAL_KERNELS in primitives.ts). */
  attention?: KernelImpl<B>;
}

/** Every kernel of `set` under its primitive name (see primitives.ts for the contracts). */
export function primitiveKernelTable<B extends Backend>(set: PrimitiveKernelSet<B>): Map<string, KernelImpl<B>> {
  const k = new Map<string, KernelImpl<B>>();
  for (const op of UNARY_OPS) k.set(op, (b, args) => set.unary(op, b, args));
  for (const op of BINARY_OPS) k.set(op, (b, args) => set.binary(op, b, args));
  for (const op of COMPARE_OPS) k.set(op, (b, args) => set.compare(op, b, args));
  for (const op of REDUCE_OPS) k.set(op, (b, args) => set.reduce(op, b, args));
  k.set('softmax', (b, args) => set.softmax(false, b, args));
  k.set('logSoftmax', (b, args) => set.softmax(true, b, args));
  const single = [
    'fill', 'random', 'copy', 'cast', 'where', 'matmul', 'gather', 'scatterAdd',
    'layerNorm', 'layerNormBackward', 'rmsNorm', 'rmsNormBackward', 'crossEntropy', 'crossEntropyBackward',
  ] as const;
  for (const name of single) k.set(name, set[name]);
  if (set.attention) k.set('attention', set.attention);
  return k;
}
