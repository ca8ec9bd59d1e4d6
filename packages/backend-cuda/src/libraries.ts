import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Where the CUDA libraries are looked for at run time, in order:
 *  1. ADAPTERKIT_CUDA_LIB_DIRS (a PATH-style list of folders);
 *  2. ADAPTERKIT_CUDA_HOME (a toolkit, or a folder of `nvidia` wheels);
 *  3. the folders recorded by the build (build/cuda-config.json);
 *  4. CUDA_HOME, CUDA_PATH, /usr/local/cuda;
 *  5. the loader's own search (LD_LIBRARY_PATH, ldconfig) by soname.
 * Same layouts as scripts/find-cuda.mjs.
 */

/** Library folders a toolkit or wheel root holds (existing ones). */
export function libraryDirsOf(root: string): string[] {
  const out: string[] = [];
  const add = (d: string): void => {
    if (existsSync(d) && !out.includes(d)) out.push(d);
  };
  for (const l of ['lib64', 'lib', join('targets', 'x86_64-linux', 'lib')]) add(join(root, l));
  for (const nv of [join(root, 'nvidia'), root]) {
    for (const c of ['cu13', 'cu12', 'cuda_runtime', 'cublas', 'cuda_nvrtc']) add(join(nv, c, 'lib'));
  }
  return out;
}

export interface SearchInputs {
  env: Record<string, string | undefined>;
  /** Library folders the build recorded. */
  buildLibDirs?: string[];
}

/** The ordered, de-duplicated folders to search. */
export function librarySearchDirs({ env, buildLibDirs = [] }: SearchInputs): string[] {
  const dirs: string[] = [];
  const add = (d: string): void => {
    if (d && !dirs.includes(d)) dirs.push(d);
  };
  for (const d of (env.ADAPTERKIT_CUDA_LIB_DIRS ?? '').split(delimiter)) if (d) add(d);
  if (env.ADAPTERKIT_CUDA_HOME) libraryDirsOf(env.ADAPTERKIT_CUDA_HOME).forEach(add);
  buildLibDirs.forEach(add);
  for (const root of [env.CUDA_HOME, env.CUDA_PATH, '/usr/local/cuda']) if (root) libraryDirsOf(root).forEach(add);
  return dirs;
}

/** CUDA major versions tried, newest first. */
export const CUDA_MAJORS = [13, 12] as const;

const BASENAMES = { runtime: 'libcudart', cublasLt: 'libcublasLt', cublas: 'libcublas', nvrtc: 'libnvrtc' } as const;
export type ToolkitLibrary = keyof typeof BASENAMES;

/**
 * Candidate paths of one library: every folder × every allowed major (folder
 * order first, so an explicit folder wins), then the bare sonames for the
 * system loader.
 */
export function libraryCandidates(lib: ToolkitLibrary, dirs: readonly string[], majors: readonly number[] = CUDA_MAJORS): string[] {
  const base = BASENAMES[lib];
  const out: string[] = [];
  for (const d of dirs) for (const m of majors) out.push(join(d, `${base}.so.${m}`));
  for (const m of majors) out.push(`${base}.so.${m}`);
  return out;
}

/** The driver library: ADAPTERKIT_CUDA_DRIVER_LIB, else libcuda.so.1 from the loader's search. */
export function driverCandidates(env: Record<string, string | undefined>): string[] {
  return env.ADAPTERKIT_CUDA_DRIVER_LIB ? [env.ADAPTERKIT_CUDA_DRIVER_LIB] : ['libcuda.so.1'];
}

/** Major version in a loaded library's path (…/libcudart.so.12 → 12), or null. */
export function majorOf(path: string | undefined): number | null {
  const m = /\.so\.(\d+)/.exec(path ?? '');
  return m ? Number(m[1]) : null;
}
