import { runKernel, tensor, type DType, type Tensor } from '@adapterkit/core';
import { registerFastCpuBackend } from '../src/index.js';

/** Registers 'cpu' or fails the test file with the reason (the tests need the native build). */
export function requireFastCpu(): void {
  const reg = registerFastCpuBackend();
  if (!reg.available) throw new Error(`@adapterkit/backend-cpu native addon unavailable: ${reg.reason}`);
}

/** Deterministic values in [-1, 1) from a 32-bit LCG (no Math.random in tests). */
export function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** Uploads the same host values to a backend. */
export function on(backend: string, values: Float32Array | Int32Array, shape: number[], dtype: DType = 'f32'): Tensor {
  return tensor(values, shape, { dtype, backend });
}

/** Max |a - b| / (atol + rtol·|b|) over all elements (≤ 1 passes), and the max |a - b|. */
export function closeness(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): { ratio: number; maxAbs: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let ratio = 0, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= maxAbs)) maxAbs = d;
    const r = d / (atol + rtol * Math.abs(b[i]!));
    if (!(r <= ratio)) ratio = r;
  }
  return { ratio, maxAbs };
}

export { runKernel };
