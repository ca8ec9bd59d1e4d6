import { KernelNotFoundError } from '../errors.js';
import type { Backend, KernelImpl } from './backend.js';

const kernels = new Map<string, Map<string, KernelImpl>>();
const backends = new Map<string, () => Backend>();
const instances = new Map<string, Backend>();
let current: Backend | null = null;
let defaultName = 'cpu-ref';

/**
 * Registers a kernel implementation for one backend. Plugins call this to add
 * kernels (TS for cpu, WGSL for webgpu, CUDA source for cuda). Registering the
 * same (name, backend) twice replaces the earlier implementation.
 */
export function registerKernel<B extends Backend>(name: string, backendName: string, impl: KernelImpl<B>): void {
  let byBackend = kernels.get(name);
  if (!byBackend) kernels.set(name, (byBackend = new Map()));
  byBackend.set(backendName, impl as KernelImpl);
}

/** Looks a kernel up; throws a KernelNotFoundError naming the kernel and the backend. */
export function getKernel(name: string, backendName: string): KernelImpl {
  const impl = kernels.get(name)?.get(backendName);
  if (!impl) throw new KernelNotFoundError(name, backendName, [...(kernels.get(name)?.keys() ?? [])]);
  return impl;
}

export function hasKernel(name: string, backendName: string): boolean {
  return kernels.get(name)?.has(backendName) ?? false;
}

/** Names of kernels registered for a backend. */
export function kernelsFor(backendName: string): string[] {
  return [...kernels].filter(([, m]) => m.has(backendName)).map(([k]) => k);
}

/** Registers a backend factory; the backend is created on first use. */
export function registerBackend(name: string, factory: () => Backend): void {
  backends.set(name, factory);
}

export function registeredBackends(): string[] {
  return [...backends.keys()];
}

/** Returns the backend instance of that name, creating it on first use. */
export function backendByName(name: string): Backend {
  let b = instances.get(name);
  if (b) return b;
  const factory = backends.get(name);
  if (!factory) throw new Error(`unknown backend '${name}'; registered backends: ${registeredBackends().join(', ') || 'none'}`);
  b = factory();
  instances.set(name, b);
  return b;
}

/** Makes `name` the backend new tensors are created on. */
export function setBackend(name: string): Backend {
  current = backendByName(name);
  return current;
}

/** The backend new tensors are created on. */
export function getBackend(): Backend {
  if (!current) current = backendByName(defaultName);
  return current;
}

/** Adds an already-created backend instance (for backends created asynchronously, like WebGPU). */
export function registerBackendInstance(backend: Backend): void {
  instances.set(backend.name, backend);
  if (!backends.has(backend.name)) backends.set(backend.name, () => backend);
}
