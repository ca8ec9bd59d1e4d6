/**
 * The real native addon end to end, on a fake CUDA (test/fakecuda: driver,
 * runtime and cuBLAS implemented on the CPU, a stream being a worker thread
 * that runs queued operations in order) with the CPU simulator's kernels:
 * library loading by versioned symbol, context creation, the pinned staging
 * ring for writes, the pinned pool and host-function + thread-safe-function
 * path for reads (and the polling path), memsets, launches through the
 * parameter buffer, the GEMM call — under core's whole conformance suite.
 *
 * Needs the addon built (CUDA headers), g++ and ADAPTERKIT_CUDA_SIM=1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { matmul, randn, registerBackendInstance, registerCpuBackend, setBackend, tensor } from '@adapterkit/core';
import { describeConformance } from '@adapterkit/core/conformance';
import { describe, expect, it } from 'vitest';
import { buildConfig, loadAddon, type NativeContext } from '../src/addon.js';
import { CudaBackend } from '../src/backend.js';
import type { NvrtcCompiler } from '../src/compiler.js';
import { registerCudaKernels } from '../src/index.js';
import { SimCompiler, buildSim } from './sim/sim.js';

const DIR = fileURLToPath(new URL('./fakecuda/', import.meta.url));
const BUILD = join(DIR, 'build');

function setup(): { ctx?: NativeContext; pollCtx?: NativeContext; reason?: string } {
  if (process.env.ADAPTERKIT_CUDA_SIM !== '1') return { reason: 'set ADAPTERKIT_CUDA_SIM=1 to run the addon on the fake CUDA' };
  const a = loadAddon();
  if (!a.ok || !a.addon) return { reason: `the native addon is not built: ${a.reason}` };
  const includeDirs = (buildConfig(a.path) as { includeDirs?: string[] } | null)?.includeDirs ?? [];
  const sim = buildSim();
  if (!sim.addon) return { reason: sim.reason };
  const lib = join(BUILD, 'libfakecuda.so');
  mkdirSync(BUILD, { recursive: true });
  if (!existsSync(lib)) {
    const r = spawnSync('g++', ['-std=c++17', '-O1', '-fPIC', '-shared', '-w', ...includeDirs.map((d) => `-I${d}`), '-o', lib, join(DIR, 'fake_cuda.cpp'), '-lpthread', '-ldl'], { encoding: 'utf8' });
    if (r.status !== 0) return { reason: `the fake CUDA library did not build: ${r.stderr.slice(-2000)}` };
  }
  const names = { driver: 'libcuda.so.1', runtime: 'libcudart.so.12', cublasLt: 'libcublasLt.so.12', cublas: 'libcublas.so.12' };
  for (const n of Object.values(names)) {
    rmSync(join(BUILD, n), { force: true });
    symlinkSync(lib, join(BUILD, n));
  }
  const loaded = a.addon.loadLibraries(Object.fromEntries(Object.entries(names).map(([k, n]) => [k, [join(BUILD, n)]])));
  for (const [k, v] of Object.entries(loaded)) if (!v?.ok || !v.path?.startsWith(BUILD)) return { reason: `could not load the fake ${k}: ${v?.error ?? v?.path}` };
  const init = a.addon.driverInit();
  if (!init.ok) return { reason: `fake driverInit failed: ${init.error}` };
  // A small staging ring (4 × 64 KiB) so writes wrap it and wait on its events.
  const ctx = new a.addon.CudaContext(0, { stagingChunkBytes: 1 << 16, stagingChunks: 4 });
  const pollCtx = new a.addon.CudaContext(0, { pollReads: true });
  return { ctx, pollCtx };
}

const env = setup();

if (env.ctx) {
  const backend = new CudaBackend(env.ctx, new SimCompiler() as unknown as NvrtcCompiler);
  registerCpuBackend();
  registerCudaKernels();
  registerBackendInstance(backend);
  describeConformance({ backend: 'cuda' });

  describe('native context on the fake CUDA', () => {
    it('reports the fake device', () => {
      expect(backend.info).toMatchObject({ name: 'Fake CUDA device (CPU)', computeCapability: 90, pollReads: false, cublasVersion: 120903 });
    });

    it('stages a write much larger than the ring and reads it back', async () => {
      setBackend('cuda');
      const data = Float32Array.from({ length: 1 << 20 }, (_, i) => (i * 2654435761) % 1000003);
      const t = tensor(data, [1 << 20]);
      const back = await t.data();
      expect(back.length).toBe(data.length);
      let same = true;
      for (let i = 0; i < data.length; i++) if (back[i] !== data[i]) same = false;
      expect(same).toBe(true);
      t.dispose();
    });

    it('keeps many small writes in order before reads', async () => {
      setBackend('cuda');
      const ts = Array.from({ length: 300 }, (_, i) => tensor([i, i + 0.5, -i], [3]));
      const back = await Promise.all(ts.map((t) => t.data()));
      back.forEach((b, i) => expect(Array.from(b)).toEqual([i, i + 0.5, -i]));
      for (const t of ts) t.dispose();
    });

    it('readSync blocks until the stream caught up', () => {
      setBackend('cuda');
      const t = tensor([1, 2, 3], [3]);
      expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
      t.dispose();
    });

    it('keeps the event loop running while a read waits on queued work', async () => {
      setBackend('cuda');
      const a = randn([192, 192], { seed: 3 });
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const prods = Array.from({ length: 6 }, () => matmul(a, a));
      await prods[prods.length - 1]!.data();
      clearInterval(timer);
      expect(ticks).toBeGreaterThan(0);
      for (const p of [a, ...prods]) p.dispose();
    });

    it('resolves reads by polling in poll mode', async () => {
      const ctx = env.pollCtx!;
      const p = ctx.malloc(1024)!;
      ctx.write(p, Float32Array.from([1, 2, 3, 4]));
      const read = ctx.read(p, 16, 0);
      let pending = ctx.poll();
      while (pending > 0) {
        await new Promise((r) => setTimeout(r, 1));
        pending = ctx.poll();
      }
      expect(Array.from(new Float32Array(await read))).toEqual([1, 2, 3, 4]);
      ctx.free(p);
    });
  });
} else {
  describe('the native addon on a fake CUDA', () => {
    it.skip(`skipped — ${env.reason}`, () => {});
  });
}
