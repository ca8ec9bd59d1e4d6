import { getKernel, registerCpuBackend, type KernelImpl, type TypedArray, type View } from '@adapterkit/core';

/** Name of the reference backend whose TS kernels this backend reuses where it has no native one. */
export const REFERENCE_BACKEND = 'cpu-ref';

/** The typed array behind a view (both CPU backends keep it in `handle`). */
export function arrayOf(view: View): TypedArray {
  return view.storage.handle as TypedArray;
}

export function f32Of(view: View): Float32Array {
  return view.storage.handle as Float32Array;
}

/**
 * The reference ('cpu-ref') TS implementation of a kernel, looked up once at
 * registration. Storages of both CPU backends are typed arrays, so these run
 * unchanged on 'cpu' tensors.
 */
export function referenceKernel(name: string): KernelImpl {
  registerCpuBackend();
  return getKernel(name, REFERENCE_BACKEND);
}

/** True when every view is f32. */
export function allF32(...views: View[]): boolean {
  for (const v of views) if (v.dtype !== 'f32') return false;
  return true;
}
