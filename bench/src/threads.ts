/** Control of the 'cpu' backend's thread count for suites that compare thread counts. */
export interface CpuThreads {
  /** Threads the addon uses by default (the CPUs this process may run on). */
  all: number;
  /** The counts a suite measures: [all, 1] by default, or the one asked for. */
  counts: number[];
  set(n: number): void;
  /** Puts the default back. */
  restore(): void;
}

/**
 * Thread counts for a suite: `only` (a --threads=N option) or both all
 * threads and one thread. One thread each is the steadier comparison on a
 * shared machine: with every core asked for, PyTorch's OpenMP workers lose
 * more to other processes than the addon's pool does (see gemm-cpu).
 */
export async function cpuThreads(only: number | undefined): Promise<CpuThreads> {
  const { loadCpuAddon } = await import('@adapterkit/backend-cpu');
  const addon = loadCpuAddon().addon;
  const all = addon?.info().threads ?? 1;
  if (only !== undefined && (!Number.isInteger(only) || only < 1)) throw new Error(`--threads: expected a positive integer, got ${only}`);
  const counts = only !== undefined ? [only] : [...new Set([all, 1])];
  return {
    all,
    counts,
    set: (n) => addon?.setThreads(n),
    restore: () => addon?.setThreads(all),
  };
}
