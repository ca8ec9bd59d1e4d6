import { runKernel, tensor, type DType, type PrimitiveAttrs, type Tensor } from '@adapterkit/core';
import { registerFastCpuBackend } from '../src/index.js';

/** Registers 'cpu' or fails the test file with the reason (the tests need the native build). */
export function requireFastCpu(): void {
  // Reused (pooled) arrays come back poisoned, so a kernel that relies on zeroed output memory fails.
  process.env.ADAPTERKIT_CPU_POOL_POISON ??= '1';
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

/** One matmul case for compareGemm. */
export interface GemmCase {
  batch: number; m: number; k: number; n: number; transA: boolean; transB: boolean;
  aBroadcast?: boolean; bBroadcast?: boolean; offset?: number;
}

/**
 * Runs one matmul case on `backend` and on 'cpu-ref' (inputs at an offset in
 * NaN-poisoned storage) and returns the closeness ratio for
 * |Δ| ≤ 1e-5·√k + 1e-4·|ref| (≤ 1 passes).
 */
export function compareGemm(backend: string, c: GemmCase, seed: number): { ratio: number; maxAbs: number } {
  const aItems = c.aBroadcast ? 1 : c.batch, bItems = c.bBroadcast ? 1 : c.batch;
  const off = c.offset ?? 0;
  const aLen = aItems * c.m * c.k, bLen = bItems * c.k * c.n;
  const aHost = new Float32Array(off + aLen + 3).fill(NaN);
  aHost.set(seeded(aLen, seed), off);
  const bHost = new Float32Array(off + bLen + 5).fill(NaN);
  bHost.set(seeded(bLen, seed ^ 0x5bd1), off);
  const attrs: PrimitiveAttrs['matmul'] = {
    batch: c.batch, m: c.m, n: c.n, k: c.k, transA: c.transA, transB: c.transB,
    aBatchStride: c.aBroadcast ? 0 : c.m * c.k, bBatchStride: c.bBroadcast ? 0 : c.k * c.n,
  };
  const run = (backend: string): Float32Array => {
    const a = on(backend, aHost, [aHost.length]);
    const b = on(backend, bHost, [bHost.length]);
    const av = { storage: a.storage, dtype: 'f32' as const, shape: [aLen], strides: [1], offset: off };
    const bv = { storage: b.storage, dtype: 'f32' as const, shape: [bLen], strides: [1], offset: off };
    const [cOut] = runKernel('matmul', [av, bv], [{ shape: [c.batch, c.m, c.n], dtype: 'f32' }], attrs) as [Tensor];
    const data = cOut.dataSync() as Float32Array;
    for (const t of [a, b, cOut]) t.dispose();
    return data;
  };
  const got = run(backend);
  const want = run('cpu-ref');
  return closeness(got, want, 1e-5 * Math.sqrt(Math.max(c.k, 1)), 1e-4);
}

export { runKernel };
