import { describe, expect, it } from 'vitest';
import { backward, randn, tensor, tidy } from '@adapterkit/core';
import { registerFastCpuBackend } from '@adapterkit/backend-cpu';
import { QuantizedWeight, dequantizeWeight, quantMatmul, quantizeMatrix, type QuantFormat } from '../src/index.js';
import { maxAbsDiff } from './fixtures.js';

/** The 'cpu' kernels (per-layer dequantization + the backend's native GEMM) against cpu-ref's fused TS kernels. */
const fast = registerFastCpuBackend();

describe.runIf(fast.available)(`fast CPU backend ('cpu', ${fast.isa ?? 'unavailable'})`, () => {
  const FORMATS: [string, QuantFormat][] = [
    ['nf4 b64 double-quant', { bits: 4, quantType: 'nf4', doubleQuant: true }],
    ['fp4 b128', { bits: 4, quantType: 'fp4', blockSize: 128, doubleQuant: false }],
    ['int8', { bits: 8 }],
  ];
  for (const [label, fmt] of FORMATS) {
    it(`${label}: forward, input gradient and dequantization match cpu-ref (≤ 1e-5)`, async () => {
      const [m, n, k] = [9, 70, 130];
      const wh = tidy(() => randn([n, k], { std: 0.05, seed: 1, backend: 'cpu-ref' }).dataSync() as Float32Array);
      const xh = tidy(() => randn([m, k], { seed: 2, backend: 'cpu-ref' }).dataSync() as Float32Array);
      const dyh = tidy(() => randn([m, n], { seed: 3, backend: 'cpu-ref' }).dataSync() as Float32Array);
      const q = quantizeMatrix(wh, [n, k], fmt);
      const out: Record<string, Float32Array>[] = [];
      for (const backend of ['cpu-ref', 'cpu']) {
        const qw = QuantizedWeight.upload(q, backend);
        const x = tensor(xh, [m, k], { backend });
        x.requiresGrad = true;
        const y = quantMatmul(x, qw);
        backward(y, tensor(dyh, [m, n], { backend }));
        const w = dequantizeWeight(qw);
        out.push({ y: Float32Array.from(await y.data()), dx: Float32Array.from(await x.grad!.data()), w: Float32Array.from(await w.data()) });
        for (const t of [x, x.grad!, y, w]) t.dispose();
        qw.dispose();
      }
      expect(maxAbsDiff(out[1]!.w!, out[0]!.w!)).toBe(0);
      expect(maxAbsDiff(out[1]!.y!, out[0]!.y!)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(out[1]!.dx!, out[0]!.dx!)).toBeLessThanOrEqual(1e-5);
    });
  }
});
