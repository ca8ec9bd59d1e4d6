import { describe, expect, it } from 'vitest';
import { backward, liveTensors, matmul, mul, noGrad, randn, setBackend, sum, tensor, tidy, transpose, type Tensor } from '@adapterkit/core';
import { QuantizedWeight, dequantizeMatrix, dequantizeWeight, quantMatmul, quantizeMatrix, type QuantFormat } from '../src/index.js';
import { maxAbsDiff } from './fixtures.js';

setBackend('cpu-ref');

/** A seeded random [rows, cols] matrix as host values. */
function hostRandn(shape: number[], seed: number, std = 1): Float32Array {
  return noGrad(() => tidy(() => randn(shape, { std, seed }).dataSync() as Float32Array));
}

const FORMATS: [string, QuantFormat][] = [
  ['nf4 b64 double-quant', { bits: 4, quantType: 'nf4', blockSize: 64, doubleQuant: true }],
  ['fp4 b128', { bits: 4, quantType: 'fp4', blockSize: 128, doubleQuant: false }],
  ['nf4 b32 double-quant', { bits: 4, quantType: 'nf4', blockSize: 32, doubleQuant: true }],
  ['int8', { bits: 8 }],
];

// 37×71: rows are not a multiple of the tile (16), k not of the block size, odd element count (a padded last byte).
const N = 37;
const K = 71;
const M = 5;

describe.each(FORMATS)('fused kernels on cpu-ref: %s', (_label, format) => {
  const wHost = hostRandn([N, K], 11, 0.05);
  const q = quantizeMatrix(wHost, [N, K], format);
  const dense = dequantizeMatrix(q);

  it('dequantize kernel = host dequantization, bit for bit', () => {
    const qw = QuantizedWeight.upload(q);
    const w = dequantizeWeight(qw);
    expect(w.shape).toEqual([N, K]);
    expect(maxAbsDiff(w.dataSync(), dense)).toBe(0);
    w.dispose();
    qw.dispose();
  });

  it('y = x·dequant(W)ᵀ matches dequantize-then-matmul (≤ 1e-5), also for 3-D inputs', () => {
    const qw = QuantizedWeight.upload(q);
    const before = liveTensors();
    const { fused, ref } = tidy(() => {
      const x = randn([2, M, K], { seed: 3 });
      const w = tensor(dense, [N, K]);
      return { fused: quantMatmul(x, qw), ref: matmul(x, transpose(w)) };
    });
    expect(fused.shape).toEqual([2, M, N]);
    const d = maxAbsDiff(fused.dataSync(), ref.dataSync());
    expect(d).toBeLessThanOrEqual(1e-5);
    fused.dispose();
    ref.dispose();
    expect(liveTensors()).toBe(before);
    qw.dispose();
  });

  it('backward gives dx = dy·dequant(W) (≤ 1e-5) and no gradient to the frozen weight', () => {
    const qw = QuantizedWeight.upload(q);
    const x = randn([M, K], { seed: 5 });
    x.requiresGrad = true;
    const dy = randn([M, N], { seed: 6 });
    const y = quantMatmul(x, qw);
    backward(y, dy);
    const ref = tidy(() => matmul(dy, tensor(dense, [N, K])));
    expect(maxAbsDiff(x.grad!.dataSync(), ref.dataSync())).toBeLessThanOrEqual(1e-5);
    for (const t of qw.tensors.values()) expect(t.grad).toBeNull();
    for (const t of [x, x.grad!, dy, y, ref]) t.dispose();
    qw.dispose();
  });

  it('input gradient matches central finite differences in f64 (via the dequantized weight)', () => {
    const qw = QuantizedWeight.upload(q);
    const xv = Float64Array.from(hostRandn([3, K], 7));
    const r = tensor(Float64Array.from(hostRandn([3, N], 8)), [3, N]);
    const loss = (xs: Float64Array): number => tidy(() => sum(mul(quantMatmul(tensor(xs, [3, K]), qw), r)).dataSync()[0]!);
    const x = tensor(xv, [3, K]);
    x.requiresGrad = true;
    const l = sum(mul(quantMatmul(x, qw), r));
    backward(l);
    const g = x.grad!.dataSync();
    expect(x.grad!.dtype).toBe('f64');
    // Analytic reference from the dequantized weight: dL/dx = r · W.
    const w64 = Float64Array.from(dense);
    const rv = r.dataSync();
    let worstRef = 0;
    let worstFd = 0;
    const eps = 1e-6;
    for (let i = 0; i < 3; i++) {
      for (let c = 0; c < K; c++) {
        let s = 0;
        for (let n = 0; n < N; n++) s += rv[i * N + n]! * w64[n * K + c]!;
        worstRef = Math.max(worstRef, Math.abs(s - g[i * K + c]!));
        if (c % 7 !== 0) continue; // finite differences on a sample of coordinates keeps the test fast
        const p = Float64Array.from(xv);
        const m = Float64Array.from(xv);
        p[i * K + c]! += eps;
        m[i * K + c]! -= eps;
        worstFd = Math.max(worstFd, Math.abs((loss(p) - loss(m)) / (2 * eps) - g[i * K + c]!));
      }
    }
    expect(worstRef).toBeLessThanOrEqual(1e-12);
    expect(worstFd).toBeLessThanOrEqual(1e-7);
    for (const t of [x, x.grad!, l, r] as Tensor[]) t.dispose();
    qw.dispose();
  });
});

describe('quantMatmul errors', () => {
  it('names the op and both shapes on a feature mismatch', () => {
    const qw = QuantizedWeight.upload(quantizeMatrix(new Float32Array(8 * 4), [8, 4], { bits: 4 }));
    const x = randn([2, 5]);
    expect(() => quantMatmul(x, qw)).toThrow(/quantMatmul: input \[2, 5\] has 5 features, the quantized weight \[8, 4\] expects 4/);
    x.dispose();
    qw.dispose();
  });
});
