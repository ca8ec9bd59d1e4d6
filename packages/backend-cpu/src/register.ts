import { registerBackend, registerCpuBackend } from '@adapterkit/core';
import { loadCpuAddon } from './addon.js';
import { FAST_CPU_BACKEND_NAME, FastCpuBackend } from './backend.js';
import { registerFastCpuKernels } from './kernels/index.js';

/** What `registerFastCpuBackend` did. */
export interface FastCpuRegistration {
  /** Whether the 'cpu' backend was registered (the native addon loaded). */
  available: boolean;
  /** Why not, when unavailable: core then keeps using 'cpu-ref'. */
  reason?: string;
  /** Active SIMD level ('avx512' | 'avx2' | 'scalar') and thread count, when available. */
  isa?: string;
  threads?: number;
}

let registered: FastCpuRegistration | undefined;

/**
 * Loads the native addon and, if it works, registers the 'cpu' backend and
 * all of its kernels (idempotent). Never throws: when the addon is missing or
 * fails to load it returns `{ available: false, reason }` and registers
 * nothing, so `setBackend('cpu')` fails with "unknown backend" and automatic
 * backend choice stays on 'cpu-ref' (callers should print the reason once).
 */
export function registerFastCpuBackend(): FastCpuRegistration {
  if (registered) return registered;
  const status = loadCpuAddon();
  if (!status.available || !status.addon) {
    registered = { available: false, reason: status.reason ?? 'native addon unavailable' };
    return registered;
  }
  const addon = status.addon;
  registerCpuBackend(); // the reference kernels reused for some dtypes must exist first
  registerBackend(FAST_CPU_BACKEND_NAME, () => new FastCpuBackend());
  registerFastCpuKernels(addon, FAST_CPU_BACKEND_NAME);
  registered = { available: true, isa: status.isa, threads: status.threads };
  return registered;
}
