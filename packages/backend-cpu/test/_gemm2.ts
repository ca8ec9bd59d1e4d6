import { loadCpuAddon } from '../src/index.ts';
const ad = loadCpuAddon().addon!;
ad.setThreads(Number(process.argv[2] ?? 1));
const shapes = (process.argv[3] ?? '256,512,768,1024,1536').split(',').map(Number);
for (const s of shapes) {
  const [m, k, n] = [s, s, s];
  const a = new Float32Array(m * k).map(() => Math.random() - 0.5), b = new Float32Array(k * n).map(() => Math.random() - 0.5), c = new Float32Array(m * n);
  const times: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    ad.gemm(a, 0, b, 0, c, 0, 1, m, n, k, false, false, 0, 0);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  console.log(`${s}: best ${(2 * m * n * k / times[0]! / 1e6).toFixed(1)} median ${(2 * m * n * k / times[3]! / 1e6).toFixed(1)} GFLOP/s`);
}
console.log('peak', (ad.peakFlops(0.3) / 1e9).toFixed(1));
