/**
 * The host-side logic of the CUDA backend, testable without a GPU: parameter
 * block layout, strided-view coalescing, the caching allocator, the
 * row-major → cuBLAS mapping of matmul (checked against a JS model of
 * cublasGemmStridedBatchedEx), NVRTC target choice and library search order.
 */
import type { Storage, View } from '@adapterkit/core';
import { describe, expect, it } from 'vitest';
import { CachingAllocator, CudaOutOfMemoryError } from '../src/allocator.js';
import { chooseTarget } from '../src/compiler.js';
import { planGemm } from '../src/kernels/matmul.js';
import { coalesce, packStrided } from '../src/kernels/strided.js';
import { libraryCandidates, majorOf } from '../src/libraries.js';
import { CudaParams } from '../src/params.js';
import { mix32 } from '../src/kernels/fill-random.js';
import { hash2 } from '@adapterkit/core';

const storage = {} as Storage;
const view = (shape: number[], strides: number[], offset = 0): View => ({ storage, dtype: 'f32', shape, strides, offset });

describe('CudaParams', () => {
  it('lays parameters out at their natural alignment, in order', () => {
    const p = new CudaParams().ptr(0x7f0012345678).i32(-3).i64(5).f32(1.5).u32(0xffffffff).f64(0.25);
    const b = p.bytes();
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    expect(b.byteLength).toBe(8 + 4 + 4 /* pad */ + 8 + 4 + 4 + 8);
    expect(dv.getBigUint64(0, true)).toBe(0x7f0012345678n);
    expect(dv.getInt32(8, true)).toBe(-3);
    expect(dv.getBigInt64(16, true)).toBe(5n);
    expect(dv.getFloat32(24, true)).toBe(1.5);
    expect(dv.getUint32(28, true)).toBe(0xffffffff);
    expect(dv.getFloat64(32, true)).toBe(0.25);
  });

  it('grows past its initial buffer and rejects inexact 64-bit values', () => {
    const p = new CudaParams();
    for (let i = 0; i < 100; i++) p.i64(i);
    expect(p.byteLength).toBe(800);
    expect(new DataView(p.bytes().buffer).getBigInt64(99 * 8, true)).toBe(99n);
    expect(() => new CudaParams().i64(2 ** 60)).toThrow(/below 2\^53/);
    expect(() => new CudaParams().ptr(-1)).toThrow(/negative/);
  });
});

describe('coalesce (strided layouts)', () => {
  it('merges contiguous views into one axis', () => {
    const l = coalesce('add', [view([4, 5, 6], [30, 6, 1]), view([4, 5, 6], [30, 6, 1], 7)]);
    expect(l.shape).toEqual([120]);
    expect(l.strides).toEqual([[1], [1]]);
    expect(l.offsets).toEqual([0, 7]);
    expect(l.n).toBe(120);
    expect(l.narrow).toBe(true);
  });

  it('keeps a broadcast axis and drops size-1 axes', () => {
    const l = coalesce('add', [view([6, 1, 129], [129, 129, 1]), view([6, 1, 129], [0, 0, 1])]);
    expect(l.shape).toEqual([6, 129]);
    expect(l.strides).toEqual([[129, 1], [0, 1]]);
  });

  it('handles a transposed input and a scalar', () => {
    const t = coalesce('copy', [view([3, 4], [4, 1]), view([3, 4], [1, 3])]);
    expect(t.shape).toEqual([3, 4]);
    expect(t.strides).toEqual([[4, 1], [1, 3]]);
    const s = coalesce('fill', [view([], [])]);
    expect(s.shape).toEqual([1]);
    expect(s.n).toBe(1);
  });

  it('switches to 64-bit indexing when an address reaches 2^31', () => {
    expect(coalesce('copy', [view([2], [1]), view([2], [1], 2 ** 31)]).narrow).toBe(false);
    expect(coalesce('copy', [view([2], [1]), view([2], [2 ** 30])]).narrow).toBe(true);
    expect(coalesce('copy', [view([3], [1]), view([3], [2 ** 30])]).narrow).toBe(false);
  });

  it('refuses views of different shapes and more than 8 axes', () => {
    expect(() => coalesce('add', [view([2, 3], [3, 1]), view([3, 2], [2, 1])])).toThrow(/shapes differ/);
    const shape = new Array(9).fill(2);
    const strides = shape.map((_, i) => 2 ** (2 * (8 - i)));
    expect(() => coalesce('copy', [view(shape, strides), view(shape, strides)])).toThrow(/at most 8/);
  });

  it('packs the layout struct after aligning to its index width', () => {
    const l = coalesce('add', [view([6, 129], [129, 1]), view([6, 129], [0, 1], 3)]);
    const p = packStrided(new CudaParams().ptr(1).ptr(2).i32(l.n), l);
    const dv = new DataView(p.bytes().buffer, 0, p.byteLength);
    // struct { int shape[2]; int st[2][2]; int off[2]; } after 8 + 8 + 4 bytes
    const words = Array.from({ length: 8 }, (_, i) => dv.getInt32(20 + 4 * i, true));
    expect(words).toEqual([6, 129, 129, 1, 0, 1, 0, 3]);
  });
});

describe('CachingAllocator', () => {
  it('rounds to size classes: 512-byte steps to 1 MiB, then quarter powers of two', () => {
    expect(CachingAllocator.sizeClass(0)).toBe(0);
    expect(CachingAllocator.sizeClass(1)).toBe(512);
    expect(CachingAllocator.sizeClass(513)).toBe(1024);
    expect(CachingAllocator.sizeClass(1 << 20)).toBe(1 << 20);
    expect(CachingAllocator.sizeClass((1 << 20) + 1)).toBe(1.25 * (1 << 20));
    expect(CachingAllocator.sizeClass(5 << 20)).toBe(5 << 20);
    expect(CachingAllocator.sizeClass((5 << 20) + 1)).toBe(6 << 20);
  });

  it('reuses freed blocks of the same class without calling malloc', () => {
    let next = 4096;
    const mallocs: number[] = [];
    const a = new CachingAllocator((bytes) => {
      mallocs.push(bytes);
      const p = next;
      next += bytes;
      return p;
    }, () => {});
    const b1 = a.acquire(1000);
    a.give(b1);
    const b2 = a.acquire(900);
    expect(b2.ptr).toBe(b1.ptr);
    expect(mallocs).toEqual([1024]);
    expect(a.stats()).toMatchObject({ allocatedBytes: 1024, cachedBytes: 0, reservedBytes: 1024 });
    a.give(b2);
    expect(a.stats()).toMatchObject({ allocatedBytes: 0, cachedBytes: 1024, peakAllocatedBytes: 1024 });
    expect(a.acquire(0)).toEqual({ ptr: 0, size: 0 });
  });

  it('empties its cache and retries when the device is out of memory, then reports', () => {
    let free = 4096;
    const released: number[] = [];
    const a = new CachingAllocator(
      (bytes) => (bytes <= free ? ((free -= bytes), 1000 + free) : null),
      (p) => {
        released.push(p);
        free += 2048;
      },
      () => 'device: 0 B free',
    );
    const x = a.acquire(2048);
    a.give(x);
    const y = a.acquire(4096); // only fits after the cached 2 KiB block is released
    expect(released).toEqual([x.ptr]);
    expect(y.size).toBe(4096);
    expect(() => a.acquire(8192)).toThrow(CudaOutOfMemoryError);
    expect(() => a.acquire(8192)).toThrow(/out of memory allocating 8.00 KiB.*device: 0 B free/);
  });
});

/** A JS model of cublasGemmStridedBatchedEx (column-major; op 0 = N, 1 = T). */
function cublasModel(
  opA: number, opB: number, m: number, n: number, k: number,
  A: Float64Array, aOff: number, lda: number, sA: number,
  B: Float64Array, bOff: number, ldb: number, sB: number,
  C: Float64Array, ldc: number, sC: number, batch: number,
): void {
  for (let q = 0; q < batch; q++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const a = opA ? A[aOff + q * sA + p + i * lda]! : A[aOff + q * sA + i + p * lda]!;
          const b = opB ? B[bOff + q * sB + j + p * ldb]! : B[bOff + q * sB + p + j * ldb]!;
          s += a * b;
        }
        C[q * sC + i + j * ldc] = s;
      }
    }
  }
}

describe('planGemm (row-major matmul on cuBLAS)', () => {
  const cases = [
    { batch: 1, m: 3, n: 5, k: 4 },
    { batch: 3, m: 2, n: 4, k: 3 },
    { batch: 4, m: 5, n: 3, k: 2, bBroadcast: true },
    { batch: 3, m: 2, n: 3, k: 4, aBroadcast: true },
    { batch: 2, m: 1, n: 1, k: 7 },
  ];
  for (const c of cases) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`batch ${c.batch}, m ${c.m}, n ${c.n}, k ${c.k}${c.aBroadcast ? ', A broadcast' : ''}${c.bBroadcast ? ', B broadcast' : ''}, transA ${transA}, transB ${transB}`, () => {
          const { batch, m, n, k } = c;
          const aBatchStride = c.aBroadcast ? 0 : m * k, bBatchStride = c.bBroadcast ? 0 : k * n;
          const A = Float64Array.from({ length: (c.aBroadcast ? 1 : batch) * m * k }, (_, i) => ((i * 7) % 11) - 5);
          const B = Float64Array.from({ length: (c.bBroadcast ? 1 : batch) * k * n }, (_, i) => ((i * 5) % 13) - 6);
          // Reference: C[q][i][j] = Σ op(A)[i][p]·op(B)[p][j], row-major storage as the primitive defines.
          const want = new Float64Array(batch * m * n);
          for (let q = 0; q < batch; q++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) {
              const a = transA ? A[q * aBatchStride + p * m + i]! : A[q * aBatchStride + i * k + p]!;
              const b = transB ? B[q * bBatchStride + j * k + p]! : B[q * bBatchStride + p * n + j]!;
              s += a * b;
            }
            want[(q * m + i) * n + j] = s;
          }
          const g = planGemm({ batch, m, n, k, transA, transB, aBatchStride, bBatchStride });
          const got = new Float64Array(batch * m * n);
          // The plan's first operand is B, the second A (operands swapped).
          cublasModel(g.opA, g.opB, g.m, g.n, g.k, B, 0, g.lda, g.strideA, A, 0, g.ldb, g.strideB, got, g.ldc, g.strideC, g.batch);
          expect(Array.from(got)).toEqual(Array.from(want));
          expect(g.lda).toBeGreaterThanOrEqual(Math.max(1, g.opA ? g.k : g.m));
          expect(g.ldb).toBeGreaterThanOrEqual(Math.max(1, g.opB ? g.n : g.k));
        });
      }
    }
  }

  it('folds a shared B with a stack of row-major A into one GEMM', () => {
    const g = planGemm({ batch: 8, m: 16, n: 4, k: 3, transA: false, transB: true, aBatchStride: 48, bBatchStride: 0 });
    expect(g.batch).toBe(1);
    expect(g.n).toBe(128);
  });
});

describe('NVRTC target and library search', () => {
  it('emits a cubin for a known arch and PTX for the newest known arch below an unknown one', () => {
    const archs = [75, 80, 86, 89, 90, 100, 120];
    expect(chooseTarget(90, archs)).toEqual({ kind: 'cubin', arch: 90, option: '--gpu-architecture=sm_90' });
    expect(chooseTarget(130, archs)).toEqual({ kind: 'ptx', arch: 120, option: '--gpu-architecture=compute_120' });
    expect(() => chooseTarget(61, archs)).toThrow(/none runs/);
  });

  it('tries folders in order, each with CUDA 13 then 12, then the bare sonames', () => {
    expect(libraryCandidates('cublas', ['/a', '/b'])).toEqual([
      '/a/libcublas.so.13', '/a/libcublas.so.12', '/b/libcublas.so.13', '/b/libcublas.so.12', 'libcublas.so.13', 'libcublas.so.12',
    ]);
    expect(libraryCandidates('nvrtc', ['/x'], [12])).toEqual(['/x/libnvrtc.so.12', 'libnvrtc.so.12']);
    expect(majorOf('/usr/local/cuda/lib64/libcudart.so.13')).toBe(13);
  });
});

describe('random', () => {
  it("pre-mixes the seed like core's hash2", () => {
    // hash2(seed, i) = mix32(mix32(seed) ^ i): the kernel gets mix32(seed) and applies the outer mix.
    for (const seed of [0, 1234, 0xdeadbeef]) {
      for (const i of [0, 1, 4294967295]) expect(mix32((mix32(seed) ^ i) >>> 0)).toBe(hash2(seed, i));
    }
  });
});
