import { Tensor, runKernelInto, tensor } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forceMatmulDesign, isCpuAdapter, matmulDesign, type MatmulDesign } from '../src/kernels/matmul.js';
import type { WebGpuBackend } from '../src/index.js';
import { initWebGpu } from './setup.js';

/**
 * Both matmul designs (tiled for GPUs, register-blocked for CPU adapters; see
 * src/kernels/matmul.ts) against a float64 host reference, whichever adapter
 * the tests run on: every transA/transB combination, each register block size
 * (8 or 4 rows/columns per invocation, chosen by m and n), partial tiles,
 * storage offsets, batch strides including broadcast (0), long k and m = 1.
 * The conformance suite covers the design the adapter picks by default.
 */

let gpu: WebGpuBackend;

beforeAll(async () => {
  gpu = await initWebGpu();
});

interface Case {
  batch: number;
  m: number;
  k: number;
  n: number;
  /** Batch stride 0 for A / B (one matrix for every batch). */
  aBroadcast?: boolean;
  bBroadcast?: boolean;
  /** Element offsets of A, B and C in their storages. */
  offsets?: [number, number, number];
}

const CASES: Case[] = [
  { batch: 1, m: 70, k: 37, n: 45 }, // 8×8 blocks, partial tiles on both axes
  { batch: 1, m: 130, k: 64, n: 131 }, // more than one tile each way
  { batch: 1, m: 5, k: 9, n: 3 }, // 4×4 blocks
  { batch: 2, m: 40, k: 16, n: 20 }, // 8×4
  { batch: 2, m: 20, k: 33, n: 90 }, // 4×8
  { batch: 1, m: 1, k: 40, n: 70 }, // vector·matrix
  { batch: 1, m: 2, k: 1031, n: 3 }, // long k
  { batch: 3, m: 33, k: 12, n: 34, aBroadcast: true, offsets: [4, 8, 12] }, // vec4-aligned offsets
  { batch: 4, m: 11, k: 6, n: 65, bBroadcast: true, offsets: [5, 7, 3] },
];

const TRANS: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 0.37 + seed));
}

/** C = op(A)·op(B) per batch, in float64. */
function reference(c: Case, transA: boolean, transB: boolean, A: Float32Array, B: Float32Array): Float64Array {
  const { batch, m, k, n } = c;
  const out = new Float64Array(batch * m * n);
  for (let b = 0; b < batch; b++) {
    const ao = c.aBroadcast ? 0 : b * m * k, bo = c.bBroadcast ? 0 : b * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A[ao + (transA ? p * m + i : i * k + p)]! * B[bo + (transB ? j * k + p : p * n + j)]!;
        out[(b * m + i) * n + j] = s;
      }
    }
  }
  return out;
}

/** A tensor of `shape` at element `offset` of a storage padded with NaN around it. */
function placed(host: Float32Array, shape: number[], offset: number): { storage: Tensor; view: Tensor } {
  const data = new Float32Array(offset + host.length + 5).fill(NaN);
  data.set(host, offset);
  const storage = tensor(data, [data.length], { backend: gpu });
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((p, x) => p * x, 1));
  return { storage, view: new Tensor(storage.storage, shape, strides, offset) };
}

async function check(c: Case, transA: boolean, transB: boolean): Promise<void> {
  const { batch, m, k, n } = c;
  const aBatch = c.aBroadcast ? 1 : batch, bBatch = c.bBroadcast ? 1 : batch;
  const [ao, bo, co] = c.offsets ?? [0, 0, 0];
  const A = values(aBatch * m * k, 1), B = values(bBatch * k * n, 2);
  const a = placed(A, transA ? [aBatch, k, m] : [aBatch, m, k], ao);
  const b = placed(B, transB ? [bBatch, n, k] : [bBatch, k, n], bo);
  const out = placed(new Float32Array(batch * m * n).fill(NaN), [batch, m, n], co);
  runKernelInto('matmul', [a.view, b.view], out.view, {
    batch, m, n, k, transA, transB, aBatchStride: c.aBroadcast ? 0 : m * k, bBatchStride: c.bBroadcast ? 0 : k * n,
  });
  const all = await out.storage.data();
  const want = reference(c, transA, transB, A, B);
  const atol = 1e-5 * Math.sqrt(k), rtol = 1e-4;
  const bad: string[] = [];
  for (let i = 0; i < all.length && bad.length < 5; i++) {
    const inside = i >= co && i < co + want.length;
    const got = all[i]!;
    if (!inside) {
      if (!Number.isNaN(got)) bad.push(`element ${i} outside C was written: ${got}`);
      continue;
    }
    const w = want[i - co]!;
    if (!(Math.abs(got - w) <= atol + rtol * Math.abs(w))) bad.push(`C[${i - co}]: got ${got}, expected ${w}`);
  }
  expect(bad, bad.join('; ')).toEqual([]);
  for (const t of [a.view, a.storage, b.view, b.storage, out.view, out.storage]) t.dispose();
}

describe.each(['registers', 'tiled'] as MatmulDesign[])('matmul, %s design', (design) => {
  beforeAll(() => forceMatmulDesign(design));
  afterAll(() => forceMatmulDesign(null));

  for (const [transA, transB] of TRANS) {
    const t = `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`;
    it(`${t} matches a float64 reference`, async () => {
      expect(matmulDesign(gpu)).toBe(design);
      for (const c of CASES) await check(c, transA, transB);
    });
  }
});

describe('matmul design choice', () => {
  const adapter = (info: Partial<GPUAdapterInfo>): GPUAdapter => ({ info }) as unknown as GPUAdapter;

  it('uses the register-blocked design on CPU adapters only', () => {
    expect(isCpuAdapter(adapter({ vendor: 'nvidia', architecture: 'hopper', isFallbackAdapter: false }))).toBe(false);
    expect(isCpuAdapter(adapter({ vendor: 'google', isFallbackAdapter: true }))).toBe(true);
    expect(isCpuAdapter(adapter({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }))).toBe(true);
    expect(isCpuAdapter(adapter({ vendor: 'google', description: 'SwiftShader Device (Subzero)' }))).toBe(true);
    expect(isCpuAdapter(null)).toBe(false);
    expect(matmulDesign(gpu)).toBe(isCpuAdapter(gpu.adapter) ? 'registers' : 'tiled');
  });
});
