import { PRIMITIVE_KERNELS, registerBackendInstance, registerCpuBackend, registerKernel, type KernelArgs, type KernelImpl, type PrimitiveAttrs } from '@adapterkit/core';
import { FastCpuBackend } from '../backend.js';
import { allF32, f32Of, referenceKernel } from '../kernels/common.js';
import { WasmGemm } from './wasm-gemm.js';

/** Where a kernel of the WebAssembly backend runs. */
export type WasmKernelPath = 'wasm' | 'ts';

/** matmul (f32) runs in WebAssembly SIMD; every other kernel is the reference TS kernel, registered explicitly. */
export const WASM_KERNEL_IMPLEMENTATIONS: Readonly<Record<string, { f32: WasmKernelPath; otherDTypes: WasmKernelPath }>> = Object.freeze(
  Object.fromEntries(PRIMITIVE_KERNELS.map((k) => [k, { f32: k === 'matmul' ? 'wasm' : 'ts', otherDTypes: 'ts' } as const])),
);

export interface WasmCpuRegistration {
  available: boolean;
  reason?: string;
  /** Name registered (when available). */
  name?: string;
}

const registrations = new Map<string, Promise<WasmCpuRegistration>>();

/**
 * The CPU backend for browsers (and any engine with WebAssembly SIMD): memory
 * and most kernels as 'cpu-ref' (plain typed arrays, TS kernels), f32 matmul
 * in a WebAssembly SIMD GEMM (AssemblyScript, single thread). Registers it
 * under `name` (default 'cpu'; in Node the native addon normally owns 'cpu').
 * Resolves `{ available: false, reason }` instead of throwing where
 * WebAssembly SIMD is missing.
 */
export function registerWasmCpuBackend(opts: { name?: string } = {}): Promise<WasmCpuRegistration> {
  const name = opts.name ?? 'cpu';
  let p = registrations.get(name);
  if (!p) {
    p = register(name);
    registrations.set(name, p);
  }
  return p;
}

async function register(name: string): Promise<WasmCpuRegistration> {
  let gemm: WasmGemm;
  try {
    gemm = await WasmGemm.load();
  } catch (e) {
    return { available: false, reason: `WebAssembly GEMM unavailable: ${e instanceof Error ? e.message : String(e)}` };
  }
  registerCpuBackend();
  for (const k of PRIMITIVE_KERNELS) registerKernel(k, name, referenceKernel(k));
  const ref = referenceKernel('matmul');
  const matmul: KernelImpl = (b, args: KernelArgs<PrimitiveAttrs['matmul']>) => {
    const a = args.inputs[0]!, bv = args.inputs[1]!, c = args.outputs[0]!;
    if (!allF32(a, bv, c)) return ref(b, args);
    gemm.matmul(f32Of(a), a.offset, f32Of(bv), bv.offset, f32Of(c), c.offset, args.attrs);
  };
  registerKernel('matmul', name, matmul);
  registerBackendInstance(new FastCpuBackend({ name }));
  return { available: true, name };
}
