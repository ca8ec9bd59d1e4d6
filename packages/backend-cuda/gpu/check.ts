/**
 * The whole GPU session in one script, for the device machine (no vitest,
 * no node_modules there): scripts/carry-gpu.mjs bundles it with core, the
 * bottleneck method and this package into .gpu-carry/check.mjs.
 *
 *   node check.mjs [--out DIR] [--only conformance|bench|checks] [--poll]
 *
 * 1. CUDA status (driver, runtime, cuBLAS, NVRTC, device).
 * 2. Warms the NVRTC cache with every built-in kernel variant.
 * 3. Core's conformance suite — every case of describeConformance, run
 *    through the same checkCase — against 'cpu-ref'.
 * 4. GPU-specific checks: index errors reported at the next read, memory back
 *    to its level after a training step, reads not blocking the event loop,
 *    autocast matmul error against f32.
 * 5. bench/train-step.ts: bert-base seq_bn step, bf16 autocast and f32.
 * Results go to DIR/gpu-check.json (and stdout).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  backendByName, dispose, embedding, matmul, memory, randn, registerCpuBackend, setBackend, tensor, toBackend, type Tensor,
} from '@adapterkit/core';
import { checkCase, composedCases, dtypeCases, kernelCases, type KernelCase } from '@adapterkit/core/conformance';
import { benchTrainStep } from '../bench/train-step.js';
import { autocast, cudaStatus, precompileCudaKernels, registerCudaBackend, type CudaBackend } from '../src/index.js';

const argv = process.argv.slice(2);
const arg = (n: string): string | undefined => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1] : undefined);
const outDir = arg('out') ?? '.';
const only = arg('only');
const report: Record<string, unknown> = { startedAt: new Date().toISOString() };

function save(): void {
  writeFileSync(join(outDir, 'gpu-check.json'), `${JSON.stringify(report, null, 2)}\n`);
}

function log(...a: unknown[]): void {
  console.log(...a);
}

async function conformance(): Promise<void> {
  const cases: KernelCase[] = [];
  for (const group of [kernelCases('f32'), dtypeCases()]) for (const list of group.values()) cases.push(...list);
  cases.push(...composedCases('f32'));
  let passed = 0, skipped = 0;
  const failures: { id: string; message: string }[] = [];
  const t0 = performance.now();
  for (const c of cases) {
    try {
      const r = await checkCase(c, { backend: 'cuda' });
      if (r.skipped) skipped++;
      else if (r.ok) passed++;
      else failures.push({ id: c.id, message: r.message.slice(0, 2000) });
    } catch (e) {
      failures.push({ id: c.id, message: `threw: ${e instanceof Error ? `${e.message}\n${e.stack ?? ''}`.slice(0, 2000) : String(e)}` });
    }
  }
  report.conformance = { cases: cases.length, passed, failed: failures.length, skipped, seconds: (performance.now() - t0) / 1000, failures };
  log(`conformance: ${passed} passed, ${failures.length} failed, ${skipped} skipped of ${cases.length}`);
  for (const f of failures.slice(0, 40)) log(`  FAIL ${f.id}\n    ${f.message.split('\n').slice(0, 4).join('\n    ')}`);
  save();
}

async function checks(b: CudaBackend): Promise<void> {
  const out: Record<string, unknown> = {};
  // Index errors surface at the next read, with the offending value.
  try {
    const table = tensor(new Float32Array(12), [4, 3]);
    const ids = tensor(new Int32Array([1, 7]), [2], { dtype: 'i32' });
    const y = embedding(table, ids);
    await y.data();
    out.gatherOutOfRange = 'NOT REPORTED';
    dispose([table, ids, y]);
  } catch (e) {
    out.gatherOutOfRange = e instanceof Error ? e.message : String(e);
  }
  await b.sync();
  // Memory returns to its level.
  const before = memory(b).liveBuffers;
  const x = randn([256, 512]);
  const w = randn([512, 512]);
  const z = matmul(x, w);
  await z.data();
  dispose([x, w, z]);
  out.leakedBuffers = memory(b).liveBuffers - before;
  // A long GPU job must not block the event loop while a read is pending.
  const big = randn([4096, 4096]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const t0 = performance.now();
  const prods: Tensor[] = [];
  for (let i = 0; i < 20; i++) prods.push(matmul(big, big));
  const enqueueMs = performance.now() - t0;
  await prods[prods.length - 1]!.data();
  clearInterval(timer);
  out.asyncRead = { enqueueMs, waitMs: performance.now() - t0 - enqueueMs, timerTicksWhileWaiting: ticks };
  dispose([big, ...prods]);
  // autocast bf16 matmul vs f32 and the cpu-ref result.
  const a = randn([128, 256], { seed: 1 });
  const c = randn([256, 64], { seed: 2 });
  const f32 = await matmul(a, c).data();
  const bf = await autocast('bf16', () => matmul(a, c)).data();
  const refA = await toBackend(a, 'cpu-ref'), refC = await toBackend(c, 'cpu-ref');
  const ref = await matmul(refA, refC).data();
  let e32 = 0, ebf = 0;
  for (let i = 0; i < ref.length; i++) {
    e32 = Math.max(e32, Math.abs(f32[i]! - ref[i]!));
    ebf = Math.max(ebf, Math.abs(bf[i]! - ref[i]!));
  }
  out.matmulMaxAbsDiff = { f32: e32, autocastBf16: ebf };
  dispose([a, c, refA, refC]);
  out.memory = b.memoryStats();
  report.checks = out;
  log('checks:', JSON.stringify(out, null, 2));
  save();
}

async function main(): Promise<void> {
  const status = cudaStatus();
  report.status = { ...status, addon: undefined };
  log('status:', JSON.stringify(report.status, null, 2));
  save();
  if (!status.available) return;
  registerCpuBackend();
  const reg = registerCudaBackend({ pollReads: argv.includes('--poll') });
  if (!reg.available) return;
  setBackend('cuda');
  const b = backendByName('cuda') as CudaBackend;
  report.device = b.info;
  const pre = await precompileCudaKernels({ backend: b, concurrency: 8 });
  report.precompile = pre;
  log(`precompiled ${pre.compiled} kernels (${pre.fromCache} cached) in ${pre.ms.toFixed(0)} ms for ${pre.target}; failed: ${pre.failed.length}`);
  save();
  if (!only || only === 'conformance') await conformance();
  if (!only || only === 'checks') await checks(b);
  if (!only || only === 'bench') {
    report.benchBf16 = await benchTrainStep({ autocast: 'bf16' });
    log('bench bf16:', JSON.stringify(report.benchBf16));
    save();
    report.benchF32 = await benchTrainStep({ autocast: null });
    log('bench f32:', JSON.stringify(report.benchF32));
    save();
  }
  report.finishedAt = new Date().toISOString();
  save();
}

main().catch((e) => {
  report.error = e instanceof Error ? `${e.message}\n${e.stack}` : String(e);
  save();
  console.error(e);
  process.exitCode = 1;
});
