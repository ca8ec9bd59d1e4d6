/**
 * Core's conformance suite through the 'cuda' backend's real TypeScript and
 * CUDA C kernel sources, run on the CPU by a simulator (test/sim: kernels
 * compiled by g++ against a CUDA shim; a reference GEMM in place of cuBLAS).
 * It checks index math, strides, reductions, conversions, the random hash,
 * parameter layouts and the matmul mapping without a GPU — not NVRTC, the
 * driver or speed. Opt-in (ADAPTERKIT_CUDA_SIM=1): the first run compiles
 * ~150 kernel variants with g++ (minutes on 2 cores; cached afterwards).
 */
import {
  embedding, matmul, randn, registerBackendInstance, registerCpuBackend, runKernel, runKernelInto, setBackend, tensor, Tensor,
} from '@adapterkit/core';
import { describeConformance } from '@adapterkit/core/conformance';
import { describe, expect, it } from 'vitest';
import { autocast, registerCudaKernels, registerCudaSourceKernel } from '../src/index.js';
import { createSimBackend } from './sim/sim.js';

const enabled = process.env.ADAPTERKIT_CUDA_SIM === '1';
const sim = enabled ? createSimBackend() : { reason: 'set ADAPTERKIT_CUDA_SIM=1 to run the CPU simulation of the CUDA kernels' };

if (sim.backend) {
  registerCpuBackend();
  registerCudaKernels();
  registerBackendInstance(sim.backend);
  describeConformance({ backend: 'cuda' });

  describe("'cuda' on the CPU simulator: beyond the suite", () => {
    it('runs the README’s registerCudaSourceKernel example', async () => {
      registerCudaSourceKernel<{ a: number }>('scale', {
        source: `extern "C" __global__ void scale(float* y, const float* x, long long n, float a) {
          long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
          if (i < n) y[i] = a * x[i];
        }`,
        entry: 'scale',
        launch: ({ inputs: [x], outputs: [y], attrs }, k) => {
          const n = k.size(y!);
          return { grid: k.blocks(n), block: 256, params: k.params().ptr(k.ptr(y!)).ptr(k.ptr(x!)).i64(n).f32(attrs.a) };
        },
      });
      setBackend('cuda');
      const x = tensor([1, 2, 3, 4, 5], [5]);
      const [y] = runKernel('scale', [x], [{ shape: [5], dtype: 'f32' }], { a: 2 });
      expect(Array.from(await y!.data())).toEqual([2, 4, 6, 8, 10]);
      x.dispose();
      y!.dispose();
    });

    it('reports an out-of-range gather index at the next read, then clears it', async () => {
      setBackend('cuda');
      const table = tensor(new Float32Array(12), [4, 3]);
      const ids = tensor(new Int32Array([1, 7]), [2], { dtype: 'i32' });
      const y = embedding(table, ids);
      await expect(y.data()).rejects.toThrow(/gather: an index was out of range.*offending value: 7/);
      expect(Array.from(await table.data())).toHaveLength(12);
      for (const t of [table, ids, y]) t.dispose();
    });

    it('copies between overlapping views of one storage as if from a snapshot', async () => {
      setBackend('cuda');
      const x = tensor([0, 1, 2, 3, 4, 5, 6, 7], [8]);
      const src = new Tensor(x.storage, [7], [1], 0);
      const dst = new Tensor(x.storage, [7], [1], 1);
      runKernelInto('copy', [src], dst);
      expect(Array.from(await x.data())).toEqual([0, 0, 1, 2, 3, 4, 5, 6]);
      for (const t of [src, dst, x]) t.dispose();
    });

    it('random reproduces random/hash.ts bit for bit (2^16 elements per distribution)', async () => {
      const n = 1 << 16;
      for (const attrs of [
        { distribution: 'uniform', seed: 1234, counter: 4294960000, low: -2, high: 3 },
        { distribution: 'normal', seed: 42, counter: 7, mean: 0.5, std: 2 },
        { distribution: 'bernoulli', seed: 99, counter: 100, p: 0.375 },
      ]) {
        const got: ArrayLike<number>[] = [];
        for (const be of ['cpu-ref', 'cuda']) {
          setBackend(be);
          const [y] = runKernel('random', [], [{ shape: [n], dtype: 'f32' }], attrs);
          got.push(await y!.data());
          y!.dispose();
        }
        let differ = 0;
        for (let i = 0; i < n; i++) if (!Object.is(got[0]![i], got[1]![i])) differ++;
        expect(differ, attrs.distribution).toBe(0);
      }
    });

    it('autocast(bf16) matmuls stay f32 and close to the f32 product', async () => {
      setBackend('cuda');
      const a = randn([16, 64], { seed: 1 });
      const b = randn([64, 8], { seed: 2 });
      const f32 = await matmul(a, b).data();
      const c = autocast('bf16', () => matmul(a, b));
      expect(c.dtype).toBe('f32');
      const bf = await c.data();
      let err = 0;
      for (let i = 0; i < f32.length; i++) err = Math.max(err, Math.abs(f32[i]! - bf[i]!));
      expect(err).toBeGreaterThan(0);
      expect(err).toBeLessThan(0.3);
      for (const t of [a, b, c]) t.dispose();
    });
  });
} else {
  describe("backend conformance: 'cuda' on the CPU simulator", () => {
    it.skip(`skipped — ${sim.reason}`, () => {});
  });
}
