import { buildConfig, loadAddon, type CudaAddon, type DriverDevice } from './addon.js';
import { CUDA_MAJORS, driverCandidates, libraryCandidates, librarySearchDirs, majorOf } from './libraries.js';

/** Whether the CUDA backend can run here, and if not, exactly why. */
export interface CudaStatus {
  available: boolean;
  /** Set when unavailable: the first thing that is missing (addon, driver, GPU, runtime, cuBLAS, NVRTC). */
  reason?: string;
  /** Devices the driver reports (when the driver initialised). */
  devices?: DriverDevice[];
  /** cuDriverGetVersion, e.g. 13000. */
  driverVersion?: number;
  /** cudaRuntimeGetVersion of the loaded runtime, e.g. 12090. */
  runtimeVersion?: number;
  /** Paths of the libraries that loaded. */
  libraries: Partial<Record<'driver' | 'runtime' | 'cublasLt' | 'cublas' | 'nvrtc', string>>;
  /** Folders searched for the toolkit libraries. */
  searched: string[];
  /** The addon, when it loaded (internal use). */
  addon?: CudaAddon;
}

/** Whether NVRTC (the run-time compiler) is usable; it needs no driver or GPU. */
export interface NvrtcStatus {
  available: boolean;
  reason?: string;
  /** [major, minor] */
  version?: [number, number];
  /** Architectures it can emit, as major·10 + minor. */
  archs?: number[];
  path?: string;
  addon?: CudaAddon;
}

let cachedCuda: CudaStatus | undefined;
let cachedNvrtc: NvrtcStatus | undefined;

function env(): Record<string, string | undefined> {
  return typeof process !== 'undefined' ? process.env : {};
}

function searchDirs(addonPath: string): string[] {
  return librarySearchDirs({ env: env(), buildLibDirs: buildConfig(addonPath)?.libDirs });
}

function notFound(lib: string, majors: readonly number[], searched: string[], error: string | undefined, hint: string): string {
  const where = searched.length ? searched.join(', ') : 'no toolkit folder';
  return `${lib}.so.{${majors.join(',')}} not found (searched ${where}, then the system loader): ${hint}${error ? ` [${error}]` : ''}`;
}

/**
 * Probes CUDA once per process, in order: the native addon, the driver
 * (libcuda.so.1), cuInit and the device count, the runtime, cuBLAS(Lt) and
 * NVRTC of a CUDA major the driver supports. Never throws and never crashes
 * the process on a machine without a driver or GPU: it reports
 * `available: false` with the first missing piece, e.g.
 * "libcuda.so.1 not found: no NVIDIA driver". ADAPTERKIT_CUDA_DISABLE=1
 * reports it unavailable on purpose.
 */
export function cudaStatus(): CudaStatus {
  if (cachedCuda) return cachedCuda;
  cachedCuda = probe();
  return cachedCuda;
}

function probe(): CudaStatus {
  const libraries: CudaStatus['libraries'] = {};
  const a = loadAddon();
  if (!a.ok || !a.addon) return { available: false, reason: a.reason, libraries, searched: [] };
  const addon = a.addon;
  const searched = searchDirs(a.path);
  const base = { libraries, searched, addon };
  if (env().ADAPTERKIT_CUDA_DISABLE === '1') return { ...base, available: false, reason: 'disabled by ADAPTERKIT_CUDA_DISABLE=1' };

  const driver = addon.loadLibraries({ driver: driverCandidates(env()) }).driver!;
  if (!driver.ok) return { ...base, available: false, reason: `libcuda.so.1 not found: no NVIDIA driver (${driver.error})` };
  libraries.driver = driver.path;

  const init = addon.driverInit();
  const driverVersion = init.driverVersion;
  if (!init.ok) return { ...base, driverVersion, available: false, reason: `NVIDIA driver present but unusable: ${init.error}` };
  const devices = init.devices ?? [];
  if (!devices.length) return { ...base, driverVersion, devices, available: false, reason: 'the NVIDIA driver reports no CUDA device (cuDeviceGetCount = 0)' };

  // A runtime newer than the driver cannot run: only majors the driver supports.
  const driverMajor = Math.floor((driverVersion ?? 0) / 1000);
  const majors = CUDA_MAJORS.filter((m) => m <= driverMajor);
  const withDevice = { ...base, driverVersion, devices };
  if (!majors.length) return { ...withDevice, available: false, reason: `the NVIDIA driver supports CUDA ${formatVersion(driverVersion)}; this backend needs CUDA 12 or 13` };

  const rt = addon.loadLibraries({ runtime: libraryCandidates('runtime', searched, majors) }).runtime!;
  if (!rt.ok) return { ...withDevice, available: false, reason: notFound('libcudart', majors, searched, rt.error, 'install nvidia-cuda-runtime-cu12 or set ADAPTERKIT_CUDA_HOME') };
  libraries.runtime = rt.path;
  const major = majorOf(rt.path) ?? majors[0]!;
  const runtimeVersion = addon.runtimeVersion() ?? undefined;

  // cuBLAS and NVRTC of the runtime's major; cuBLASLt first so cuBLAS binds to it.
  const blas = addon.loadLibraries({ cublasLt: libraryCandidates('cublasLt', searched, [major]), cublas: libraryCandidates('cublas', searched, [major]) });
  if (blas.cublasLt?.ok) libraries.cublasLt = blas.cublasLt.path;
  if (!blas.cublas?.ok) {
    return { ...withDevice, runtimeVersion, available: false, reason: notFound('libcublas', [major], searched, blas.cublas?.error, 'install nvidia-cublas-cu12 or set ADAPTERKIT_CUDA_HOME') };
  }
  libraries.cublas = blas.cublas.path;
  const nv = addon.loadLibraries({ nvrtc: libraryCandidates('nvrtc', searched, [major]) }).nvrtc!;
  if (!nv.ok) return { ...withDevice, runtimeVersion, available: false, reason: notFound('libnvrtc', [major], searched, nv.error, 'install nvidia-cuda-nvrtc-cu12 or set ADAPTERKIT_CUDA_HOME') };
  libraries.nvrtc = nv.path;
  return { ...withDevice, runtimeVersion, available: true };
}

/**
 * Loads NVRTC alone (any supported major; no driver or GPU needed), e.g. to
 * compile kernel sources on a build machine. Never throws.
 */
export function nvrtcStatus(): NvrtcStatus {
  if (cachedNvrtc) return cachedNvrtc;
  const a = loadAddon();
  if (!a.ok || !a.addon) return (cachedNvrtc = { available: false, reason: a.reason });
  const searched = searchDirs(a.path);
  const nv = a.addon.loadLibraries({ nvrtc: libraryCandidates('nvrtc', searched) }).nvrtc!;
  if (!nv.ok) return (cachedNvrtc = { available: false, reason: notFound('libnvrtc', CUDA_MAJORS, searched, nv.error, 'install nvidia-cuda-nvrtc-cu12 or set ADAPTERKIT_CUDA_HOME') });
  const info = a.addon.nvrtcInfo();
  return (cachedNvrtc = { available: true, version: info.version, archs: info.archs, path: nv.path, addon: a.addon });
}

function formatVersion(v: number | undefined): string {
  return v ? `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}` : 'unknown';
}
