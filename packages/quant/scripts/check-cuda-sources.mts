/**
 * Checks the CUDA C sources of the quant kernels without a GPU: compiles
 * them with the host C++ compiler (g++ ≥ 11, C++20) against a small CUDA
 * emulation (each block's threads run as std::threads meeting at a
 * std::barrier for __syncthreads; __shared__ arrays are per-block statics),
 * runs every kernel on random data and compares with the cpu-ref kernels.
 *
 *   cd packages/quant && npx tsx scripts/check-cuda-sources.mts
 *
 * This verifies the indexing, tiling, packing and dequantization logic of the
 * CUDA code; it does not verify NVRTC compilation or GPU behaviour (there is
 * no CUDA backend yet). Exits non-zero on a mismatch.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randn, setBackend, tidy } from '@adapterkit/core';
import {
  CUDA_QUANT4_SOURCE, CUDA_QUANT8_SOURCE, QuantizedWeight, dequantizeWeight, quantMatmul, quantMatmulInputGrad, quantizeMatrix, type QuantFormat,
} from '../src/index.js';

setBackend('cpu-ref');

const SHIM = String.raw`
#include <barrier>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>
struct dim3 { unsigned int x = 1, y = 1, z = 1; };
static thread_local dim3 threadIdx;
static dim3 blockIdx, blockDim, gridDim;
static std::barrier<>* g_bar = nullptr;
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static
static inline void __syncthreads() { g_bar->arrive_and_wait(); }
static inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
static inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
template <typename F> static void launch(dim3 grid, dim3 block, F f) {
  gridDim = grid; blockDim = block;
  const unsigned int n = block.x * block.y * block.z;
  for (unsigned int bz = 0; bz < grid.z; ++bz) for (unsigned int by = 0; by < grid.y; ++by) for (unsigned int bx = 0; bx < grid.x; ++bx) {
    blockIdx = {bx, by, bz};
    std::barrier<> bar(n);
    g_bar = &bar;
    std::vector<std::thread> ts;
    for (unsigned int t = 0; t < n; ++t) ts.emplace_back([&, t] { threadIdx = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)}; f(); });
    for (auto& t : ts) t.join();
  }
}
template <typename T> static std::vector<T> rd(const std::string& dir, const char* name) {
  std::ifstream f(dir + "/" + name, std::ios::binary | std::ios::ate);
  if (!f) { fprintf(stderr, "missing %s\n", name); exit(2); }
  const size_t bytes = f.tellg(); f.seekg(0);
  std::vector<T> v(bytes / sizeof(T)); f.read(reinterpret_cast<char*>(v.data()), bytes); return v;
}
template <typename T> static void wr(const std::string& dir, const char* name, const std::vector<T>& v) {
  std::ofstream f(dir + "/" + name, std::ios::binary); f.write(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
static unsigned int cdiv(unsigned int a, unsigned int b) { return (a + b - 1) / b; }
`;

const MAIN4 = String.raw`
int main(int argc, char** argv) {
  const std::string d = argv[1];
  const unsigned int M = atoi(argv[2]), N = atoi(argv[3]), K = atoi(argv[4]), bs = atoi(argv[5]), nbs = atoi(argv[6]);
  const float offset = strtof(argv[7], nullptr); const int nested = atoi(argv[8]);
  auto x = rd<float>(d, "x"), dy = rd<float>(d, "dy"), nabs = rd<float>(d, "nabs"), code = rd<float>(d, "code"), ncode = rd<float>(d, "ncode");
  auto w = rd<unsigned char>(d, "w"), absmax = rd<unsigned char>(d, "absmax");
  std::vector<float> y(M * N), dx(M * K), deq((size_t)N * K);
  launch({cdiv(N, 16), cdiv(M, 16), 1}, {16, 16, 1}, [&] { quant4_matmul(x.data(), w.data(), absmax.data(), nabs.data(), code.data(), ncode.data(), y.data(), M, N, K, bs, nbs, offset, nested); });
  launch({cdiv(K, 16), cdiv(M, 16), 1}, {16, 16, 1}, [&] { quant4_matmul_backward(dy.data(), w.data(), absmax.data(), nabs.data(), code.data(), ncode.data(), dx.data(), M, N, K, bs, nbs, offset, nested); });
  launch({cdiv(N * K, 256), 1, 1}, {256, 1, 1}, [&] { quant4_dequantize(w.data(), absmax.data(), nabs.data(), code.data(), ncode.data(), deq.data(), (unsigned long long)N * K, bs, nbs, offset, nested); });
  wr(d, "y", y); wr(d, "dx", dx); wr(d, "deq", deq);
}`;

const MAIN8 = String.raw`
int main(int argc, char** argv) {
  const std::string d = argv[1];
  const unsigned int M = atoi(argv[2]), N = atoi(argv[3]), K = atoi(argv[4]);
  auto x = rd<float>(d, "x"), dy = rd<float>(d, "dy"), scb = rd<float>(d, "scb");
  auto w = rd<signed char>(d, "w");
  std::vector<float> y(M * N), dx(M * K), deq((size_t)N * K);
  launch({cdiv(N, 16), cdiv(M, 16), 1}, {16, 16, 1}, [&] { quant8_matmul(x.data(), w.data(), scb.data(), y.data(), M, N, K); });
  launch({cdiv(K, 16), cdiv(M, 16), 1}, {16, 16, 1}, [&] { quant8_matmul_backward(dy.data(), w.data(), scb.data(), dx.data(), M, N, K); });
  launch({cdiv(N * K, 256), 1, 1}, {256, 1, 1}, [&] { quant8_dequantize(w.data(), scb.data(), deq.data(), (unsigned long long)N * K, K); });
  wr(d, "y", y); wr(d, "dx", dx); wr(d, "deq", deq);
}`;

function bytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function maxRel(a: Float32Array, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
}

const work = mkdtempSync(join(tmpdir(), 'adapterkit-cuda-check-'));
let failed = false;
try {
  const compile = (name: string, source: string, main: string): string => {
    const src = join(work, `${name}.cpp`);
    const exe = join(work, name);
    writeFileSync(src, `${SHIM}\n${source}\n${main}\n`);
    execFileSync('g++', ['-std=c++20', '-O1', '-ffp-contract=off', '-pthread', '-Wall', '-Wno-unused-function', '-o', exe, src], { stdio: 'inherit' });
    return exe;
  };
  const exe4 = compile('quant4', CUDA_QUANT4_SOURCE, MAIN4);
  const exe8 = compile('quant8', CUDA_QUANT8_SOURCE, MAIN8);
  const cases: [string, QuantFormat, number, number, number][] = [
    ['nf4 b64 dq', { bits: 4, quantType: 'nf4', blockSize: 64, doubleQuant: true }, 5, 37, 71],
    ['fp4 b128', { bits: 4, quantType: 'fp4', blockSize: 128, doubleQuant: false }, 18, 40, 96],
    ['nf4 b32 dq (2 nested blocks)', { bits: 4, quantType: 'nf4', blockSize: 32, doubleQuant: true }, 3, 130, 70],
    ['int8', { bits: 8 }, 17, 33, 50],
  ];
  for (const [label, fmt, m, n, k] of cases) {
    const dir = mkdtempSync(join(work, 'case-'));
    const [w, x, dy] = tidy(() => [randn([n, k], { std: 0.05, seed: n }), randn([m, k], { seed: m }), randn([m, n], { seed: m + 1 })].map((t) => t.dataSync() as Float32Array));
    const host = quantizeMatrix(w!, [n, k], fmt);
    const q = QuantizedWeight.upload(host);
    const ref = tidy(() => {
      const xt = randn([m, k], { seed: m });
      const dyt = randn([m, n], { seed: m + 1 });
      return [quantMatmul(xt, q), quantMatmulInputGrad(dyt, q), dequantizeWeight(q)].map((t) => t.dataSync() as Float32Array);
    });
    writeFileSync(join(dir, 'x'), bytes(x!));
    writeFileSync(join(dir, 'dy'), bytes(dy!));
    let args: string[];
    if (host.bits === 4) {
      writeFileSync(join(dir, 'w'), host.packed);
      writeFileSync(join(dir, 'code'), bytes(host.code));
      if (host.nested) {
        writeFileSync(join(dir, 'absmax'), host.nested.codes);
        writeFileSync(join(dir, 'nabs'), bytes(host.nested.absmax));
        writeFileSync(join(dir, 'ncode'), bytes(host.nested.code));
      } else {
        writeFileSync(join(dir, 'absmax'), bytes(host.absmax!));
        writeFileSync(join(dir, 'nabs'), bytes(new Float32Array(1)));
        writeFileSync(join(dir, 'ncode'), bytes(new Float32Array(256)));
      }
      args = [dir, String(m), String(n), String(k), String(host.blockSize), String(host.nested?.blockSize ?? 256), String(host.nested?.offset ?? 0), host.nested ? '1' : '0'];
      execFileSync(exe4, args, { stdio: 'inherit' });
    } else {
      writeFileSync(join(dir, 'w'), bytes(host.codes));
      writeFileSync(join(dir, 'scb'), bytes(host.scb));
      execFileSync(exe8, [dir, String(m), String(n), String(k)], { stdio: 'inherit' });
    }
    const out = (name: string) => {
      const b = readFileSync(join(dir, name)); // may be a view into Node's shared pool
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    };
    const dDeq = maxRel(out('deq'), ref[2]!);
    const dY = maxRel(out('y'), ref[0]!);
    const dDx = maxRel(out('dx'), ref[1]!);
    const ok = dDeq === 0 && dY <= 1e-5 && dDx <= 1e-5;
    failed ||= !ok;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${label.padEnd(30)} m=${m} n=${n} k=${k}: dequantize max rel Δ ${dDeq.toExponential(2)}, forward ${dY.toExponential(2)}, input grad ${dDx.toExponential(2)}`);
    q.dispose();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
