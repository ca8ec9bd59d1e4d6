import { loadCpuAddon } from '../src/index.ts';
const ad = loadCpuAddon().addon!;
const threads = Number(process.argv[2] ?? 1);
ad.setThreads(threads);
for (const [m, k, n] of [[256, 256, 256], [1024, 1024, 1024], [4096, 384, 1536]]) {
  const a = new Float32Array(m * k).map(() => Math.random() - 0.5), b = new Float32Array(k * n).map(() => Math.random() - 0.5), c = new Float32Array(m * n);
  const times: number[] = [];
  for (let r = 0; r < 9; r++) {
    const t0 = performance.now();
    ad.gemm(a, 0, b, 0, c, 0, 1, m, n, k, false, false, 0, 0);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const peak = ad.peakFlops(0.2) / 1e9;
  console.log(`${m}x${k}x${n} threads ${threads}: best ${(2 * m * n * k / times[0]! / 1e6).toFixed(1)} median ${(2 * m * n * k / times[4]! / 1e6).toFixed(1)} GFLOP/s; peak now ${peak.toFixed(1)}`);
}
