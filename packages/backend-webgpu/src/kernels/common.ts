import { DTypeError, type DType, type View } from '@adapterkit/core';

/** Throws unless every view has one dtype, and that dtype is in `allowed`. */
export function checkDTypes(kernel: string, views: readonly View[], allowed: readonly DType[]): DType {
  const d = views[0]!.dtype;
  if (views.some((v) => v.dtype !== d)) {
    throw new DTypeError(`webgpu kernel '${kernel}': dtype mismatch (${views.map((v) => v.dtype).join(', ')})`);
  }
  if (!allowed.includes(d)) {
    const hint = d === 'f16' || d === 'bf16' ? '; cast to f32 first' : `; supported: ${allowed.join(', ')}`;
    throw new DTypeError(`webgpu kernel '${kernel}' does not support dtype ${d}${hint}`);
  }
  return d;
}

export function checkIndexDType(kernel: string, v: View, what: string): void {
  if (v.dtype !== 'i32') throw new DTypeError(`webgpu kernel '${kernel}' expects i32 ${what}, got ${v.dtype}`);
}

export const F32: readonly DType[] = ['f32'];
export const F32_I32: readonly DType[] = ['f32', 'i32'];

/** Throws unless `n` fits the u32 indexing the shaders use. */
export function checkU32(kernel: string, n: number): void {
  if (n > 0xffffffff) throw new RangeError(`webgpu kernel '${kernel}': ${n} elements exceed 2^32`);
}
