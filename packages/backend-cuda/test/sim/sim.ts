/**
 * A CudaBackend whose "device" is the CPU: the backend's own TypeScript
 * (allocator, launches, parameter blocks, cuBLAS mapping, status words) and
 * its own CUDA C kernel sources, compiled by the host C++ compiler against
 * sim.h instead of NVRTC, run by a small host addon instead of the driver.
 * It cannot say anything about speed or about NVRTC/driver behaviour, but it
 * runs the conformance suite through every kernel's real code without a GPU.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeContext, NativeDeviceInfo } from '../../src/addon.js';
import { CudaBackend } from '../../src/backend.js';
import type { CompiledImage, NvrtcCompiler } from '../../src/compiler.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const BUILD = join(HERE, 'build');
const PCH_DIR = join(BUILD, 'pch');
const KERNELS = join(BUILD, 'kernels');
const FLAGS = ['-std=c++20', '-O1', '-fPIC', '-ffp-contract=off', '-w'];

interface SimAddon {
  alloc(bytes: number): number;
  free(ptr: number): void;
  copyIn(ptr: number, data: ArrayBufferView): void;
  copyOut(ptr: number, bytes: number): ArrayBuffer;
  memcpy(dst: number, src: number, bytes: number): void;
  memset(ptr: number, pattern: number, count: number, width: number): void;
  dlopen(path: string): number;
  dlsym(lib: number, entry: string, threaded: boolean): number;
  call(fn: number, params: Uint8Array, gx: number, gy: number, gz: number, bx: number, by: number, bz: number): void;
  gemm(...args: number[]): void;
}

function sh(cmd: string, args: string[], cwd = HERE): string | null {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  return r.status === 0 ? null : `${cmd} ${args.join(' ')} failed (${r.error?.message ?? `status ${r.status}`}):\n${`${r.stdout}${r.stderr}`.slice(-3000)}`;
}

/** Builds the host addon and the precompiled shim header; returns the addon or why it could not. */
export function buildSim(): { addon?: SimAddon; reason?: string } {
  const node = join(BUILD, 'Release', 'adapterkit_cuda_sim.node');
  if (!existsSync(node)) {
    const cli = join(createRequire(import.meta.url).resolve('cmake-js/package.json'), '..', 'bin', 'cmake-js');
    const err = sh(process.execPath, [cli, 'compile', '--directory', HERE, '--out', BUILD]);
    if (err) return { reason: `the simulator addon did not build: ${err}` };
  }
  mkdirSync(PCH_DIR, { recursive: true });
  mkdirSync(KERNELS, { recursive: true });
  if (!existsSync(join(PCH_DIR, 'sim.h.gch'))) {
    copyFileSync(join(HERE, 'sim.h'), join(PCH_DIR, 'sim.h'));
    const err = sh('g++', [...FLAGS, '-x', 'c++-header', join(PCH_DIR, 'sim.h'), '-o', join(PCH_DIR, 'sim.h.gch')]);
    if (err) return { reason: `the simulator header did not precompile: ${err}` };
  }
  return { addon: createRequire(import.meta.url)(node) as SimAddon };
}

/** Compiles kernel sources with g++ into shared objects (cached by source hash under test/sim/build/kernels). */
export class SimCompiler {
  readonly target = { kind: 'cubin' as const, arch: 0, option: 'host-c++' };
  compile(name: string, source: string): CompiledImage {
    const entries = [...source.matchAll(/extern "C" __global__ void (\w+)\s*\(/g)].map((m) => m[1]!);
    const threaded = source.includes('__syncthreads');
    const hash = createHash('sha256').update(source).digest('hex').slice(0, 32);
    const so = join(KERNELS, `${hash}.so`);
    if (!existsSync(so)) {
      const cpp = join(KERNELS, `${hash}.cpp`);
      const wrappers = entries.map((e) => `extern "C" void ${e}__launch(const char* p, const unsigned* g, const unsigned* b, bool t) { sim_launch(${e}, p, g, b, t); }`);
      writeFileSync(cpp, `${source}\n${wrappers.join('\n')}\n`);
      const err = sh('g++', [...FLAGS, '-shared', '-include', join(PCH_DIR, 'sim.h'), '-o', so, cpp, '-lpthread']);
      if (err) throw new Error(`sim: kernel '${name}' did not compile:\n${err}`);
    }
    // NUL-terminated, like PTX: the fake driver (test/fakecuda) reads it as a C string.
    const image = new TextEncoder().encode(`${JSON.stringify({ so, threaded })}\0`);
    return { image, target: this.target as never, from: 'nvrtc', compileMs: 0 };
  }
}

/** NativeContext on host memory: every call runs synchronously, in order. */
class SimContext implements NativeContext {
  private readonly threaded = new Map<number, boolean>();
  private readonly live = new Set<number>();
  constructor(private readonly sim: SimAddon) {}
  info(): NativeDeviceInfo {
    return { device: 0, name: 'CPU simulation', computeCapability: 0, multiprocessors: 1, totalMemory: 0, driverVersion: 0, runtimeVersion: 0, cublasVersion: 0, pollReads: false };
  }
  malloc(bytes: number): number {
    const p = this.sim.alloc(bytes);
    this.live.add(p);
    return p;
  }
  free(ptr: number): void {
    this.live.delete(ptr);
    this.sim.free(ptr);
  }
  memGetInfo(): { free: number; total: number } {
    return { free: 0, total: 0 };
  }
  write(dst: number, data: ArrayBufferView): void {
    this.sim.copyIn(dst, data);
  }
  async read(src: number, bytes: number, statusPtr: number): Promise<ArrayBuffer> {
    return this.readBlocking(src, bytes, statusPtr);
  }
  readBlocking(src: number, bytes: number, statusPtr: number): ArrayBuffer {
    const out = new Uint8Array(bytes + (statusPtr ? 16 : 0));
    out.set(new Uint8Array(this.sim.copyOut(src, bytes)));
    if (statusPtr) {
      out.set(new Uint8Array(this.sim.copyOut(statusPtr, 16)), bytes);
      this.sim.memset(statusPtr, 0, 4, 4);
    }
    return out.buffer;
  }
  poll(): number {
    return 0;
  }
  streamError(): string | null {
    return null;
  }
  syncBlocking(): void {}
  memcpyDtoD(dst: number, src: number, bytes: number): void {
    this.sim.memcpy(dst, src, bytes);
  }
  memset(dst: number, pattern: number, count: number, width: 1 | 2 | 4): void {
    this.sim.memset(dst, pattern, count, width);
  }
  loadModule(image: Uint8Array): number {
    const { so, threaded } = JSON.parse(new TextDecoder().decode(image).replace(/\0+$/, '')) as { so: string; threaded: boolean };
    const lib = this.sim.dlopen(so);
    this.threaded.set(lib, threaded);
    return lib;
  }
  getFunction(module: number, entry: string): number {
    return this.sim.dlsym(module, entry, this.threaded.get(module)!);
  }
  launch(fn: number, gx: number, gy: number, gz: number, bx: number, by: number, bz: number, _shared: number, params: Uint8Array): void {
    this.sim.call(fn, params, gx, gy, gz, bx, by, bz);
  }
  gemm(...args: number[]): void {
    this.sim.gemm(...args);
  }
  setMathMode(): void {}
  destroy(): void {}
}

/** A CudaBackend on the simulator, or the reason there is none. */
export function createSimBackend(): { backend?: CudaBackend; reason?: string } {
  const built = buildSim();
  if (!built.addon) return { reason: built.reason };
  return { backend: new CudaBackend(new SimContext(built.addon), new SimCompiler() as unknown as NvrtcCompiler) };
}
