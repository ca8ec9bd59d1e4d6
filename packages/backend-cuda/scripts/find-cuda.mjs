// Finds the CUDA headers and libraries the addon is built against (headers)
// and loads at run time (libraries). Three layouts are understood:
//   - a toolkit folder: include/, lib64/ or lib/, targets/x86_64-linux/{include,lib}
//     (/usr/local/cuda, CUDA_HOME, CUDA_PATH);
//   - a folder holding the `nvidia` Python wheels (site-packages, or
//     `pip install --target DIR`): nvidia/{cuda_runtime,cublas,cuda_nvrtc,cuda_nvcc,cuda_cccl}/{include,lib}
//     for CUDA 12 wheels, nvidia/cu13/{include,lib} for CUDA 13 wheels;
//   - that `nvidia` folder itself.
// ADAPTERKIT_CUDA_HOME, when set, is the only place searched (an explicit
// choice must not silently fall back to another toolkit).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Headers the addon includes. */
// crt/host_defines.h comes with nvcc (the nvidia-cuda-nvcc-cu12 wheel); cuda_runtime_api.h includes it.
// nv/target comes with CCCL (nvidia-cuda-cccl-cu12); cuBLAS's headers include cuda_fp16.h, which includes it.
export const REQUIRED_HEADERS = ['cuda.h', 'cuda_runtime_api.h', 'crt/host_defines.h', 'nv/target', 'cublas_v2.h', 'nvrtc.h'];
const WHEEL_COMPONENTS = ['cuda_runtime', 'cublas', 'cuda_nvrtc', 'cuda_nvcc', 'cuda_cccl', 'cu13', 'cu12'];

/** The include and library folders a root may hold, in search order (existing ones only). */
export function layoutDirs(root) {
  const include = [];
  const lib = [];
  const add = (list, dir) => {
    if (existsSync(dir) && !list.includes(dir)) list.push(dir);
  };
  add(include, join(root, 'include'));
  add(include, join(root, 'targets', 'x86_64-linux', 'include'));
  for (const l of ['lib64', 'lib', join('targets', 'x86_64-linux', 'lib')]) add(lib, join(root, l));
  for (const nv of [join(root, 'nvidia'), root]) {
    for (const c of WHEEL_COMPONENTS) {
      add(include, join(nv, c, 'include'));
      add(lib, join(nv, c, 'lib'));
    }
  }
  return { include, lib };
}

/** Where each required header is, or null for the missing ones. */
function locateHeaders(includeDirs) {
  const found = {};
  for (const h of REQUIRED_HEADERS) found[h] = includeDirs.find((d) => existsSync(join(d, h))) ?? null;
  return found;
}

/** CUDA_VERSION from cuda.h (e.g. 12090), or null. */
function cudaVersion(cudaH) {
  try {
    const m = /#define\s+CUDA_VERSION\s+(\d+)/.exec(readFileSync(cudaH, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Folders on Python's path that hold the `nvidia` namespace package (from `python3`), or []. */
function pythonNvidiaRoots(env) {
  const python = env.ADAPTERKIT_CUDA_PYTHON || 'python3';
  const code = 'import importlib.util as u, json, os; s = u.find_spec("nvidia"); print(json.dumps([os.path.dirname(p) for p in (s.submodule_search_locations if s else [])]))';
  const res = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 15000, env });
  if (res.status !== 0 || !res.stdout) return [];
  try {
    return JSON.parse(res.stdout.trim().split('\n').pop());
  } catch {
    return [];
  }
}

/** Checks one candidate root; returns the toolkit description or the reason it does not qualify. */
export function inspectRoot(root, source) {
  if (!existsSync(root)) return { ok: false, reason: `${source}=${root}: the folder does not exist` };
  const dirs = layoutDirs(root);
  const headers = locateHeaders(dirs.include);
  const missing = REQUIRED_HEADERS.filter((h) => !headers[h]);
  if (missing.length) return { ok: false, reason: `${source}=${root}: ${missing.join(', ')} not found (looked in ${dirs.include.join(', ') || 'no include folder'})` };
  // All of them: headers include each other across wheel folders (crt/ lives in cuda_nvcc for the wheels).
  const includeDirs = dirs.include;
  return { ok: true, root, source, includeDirs, libDirs: dirs.lib, version: cudaVersion(join(headers['cuda.h'], 'cuda.h')) };
}

/**
 * Finds a toolkit: ADAPTERKIT_CUDA_HOME alone when set; otherwise CUDA_HOME,
 * CUDA_PATH, /usr/local/cuda, then the `nvidia` wheels on `python3`'s path.
 * Returns { ok: true, root, source, includeDirs, libDirs, version } or
 * { ok: false, reason } naming every place that was looked at.
 */
export function findCudaToolkit(env = process.env) {
  if (env.ADAPTERKIT_CUDA_HOME) return inspectRoot(env.ADAPTERKIT_CUDA_HOME, 'ADAPTERKIT_CUDA_HOME');
  const tried = [];
  const candidates = [];
  if (env.CUDA_HOME) candidates.push([env.CUDA_HOME, 'CUDA_HOME']);
  if (env.CUDA_PATH) candidates.push([env.CUDA_PATH, 'CUDA_PATH']);
  candidates.push(['/usr/local/cuda', 'default']);
  for (const [root, source] of candidates) {
    const r = inspectRoot(root, source);
    if (r.ok) return r;
    tried.push(r.reason);
  }
  const roots = pythonNvidiaRoots(env);
  for (const root of roots) {
    const r = inspectRoot(root, 'python3 site-packages');
    if (r.ok) return r;
    tried.push(r.reason);
  }
  if (!roots.length) tried.push('python3: no `nvidia` wheels on its path');
  return {
    ok: false,
    reason: `no CUDA toolkit headers found (set ADAPTERKIT_CUDA_HOME to a CUDA toolkit or a folder of nvidia-*-cu12 wheels; see DEVELOPERS.md). Looked at: ${tried.join('; ')}`,
  };
}
