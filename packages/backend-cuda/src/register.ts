import { registerBackend, registerCpuBackend, type DType } from '@adapterkit/core';
import { CudaBackend, CUDA_BACKEND_NAME } from './backend.js';
import { NvrtcCompiler, chooseTarget, type CompiledImage } from './compiler.js';
import type { DriverDevice } from './addon.js';
import { builtinKernelSources, registerCudaKernels } from './kernels/index.js';
import { cudaStatus, nvrtcStatus } from './status.js';

export interface CudaBackendOptions {
  /** Device index (default 0, or ADAPTERKIT_CUDA_DEVICE). */
  device?: number;
  /** Resolve reads by polling an event from JS timers instead of a CUDA host callback (default: ADAPTERKIT_CUDA_READ=poll). */
  pollReads?: boolean;
  /** NVRTC disk cache folder; null keeps compiled kernels in memory only (default ~/.cache/adapterkit/cuda). */
  cacheDir?: string | null;
  /** Let f32 matmuls use TF32 tensor cores (default false: plain FP32). */
  tf32?: boolean;
}

/** What `registerCudaBackend` did. */
export interface CudaRegistration {
  /** Whether the 'cuda' backend was registered. */
  available: boolean;
  /** Why not, when unavailable (print it once: core then keeps another backend). */
  reason?: string;
  /** The device the backend will use. */
  device?: DriverDevice;
}

let registered: CudaRegistration | undefined;

function envDevice(): number {
  const v = typeof process !== 'undefined' ? Number(process.env.ADAPTERKIT_CUDA_DEVICE ?? 0) : 0;
  return Number.isInteger(v) && v >= 0 ? v : 0;
}

/**
 * Creates the backend now: a CUDA context on the device (a few hundred MB of
 * device memory for the context and cuBLAS), the NVRTC compiler for its
 * arch. Throws with the reason when CUDA is unavailable.
 */
export function createCudaBackend(opts: CudaBackendOptions = {}): CudaBackend {
  const status = cudaStatus();
  if (!status.available || !status.addon) throw new Error(`cuda: the CUDA backend is unavailable: ${status.reason}`);
  const nv = nvrtcStatus();
  if (!nv.available || !nv.archs || !nv.version) throw new Error(`cuda: NVRTC is unavailable: ${nv.reason}`);
  const device = opts.device ?? envDevice();
  const count = status.devices?.length ?? 0;
  if (device >= count) throw new RangeError(`cuda: device ${device} does not exist (${count} device${count === 1 ? '' : 's'})`);
  const pollReads = opts.pollReads ?? process.env.ADAPTERKIT_CUDA_READ === 'poll';
  const ctx = new status.addon.CudaContext(device, { pollReads });
  const target = chooseTarget(ctx.info().computeCapability, nv.archs);
  const backend = new CudaBackend(ctx, new NvrtcCompiler(status.addon, target, nv.version, { cacheDir: opts.cacheDir }));
  if (opts.tf32) backend.setTf32(true);
  return backend;
}

/**
 * Probes CUDA and, when it works, registers the 'cuda' backend (created on
 * first use, e.g. `setBackend('cuda')`) and all of its kernels. Never throws:
 * without a driver, GPU or toolkit it returns `{ available: false, reason }`
 * and registers nothing, so `setBackend('cuda')` fails with "unknown backend".
 * Idempotent (the first call's options win).
 */
export function registerCudaBackend(opts: CudaBackendOptions = {}): CudaRegistration {
  if (registered) return registered;
  const status = cudaStatus();
  if (!status.available) {
    registered = { available: false, reason: status.reason ?? 'CUDA unavailable' };
    return registered;
  }
  registerCpuBackend(); // the conformance reference and host-side fallbacks expect it
  registerCudaKernels();
  registerBackend(CUDA_BACKEND_NAME, () => createCudaBackend(opts));
  registered = { available: true, device: status.devices?.[opts.device ?? envDevice()] };
  return registered;
}

/** Result of compiling the built-in kernels ahead of use. */
export interface PrecompileReport {
  compiled: number;
  fromCache: number;
  failed: { key: string; error: string }[];
  ms: number;
  target: string;
}

/**
 * Compiles a representative set of the built-in kernel variants (see
 * builtinKernelSources) with NVRTC, in parallel on worker threads, filling
 * the disk cache. With a backend: for its device. Without: for `arch`
 * (default 90 = sm_90), which needs only libnvrtc — no driver, no GPU — and
 * so checks the sources compile on any machine with the toolkit.
 */
export async function precompileCudaKernels(opts: { backend?: CudaBackend; arch?: number; cacheDir?: string | null; concurrency?: number } = {}): Promise<PrecompileReport> {
  let compiler: NvrtcCompiler;
  if (opts.backend) {
    compiler = opts.backend.compiler;
  } else {
    const nv = nvrtcStatus();
    if (!nv.available || !nv.addon || !nv.archs || !nv.version) throw new Error(`cuda: NVRTC is unavailable: ${nv.reason}`);
    compiler = new NvrtcCompiler(nv.addon, chooseTarget(opts.arch ?? 90, nv.archs), nv.version, { cacheDir: opts.cacheDir === undefined ? null : opts.cacheDir });
  }
  const sources = builtinKernelSources();
  const report: PrecompileReport = { compiled: 0, fromCache: 0, failed: [], ms: 0, target: compiler.target.option };
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < sources.length) {
      const s = sources[next++]!;
      try {
        const r: CompiledImage = await compiler.compileAsync(s.key.replace(/[^A-Za-z0-9_.-]/g, '_'), s.source);
        if (r.from === 'nvrtc') report.compiled++;
        else report.fromCache++;
      } catch (e) {
        report.failed.push({ key: s.key, error: e instanceof Error ? e.message : String(e) });
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  report.ms = performance.now() - t0;
  return report;
}

/** Dtypes the 'cuda' backend stores. */
export const CUDA_SUPPORTED_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'u8', 'i8'];
