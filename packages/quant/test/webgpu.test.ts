import { beforeAll, describe, expect, it } from 'vitest';
import { backward, cast, narrow, randn, tensor, tidy, type Tensor } from '@adapterkit/core';
import { registerWebGpuBackend } from '@adapterkit/backend-webgpu';
import { QuantizedWeight, dequantizeWeight, quantMatmul, quantizeMatrix, type QuantFormat } from '../src/index.js';

/**
 * Conformance of the WGSL kernels with the cpu-ref (TS) ones, on Dawn — in
 * CI on Mesa's lavapipe (see packages/backend-webgpu/DEVELOPERS.md). Fails
 * loudly when no WebGPU adapter is found.
 */
beforeAll(async () => {
  await registerWebGpuBackend({ debug: true });
});

function host(shape: number[], seed: number, std: number): Float32Array {
  return tidy(() => randn(shape, { std, seed, backend: 'cpu-ref' }).dataSync() as Float32Array);
}

async function read(t: Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data());
}

/** max |a − b| / (1 + |b|) */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
}

const FORMATS: [string, QuantFormat][] = [
  ['nf4 b64 double-quant', { bits: 4, quantType: 'nf4', blockSize: 64, doubleQuant: true }],
  ['fp4 b128', { bits: 4, quantType: 'fp4', blockSize: 128, doubleQuant: false }],
  ['int8', { bits: 8 }],
];

describe.each(FORMATS)('webgpu quant kernels = cpu-ref: %s', (_l, format) => {
  // n×k with neither a multiple of the 16/32 tiles nor of the block size; m across two tiles.
  const shapes: [number, number, number][] = [[5, 37, 71], [33, 70, 130]];
  for (const [m, n, k] of shapes) {
    it(`m=${m} n=${n} k=${k}: dequantize, forward and input gradient`, async () => {
      const q = quantizeMatrix(host([n, k], 21 + n, 0.05), [n, k], format);
      const ref = QuantizedWeight.upload(q, 'cpu-ref');
      const gpu = QuantizedWeight.upload(q, 'webgpu');
      const xHost = host([m + 2, k], 3 + m, 1);
      const dyHost = host([m, n], 4 + m, 1);

      const wRef = dequantizeWeight(ref);
      const wGpu = dequantizeWeight(gpu);
      // Dequantization is one or two float32 products: equal up to an FMA contraction.
      expect(relDiff(await read(wGpu), await read(wRef))).toBeLessThanOrEqual(1e-7);

      // x is a view with a non-zero offset (rows 1 … m of a bigger tensor).
      const run = async (backend: string, qw: QuantizedWeight) => {
        const big = tensor(xHost, [m + 2, k], { backend });
        const x = narrow(big, 0, 1, m);
        const leaf = tensor(await x.data(), [m, k], { backend });
        leaf.requiresGrad = true;
        const y = quantMatmul(x, qw);
        const y2 = quantMatmul(leaf, qw);
        backward(y2, tensor(dyHost, [m, n], { backend }));
        const out = { y: await read(y), y2: await read(y2), dx: await read(leaf.grad!) };
        for (const t of [big, x, leaf, leaf.grad!, y, y2]) t.dispose();
        return out;
      };
      const a = await run('cpu-ref', ref);
      const b = await run('webgpu', gpu);
      expect(relDiff(b.y, a.y)).toBeLessThanOrEqual(1e-5);
      expect(relDiff(b.y2, a.y)).toBeLessThanOrEqual(1e-5);
      expect(relDiff(b.dx, a.dx)).toBeLessThanOrEqual(1e-5);
      for (const t of [wRef, wGpu]) t.dispose();
      ref.dispose();
      gpu.dispose();
    });
  }
});

describe('webgpu quant kernels: half-precision inputs', () => {
  it('bf16 inputs are computed in f32 and cast back (no bf16 compute on the backends)', async () => {
    const qh = quantizeMatrix(host([16, 8], 9, 0.1), [16, 8], { bits: 4 });
    const q = QuantizedWeight.upload(qh, 'webgpu');
    const ref = QuantizedWeight.upload(qh, 'cpu-ref');
    const xh = host([2, 8], 10, 1);
    const x = cast(tensor(xh, [2, 8], { backend: 'webgpu' }), 'bf16');
    const y = quantMatmul(x, q);
    expect(y.dtype).toBe('bf16');
    const yRef = quantMatmul(cast(tensor(xh, [2, 8], { backend: 'cpu-ref' }), 'bf16'), ref);
    expect(relDiff(await read(y), await read(yRef))).toBe(0);
    for (const t of [x, y, yRef]) t.dispose();
    q.dispose();
    ref.dispose();
  });
});
