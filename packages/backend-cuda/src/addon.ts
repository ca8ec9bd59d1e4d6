import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Result of loading one CUDA library: the path that opened, or every attempt's error. */
export interface LibraryLoad {
  ok: boolean;
  path?: string;
  error?: string;
}

/** Candidate paths (or bare sonames) per library, tried in order. */
export interface LibrarySpec {
  driver?: string[];
  runtime?: string[];
  cublasLt?: string[];
  cublas?: string[];
  nvrtc?: string[];
}

export interface DriverDevice {
  name: string;
  /** major·10 + minor, e.g. 90 for an H100. */
  computeCapability: number;
  multiprocessors: number;
  totalMemory: number;
}

export interface DriverInit {
  ok: boolean;
  error?: string;
  /** cuDriverGetVersion, e.g. 13000 (the newest CUDA the driver supports). */
  driverVersion?: number;
  devices?: DriverDevice[];
}

export interface NvrtcCompileResult {
  ok: boolean;
  /** The compiler's messages (errors and warnings). */
  log: string;
  /** An NVRTC API failure other than a compile error. */
  error?: string;
  image?: Uint8Array;
}

/** What the native context reports about its device (see native/context.cpp). */
export interface NativeDeviceInfo {
  device: number;
  name: string;
  computeCapability: number;
  multiprocessors: number;
  totalMemory: number;
  driverVersion: number;
  runtimeVersion: number;
  cublasVersion: number;
  pollReads: boolean;
}

/**
 * One device context (native/context.cpp). Pointers, sizes and offsets are JS
 * numbers (device addresses are below 2^53). Every call is enqueued on the
 * context's single stream, in call order.
 */
export interface NativeContext {
  info(): NativeDeviceInfo;
  /** Device memory, or null when the device is out of memory. */
  malloc(bytes: number): number | null;
  free(ptr: number): void;
  memGetInfo(): { free: number; total: number };
  /** Copies the array's bytes to device address `dst` through pinned staging (returns once the bytes are staged). */
  write(dst: number, data: ArrayBufferView): void;
  /** Bytes at `src` (+16 status bytes when `statusPtr` is not 0, which are then cleared), once all earlier work has run. */
  read(src: number, bytes: number, statusPtr: number): Promise<ArrayBuffer>;
  /** The same, waiting on the stream (blocks the JS thread). */
  readBlocking(src: number, bytes: number, statusPtr: number): ArrayBuffer;
  /** Poll mode: completes finished reads; returns how many are pending. */
  poll(): number;
  /** null while the stream is healthy, else its sticky error. */
  streamError(): string | null;
  syncBlocking(): void;
  memcpyDtoD(dst: number, src: number, bytes: number): void;
  /** `count` elements of `width` (1, 2 or 4) bytes set to the bit pattern. */
  memset(dst: number, pattern: number, count: number, width: 1 | 2 | 4): void;
  /** A cubin, or PTX text ending in a NUL byte → module index. */
  loadModule(image: Uint8Array): number;
  getFunction(module: number, entry: string): number;
  launch(fn: number, gx: number, gy: number, gz: number, bx: number, by: number, bz: number, sharedBytes: number, params: Uint8Array): void;
  gemm(
    opA: number, opB: number, m: number, n: number, k: number, alpha: number,
    a: number, aType: number, lda: number, strideA: number,
    b: number, bType: number, ldb: number, strideB: number,
    beta: number, c: number, cType: number, ldc: number, strideC: number,
    batch: number, computeType: number,
  ): void;
  setMathMode(tf32: boolean): void;
  destroy(): void;
}

export interface NativeContextOptions {
  /** Resolve reads by polling an event from JS timers instead of a CUDA host callback. */
  pollReads?: boolean;
  stagingChunkBytes?: number;
  stagingChunks?: number;
}

/** The native addon's exports (native/addon.cpp). */
export interface CudaAddon {
  version: string;
  /** CUDA_VERSION of the headers the addon was built against (e.g. 12090). */
  buildCudaVersion: number;
  loadLibraries(spec: LibrarySpec): Record<keyof LibrarySpec, LibraryLoad | undefined>;
  driverInit(): DriverInit;
  runtimeVersion(): number | null;
  nvrtcCompile(source: string, name: string, options: string[], cubin: boolean): NvrtcCompileResult;
  nvrtcCompileAsync(source: string, name: string, options: string[], cubin: boolean): Promise<NvrtcCompileResult>;
  nvrtcInfo(): { version: [number, number]; archs: number[] };
  CudaContext: new (device: number, opts?: NativeContextOptions) => NativeContext;
}

export interface AddonLoad {
  ok: boolean;
  addon?: CudaAddon;
  /** Why the addon is unusable (not built, failed to load, wrong version). */
  reason?: string;
  path: string;
}

/** Where the install script builds to (relative to this module: src/ in tests, dist/ when built — both one level below the package). */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_BUILD_DIR = join(PACKAGE_DIR, 'build');
const EXPECTED_VERSION = '1';

let cached: AddonLoad | undefined;

/**
 * Loads the native addon once. Never throws: a missing build (the install
 * script's recorded reason is reported), a load error or a version mismatch
 * come back as `ok: false` with the reason. Loading it never touches CUDA.
 * ADAPTERKIT_CUDA_ADDON overrides the path (tests use it).
 */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  const override = typeof process !== 'undefined' ? process.env.ADAPTERKIT_CUDA_ADDON : undefined;
  const path = override || join(DEFAULT_BUILD_DIR, 'Release', 'adapterkit_cuda.node');
  cached = load(path);
  return cached;
}

function load(path: string): AddonLoad {
  if (typeof process === 'undefined' || !process.versions?.node) {
    return { ok: false, path, reason: 'not running in Node.js (the CUDA backend is a Node native addon)' };
  }
  if (!existsSync(path)) {
    const errorFile = join(dirname(dirname(path)), 'native-build-error.txt');
    const reason = existsSync(errorFile)
      ? `native addon was not built: ${readFileSync(errorFile, 'utf8').trim()}`
      : `native addon not found at ${path}; build it with \`pnpm --filter @adapterkit/backend-cuda build:native\` (needs CMake, a C++17 compiler and the CUDA headers; see DEVELOPERS.md)`;
    return { ok: false, path, reason };
  }
  try {
    const addon = createRequire(import.meta.url)(path) as CudaAddon;
    if (addon.version !== EXPECTED_VERSION) {
      return { ok: false, path, reason: `native addon at ${path} is version ${String(addon.version)}, expected ${EXPECTED_VERSION}; rebuild it` };
    }
    return { ok: true, path, addon };
  } catch (e) {
    return { ok: false, path, reason: `native addon at ${path} failed to load: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The build's record of where the toolkit was (build/cuda-config.json), if any. */
export function buildConfig(addonPath: string): { root?: string; libDirs?: string[]; cudaVersion?: number } | null {
  const file = join(dirname(dirname(addonPath)), 'cuda-config.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { root?: string; libDirs?: string[]; cudaVersion?: number };
  } catch {
    return null;
  }
}
