import { getBackend, registeredBackends, setBackend } from '@adapterkit/core';

/** Backends the CLI and TrainingArguments accept. */
export const BACKEND_CHOICES = ['auto', 'cpu', 'cpu-ref', 'webgpu', 'cuda'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** What `selectBackend` chose and why. */
export interface BackendSelection {
  name: string;
  /** A one-line note for the log (e.g. why the fast CPU backend was not used). */
  note?: string;
}

function importByName(name: string): Promise<Record<string, unknown>> {
  // A variable specifier: bundlers leave it alone, and a missing optional package fails here, not at load time.
  return import(/* @vite-ignore */ name) as Promise<Record<string, unknown>>;
}

/** Registers the fast native CPU backend ('cpu') if @adapterkit/backend-cpu is installed and loads. */
async function tryFastCpu(): Promise<{ ok: true; detail?: string } | { ok: false; reason: string }> {
  if (registeredBackends().includes('cpu')) return { ok: true };
  let mod: Record<string, unknown>;
  try {
    mod = await importByName('@adapterkit/backend-cpu');
  } catch (e) {
    return { ok: false, reason: `@adapterkit/backend-cpu is not installed or not built (${(e as Error).message.split('\n')[0]})` };
  }
  const register = mod.registerFastCpuBackend as (() => { available: boolean; reason?: string }) | undefined;
  if (!register) return { ok: false, reason: '@adapterkit/backend-cpu has no registerFastCpuBackend export' };
  const r = register() as { available: boolean; reason?: string; isa?: string; threads?: number };
  return r.available ? { ok: true, detail: r.isa ? `${r.isa}, ${r.threads ?? '?'} threads` : undefined } : { ok: false, reason: r.reason ?? 'the native addon is unavailable' };
}

/**
 * Makes a backend current for training. 'auto' prefers the fast native CPU
 * backend and falls back to the reference one with a note saying why; an
 * explicitly named backend that cannot be used is an error (never a silent
 * fallback). WebGPU and CUDA come from their packages when installed.
 */
export async function selectBackend(choice: BackendChoice | string = 'auto'): Promise<BackendSelection> {
  if (choice === 'cpu-ref') {
    setBackend('cpu-ref');
    return { name: 'cpu-ref' };
  }
  if (choice === 'auto' || choice === 'cpu') {
    const fast = await tryFastCpu();
    if (fast.ok) {
      setBackend('cpu');
      return { name: 'cpu', note: fast.detail ? `using the native CPU backend 'cpu' (${fast.detail})` : undefined };
    }
    if (choice === 'cpu') throw new Error(`backend 'cpu' is not available: ${fast.reason}; use --backend cpu-ref for the reference backend`);
    setBackend('cpu-ref');
    return { name: 'cpu-ref', note: `using the reference CPU backend 'cpu-ref' (slow): ${fast.reason}` };
  }
  if (choice === 'webgpu' || choice === 'cuda') {
    if (!registeredBackends().includes(choice)) {
      const pkg = `@adapterkit/backend-${choice}`;
      try {
        const mod = await importByName(pkg);
        const init = (mod.initWebGpuBackend ?? mod.registerWebGpuBackend ?? mod.registerCudaBackend ?? mod.initCudaBackend) as (() => unknown) | undefined;
        if (init) await init();
      } catch (e) {
        throw new Error(`backend '${choice}' is not available: ${pkg} could not be loaded (${(e as Error).message.split('\n')[0]})`);
      }
    }
    if (!registeredBackends().includes(choice)) throw new Error(`backend '${choice}' did not register; registered backends: ${registeredBackends().join(', ')}`);
    setBackend(choice);
    return { name: choice };
  }
  if (registeredBackends().includes(choice)) {
    setBackend(choice);
    return { name: getBackend().name };
  }
  throw new Error(`unknown backend '${choice}'; choose one of ${BACKEND_CHOICES.join(', ')}`);
}
