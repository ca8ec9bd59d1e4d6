import { matmul, randn, setBackend, tidy, type Tensor } from '@adapterkit/core';
import { saveResults, type BenchRow } from './results.js';
import { medianMs } from './timing.js';

/**
 * f32 matmul throughput of the reference CPU backend, beside a plain i-k-j
 * triple loop measured in the same run (the ratio is what we report).
 */
function naiveMatmul(a: Float32Array, b: Float32Array, c: Float32Array, n: number): void {
  c.fill(0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      const row = k * n;
      const out = i * n;
      for (let j = 0; j < n; j++) c[out + j]! += aik * b[row + j]!;
    }
  }
}

export async function benchMatmulCpu(sizes = [512, 1024]): Promise<void> {
  setBackend('cpu-ref');
  const rows: BenchRow[] = [];
  for (const n of sizes) {
    const a = randn([n, n]);
    const b = randn([n, n]);
    const flops = 2 * n * n * n;
    const reps = n <= 512 ? 5 : 3;
    const ms = await medianMs(() => tidy(() => { matmul(a, b).dispose(); }), reps);
    const ha = a.dataSync() as Float32Array;
    const hb = b.dataSync() as Float32Array;
    const hc = new Float32Array(n * n);
    const naiveMs = await medianMs(() => naiveMatmul(ha, hb, hc, n), n <= 512 ? 3 : 1, n <= 512 ? 1 : 0);
    for (const t of [a, b] as Tensor[]) t.dispose();
    rows.push({
      name: `matmul f32 ${n}³`,
      backend: 'cpu-ref',
      ms,
      'GFLOP/s': flops / ms / 1e6,
      'naive i-k-j GFLOP/s': flops / naiveMs / 1e6,
      'ratio vs naive': naiveMs / ms,
    });
  }
  saveResults('matmul-cpu-ref', 'Reference CPU backend: f32 matmul', rows, [
    'Single thread, plain TypeScript. Reference column: a naive i-k-j loop over Float32Arrays in the same process.',
  ]);
}
