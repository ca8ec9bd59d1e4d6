import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Element arrays the addon accepts (the storage arrays of the CPU backends). */
export type NativeArray = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | Uint16Array;

/**
 * The native addon's functions (native/addon.cpp). Offsets and sizes are in
 * elements; `layout` is the Float64Array made by `layoutOf` (layout.ts).
 * Every function checks its arguments and throws instead of touching memory
 * outside the arrays it is given.
 */
export interface CpuAddon {
  /** The active ISA level, the levels this CPU runs (best first), and the thread count. */
  info(): { isa: string; isas: string[]; threads: number };
  /** Selects an ISA level ('avx512' | 'avx2' | 'scalar'); throws if this CPU/build lacks it. */
  setIsa(isa: string): void;
  /** Sets the number of threads kernels use (the calling thread included). */
  setThreads(n: number): void;
  /** Peak f32 FMA throughput in flop/s of the active ISA on all threads, from a register-resident loop run for `seconds`. */
  peakFlops(seconds: number): number;
  gemm(
    a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, c: Float32Array, cOffset: number,
    batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number,
  ): void;
  unary(op: number, x: Float32Array, y: Float32Array, layout: Float64Array): void;
  binary(op: number, a: Float32Array, b: Float32Array, z: Float32Array, layout: Float64Array): void;
  compare(op: number, a: Float32Array, b: Float32Array, z: Uint8Array, layout: Float64Array): void;
  where(cond: Uint8Array, a: NativeArray, b: NativeArray, y: NativeArray, layout: Float64Array): void;
  copy(x: NativeArray, y: NativeArray, layout: Float64Array): void;
  reduce(op: number, x: Float32Array, xOffset: number, y: Float32Array | Int32Array, yOffset: number, outer: number, reduce: number, inner: number): void;
  softmax(log: boolean, x: Float32Array, xOffset: number, y: Float32Array, yOffset: number, rows: number, cols: number): void;
  layerNorm(
    x: Float32Array, xo: number, g: Float32Array, go: number, b: Float32Array, bo: number,
    y: Float32Array, yo: number, mean: Float32Array, mo: number, rstd: Float32Array, ro: number, rows: number, d: number, eps: number,
  ): void;
  layerNormBackward(
    dy: Float32Array, dyo: number, x: Float32Array, xo: number, mean: Float32Array, mo: number, rstd: Float32Array, ro: number,
    g: Float32Array, go: number, dx: Float32Array, dxo: number, dg: Float32Array, dgo: number, db: Float32Array, dbo: number, rows: number, d: number,
  ): void;
  rmsNorm(x: Float32Array, xo: number, g: Float32Array, go: number, y: Float32Array, yo: number, rstd: Float32Array, ro: number, rows: number, d: number, eps: number): void;
  rmsNormBackward(
    dy: Float32Array, dyo: number, x: Float32Array, xo: number, rstd: Float32Array, ro: number, g: Float32Array, go: number,
    dx: Float32Array, dxo: number, dg: Float32Array, dgo: number, rows: number, d: number,
  ): void;
  crossEntropy(x: Float32Array, xo: number, t: Int32Array, to: number, loss: Float32Array, lo: number, n: number, c: number, ignoreIndex: number): void;
  crossEntropyBackward(
    x: Float32Array, xo: number, t: Int32Array, to: number, dloss: Float32Array, dlo: number, dx: Float32Array, dxo: number,
    n: number, c: number, ignoreIndex: number,
  ): void;
  random(y: Float32Array, yOffset: number, size: number, distribution: number, seed: number, counter: number, p0: number, p1: number): void;
  gather(table: NativeArray, tableOffset: number, indices: Int32Array, indicesOffset: number, y: NativeArray, yOffset: number, v: number, d: number, n: number): void;
  scatterAdd(src: Float32Array, srcOffset: number, indices: Int32Array, indicesOffset: number, y: Float32Array, yOffset: number, v: number, d: number, n: number): void;
  version: string;
}

/** Result of loading the addon. */
export interface AddonStatus {
  available: boolean;
  /** Why the addon is unavailable (build failure, missing file, load error, disabled). */
  reason?: string;
  addon?: CpuAddon;
  /** Where the addon was looked for. */
  path: string;
  /** Active ISA level and thread count when available. */
  isa?: string;
  threads?: number;
}

/** Default location, relative to this module (src/ in tests, dist/ when built: both one level below the package). */
const DEFAULT_PATH = fileURLToPath(new URL('../build/Release/adapterkit_cpu.node', import.meta.url));
const EXPECTED_VERSION = '1';

let cached: AddonStatus | undefined;

export interface LoadOptions {
  /**
   * Load from this path instead of build/Release/adapterkit_cpu.node (not
   * cached). A build failure is read from native-build-error.txt two levels up
   * (build/ for the default path), where the install script records it.
   */
  path?: string;
}

/**
 * Loads the native addon once and reports whether it is usable. Never throws
 * and never crashes the process: a missing build, a load error or a failing
 * self-check all come back as `available: false` with the reason. Set
 * ADAPTERKIT_CPU_DISABLE=1 to report it unavailable on purpose.
 */
export function loadCpuAddon(opts: LoadOptions = {}): AddonStatus {
  if (!opts.path && cached) return cached;
  const status = load(opts.path ?? DEFAULT_PATH);
  if (!opts.path) cached = status;
  return status;
}

function load(path: string): AddonStatus {
  if (typeof process === 'undefined' || !process.versions?.node) {
    return { available: false, path, reason: "not running in Node.js (the native addon needs Node); in browsers use registerWasmCpuBackend from '@adapterkit/backend-cpu/wasm'" };
  }
  if (process.env.ADAPTERKIT_CPU_DISABLE === '1') {
    return { available: false, path, reason: 'disabled by ADAPTERKIT_CPU_DISABLE=1' };
  }
  if (!existsSync(path)) {
    const errorFile = join(dirname(dirname(path)), 'native-build-error.txt');
    const reason = existsSync(errorFile)
      ? `native addon was not built: ${readFileSync(errorFile, 'utf8').trim()}`
      : `native addon not found at ${path}; build it with \`pnpm --filter @adapterkit/backend-cpu build:native\` (needs CMake and a C++17 compiler)`;
    return { available: false, path, reason };
  }
  try {
    const addon = createRequire(import.meta.url)(path) as CpuAddon;
    if (addon.version !== EXPECTED_VERSION) {
      return { available: false, path, reason: `native addon at ${path} is version ${String(addon.version)}, expected ${EXPECTED_VERSION}; rebuild it` };
    }
    const info = addon.info();
    return { available: true, path, addon, isa: info.isa, threads: info.threads };
  } catch (e) {
    return { available: false, path, reason: `native addon at ${path} failed to load: ${e instanceof Error ? e.message : String(e)}` };
  }
}
