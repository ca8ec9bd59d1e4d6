import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CudaAddon, NvrtcCompileResult } from './addon.js';

/** What NVRTC emits for a device: a cubin for its exact arch, or PTX the driver compiles on load. */
export interface CompileTarget {
  kind: 'cubin' | 'ptx';
  /** major·10 + minor of the code emitted (sm_90 / compute_90 → 90). */
  arch: number;
  /** The NVRTC option naming it. */
  option: string;
}

/** A compiled source: the image cuModuleLoadData takes. */
export interface CompiledImage {
  image: Uint8Array;
  target: CompileTarget;
  /** Where it came from this time. */
  from: 'memory' | 'disk' | 'nvrtc';
  /** Milliseconds NVRTC took (0 when cached). */
  compileMs: number;
}

/** Thrown with NVRTC's log when a kernel source does not compile. */
export class CudaCompileError extends Error {
  override name = 'CudaCompileError';
  constructor(readonly kernel: string, readonly log: string, readonly source: string) {
    super(`cuda: NVRTC could not compile '${kernel}':\n${log.trim()}`);
  }
}

/**
 * The target for a device of compute capability `cc`: a cubin when NVRTC
 * knows the arch, else PTX for the newest arch it knows below it (the driver
 * JIT-compiles PTX for newer GPUs).
 */
export function chooseTarget(cc: number, supported: readonly number[]): CompileTarget {
  if (supported.includes(cc)) return { kind: 'cubin', arch: cc, option: `--gpu-architecture=sm_${cc}` };
  const below = supported.filter((a) => a <= cc);
  if (!below.length) throw new Error(`cuda: NVRTC supports ${supported.map((a) => `sm_${a}`).join(', ')}; none runs on a device of compute capability ${cc / 10}`);
  const arch = Math.max(...below);
  return { kind: 'ptx', arch, option: `--gpu-architecture=compute_${arch}` };
}

/** The default disk cache: ADAPTERKIT_CUDA_CACHE_DIR, else $XDG_CACHE_HOME/adapterkit/cuda, else ~/.cache/adapterkit/cuda. */
export function defaultCacheDir(): string {
  const env = process.env;
  if (env.ADAPTERKIT_CUDA_CACHE_DIR) return env.ADAPTERKIT_CUDA_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'adapterkit', 'cuda');
}

export interface CompilerOptions {
  /** Disk cache folder; null disables the disk cache (default: defaultCacheDir()). */
  cacheDir?: string | null;
  /** Extra NVRTC options appended to every compile. */
  extraOptions?: string[];
}

/**
 * Compiles CUDA C with NVRTC for one target, caching images in memory and on
 * disk under a hash of (NVRTC version, options, source), so each kernel
 * variant compiles once per machine. Compilation is synchronous (a kernel
 * launch needs its function now); compileAsync runs NVRTC on a worker thread
 * for warming the cache in parallel.
 */
export class NvrtcCompiler {
  readonly options: string[];
  private readonly memory = new Map<string, Uint8Array>();
  private readonly cacheDir: string | null;
  private diskOk = true;

  constructor(
    private readonly addon: CudaAddon,
    readonly target: CompileTarget,
    readonly nvrtcVersion: readonly [number, number],
    opts: CompilerOptions = {},
  ) {
    // -default-device: plain functions in sources are device functions.
    this.options = [target.option, '-std=c++17', '-default-device', ...(opts.extraOptions ?? [])];
    this.cacheDir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
  }

  /** The cache key of a source (also its file name on disk). */
  key(source: string): string {
    return createHash('sha256').update(JSON.stringify([this.nvrtcVersion, this.options, source])).digest('hex').slice(0, 40);
  }

  compile(name: string, source: string): CompiledImage {
    const key = this.key(source);
    const hit = this.lookup(key);
    if (hit) return hit;
    const t0 = performance.now();
    const res = this.addon.nvrtcCompile(source, `${name}.cu`, this.options, this.target.kind === 'cubin');
    return this.finish(name, source, key, res, performance.now() - t0);
  }

  async compileAsync(name: string, source: string): Promise<CompiledImage> {
    const key = this.key(source);
    const hit = this.lookup(key);
    if (hit) return hit;
    const t0 = performance.now();
    const res = await this.addon.nvrtcCompileAsync(source, `${name}.cu`, this.options, this.target.kind === 'cubin');
    return this.finish(name, source, key, res, performance.now() - t0);
  }

  private lookup(key: string): CompiledImage | null {
    const mem = this.memory.get(key);
    if (mem) return { image: mem, target: this.target, from: 'memory', compileMs: 0 };
    const file = this.file(key);
    if (file && existsSync(file)) {
      try {
        const image = new Uint8Array(readFileSync(file));
        this.memory.set(key, image);
        return { image, target: this.target, from: 'disk', compileMs: 0 };
      } catch {
        // An unreadable cache entry is recompiled (and rewritten) below.
      }
    }
    return null;
  }

  private finish(name: string, source: string, key: string, res: NvrtcCompileResult, ms: number): CompiledImage {
    if (res.error) throw new Error(`cuda: NVRTC failed on '${name}': ${res.error}`);
    if (!res.ok || !res.image) throw new CudaCompileError(name, res.log, source);
    // PTX is text: cuModuleLoadData needs it NUL-terminated.
    const image = this.target.kind === 'ptx' ? withNul(res.image) : new Uint8Array(res.image);
    this.memory.set(key, image);
    this.store(key, image);
    return { image, target: this.target, from: 'nvrtc', compileMs: ms };
  }

  private file(key: string): string | null {
    return this.cacheDir && this.diskOk ? join(this.cacheDir, `${key}.${this.target.kind}`) : null;
  }

  /** Writes atomically (temp file + rename) so concurrent processes never read half a file; a read-only cache is skipped. */
  private store(key: string, image: Uint8Array): void {
    const file = this.file(key);
    if (!file) return;
    try {
      mkdirSync(this.cacheDir!, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, image);
      renameSync(tmp, file);
    } catch {
      this.diskOk = false;
    }
  }
}

function withNul(b: Uint8Array): Uint8Array {
  if (b[b.length - 1] === 0) return new Uint8Array(b);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}
