import {
  BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS, backendByName, getKernel, kernelsFor, registerKernel,
  type Backend, type KernelImpl, type PrimitiveAttrs,
} from '@adapterkit/core';

/** Time and calls of one kernel (or one family) over the profiled span. */
export interface KernelStat {
  ms: number;
  calls: number;
  /** matmul only: 2·batch·m·n·k summed. */
  flops: number;
}

/** Families of kernels a step's time is split into. */
export function kernelFamily(name: string): string {
  if (name === 'matmul') return 'matmul';
  if ((UNARY_OPS as readonly string[]).includes(name) || (BINARY_OPS as readonly string[]).includes(name)) return 'elementwise math';
  if ((COMPARE_OPS as readonly string[]).includes(name) || name === 'where') return 'elementwise math';
  if (name === 'copy' || name === 'cast' || name === 'fill') return 'copies/casts/fills';
  if (name === 'gather' || name === 'scatterAdd') return 'gather/scatter (embeddings)';
  if (/^(softmax|logSoftmax|layerNorm|rmsNorm|crossEntropy)/.test(name)) return 'row kernels (softmax, norms, loss)';
  if ((REDUCE_OPS as readonly string[]).includes(name)) return 'reductions';
  if (name === 'random') return 'random (dropout masks)';
  return 'other kernels';
}

/** A kernel profiler installed on one backend; `uninstall()` puts the original kernels back. */
export interface KernelProfiler {
  /** Per kernel name (top-level calls only; a kernel calling another is counted once). */
  readonly kernels: Map<string, KernelStat>;
  /** Per kernel name and output shape, e.g. 'mul [16,12,128,128]' (which call sites cost what). */
  readonly byShape: Map<string, KernelStat>;
  /** backend.alloc + backend.free (outside the kernels: core allocates outputs before calling them). */
  readonly memory: KernelStat;
  reset(): void;
  uninstall(): void;
}

function stat(): KernelStat {
  return { ms: 0, calls: 0, flops: 0 };
}

function matmulFlops(a: PrimitiveAttrs['matmul']): number {
  return 2 * a.batch * a.m * a.n * a.k;
}

function add(map: Map<string, KernelStat>, key: string, ms: number, flops: number): void {
  let s = map.get(key);
  if (!s) map.set(key, (s = stat()));
  s.ms += ms;
  s.calls++;
  s.flops += flops;
}

/**
 * Wraps every kernel registered for `backendName` (and the backend's alloc /
 * free) with a timer. Only for synchronous backends ('cpu', 'cpu-ref'): there
 * a kernel's wall time is its cost. Each wrapper adds a performance.now()
 * pair (well under a microsecond) per call.
 */
export function installKernelProfiler(backendName: string): KernelProfiler {
  const kernels = new Map<string, KernelStat>();
  const byShape = new Map<string, KernelStat>();
  const memory = stat();
  const originals = new Map<string, KernelImpl>();
  let depth = 0;
  for (const name of kernelsFor(backendName)) {
    const impl = getKernel(name, backendName);
    originals.set(name, impl);
    registerKernel(name, backendName, (b: Backend, args) => {
      if (depth > 0) return impl(b, args);
      depth++;
      const t0 = performance.now();
      try {
        impl(b, args);
      } finally {
        depth--;
        const ms = performance.now() - t0;
        const flops = name === 'matmul' ? matmulFlops(args.attrs as PrimitiveAttrs['matmul']) : 0;
        const out = args.outputs[0];
        add(kernels, name, ms, flops);
        add(byShape, `${name} [${out ? out.shape.join(',') : ''}]`, ms, flops);
      }
    });
  }
  const backend = backendByName(backendName);
  const b = backend as unknown as Record<'alloc' | 'free', (...xs: unknown[]) => unknown>;
  const own = { alloc: Object.hasOwn(backend, 'alloc'), free: Object.hasOwn(backend, 'free') };
  const orig = { alloc: b.alloc, free: b.free };
  for (const key of ['alloc', 'free'] as const) {
    const fn = orig[key];
    b[key] = function timed(this: unknown, ...xs: unknown[]) {
      const t0 = performance.now();
      try {
        return fn.apply(this, xs);
      } finally {
        memory.ms += performance.now() - t0;
        memory.calls++;
      }
    };
  }
  return {
    kernels,
    byShape,
    memory,
    reset() {
      kernels.clear();
      byShape.clear();
      Object.assign(memory, stat());
    },
    uninstall() {
      for (const [name, impl] of originals) registerKernel(name, backendName, impl);
      for (const key of ['alloc', 'free'] as const) {
        if (own[key]) b[key] = orig[key];
        else delete (b as Partial<typeof b>)[key];
      }
    },
  };
}

/** Sums per-kernel stats into families, largest first. */
export function byFamily(kernels: Map<string, KernelStat>): [string, KernelStat][] {
  const fam = new Map<string, KernelStat>();
  for (const [name, s] of kernels) {
    const f = kernelFamily(name);
    let t = fam.get(f);
    if (!t) fam.set(f, (t = stat()));
    t.ms += s.ms;
    t.calls += s.calls;
    t.flops += s.flops;
  }
  return [...fam].sort((a, b) => b[1].ms - a[1].ms);
}
