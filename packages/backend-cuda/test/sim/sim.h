// CUDA-on-CPU shim for testing the backend's CUDA C kernels without a GPU
// (test/sim-conformance.test.ts). A kernel source (prelude included) is
// compiled by the host C++ compiler after this header; `sim_launch` runs a
// grid block by block, the threads of a block as std::threads meeting at a
// std::barrier for __syncthreads (serially when the kernel has none).
// "Device" memory is host memory. Semantics, not speed, are the point: it
// checks index math, reductions, conversions and the parameter layout.
#pragma once
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <math.h>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static
#define CUDART_CB

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
inline thread_local std::barrier<>* sim_barrier = nullptr;

inline void __syncthreads() {
  if (sim_barrier) sim_barrier->arrive_and_wait();
}

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned i; std::memcpy(&i, &f, 4); return i; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
// Compiled with -ffp-contract=off: these round as written.
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }

using std::fmod;
using std::isfinite;
using std::trunc;

inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline int atomicAdd(int* p, int v) { return std::atomic_ref<int>(*p).fetch_add(v); }
inline unsigned atomicOr(unsigned* p, unsigned v) { return std::atomic_ref<unsigned>(*p).fetch_or(v); }
inline unsigned atomicExch(unsigned* p, unsigned v) { return std::atomic_ref<unsigned>(*p).exchange(v); }

template <typename T>
T sim_param(const char* buf, size_t& off) {
  off = (off + alignof(T) - 1) / alignof(T) * alignof(T);
  T v;
  std::memcpy(static_cast<void*>(&v), buf + off, sizeof(T));
  off += sizeof(T);
  return v;
}

/** Unpacks the CUDA parameter block into the kernel's arguments and runs the grid. */
template <typename... A>
void sim_launch(void (*f)(A...), const char* buf, const unsigned* g, const unsigned* b, bool threaded) {
  size_t off = 0;
  // Braced initialisation evaluates left to right: parameters are read in order.
  std::tuple<std::decay_t<A>...> args{sim_param<std::decay_t<A>>(buf, off)...};
  dim3 grid{g[0], g[1], g[2]}, block{b[0], b[1], b[2]};
  const unsigned threads = block.x * block.y * block.z;
  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        auto body = [&](unsigned t, std::barrier<>* bar) {
          blockIdx = {bx, by, bz};
          gridDim = grid;
          blockDim = block;
          threadIdx = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
          sim_barrier = bar;
          std::apply(f, args);
          sim_barrier = nullptr;
        };
        if (!threaded || threads == 1) {
          for (unsigned t = 0; t < threads; t++) body(t, nullptr);
        } else {
          std::barrier<> bar(threads);
          std::vector<std::thread> pool;
          pool.reserve(threads);
          for (unsigned t = 0; t < threads; t++) pool.emplace_back(body, t, &bar);
          for (auto& th : pool) th.join();
        }
      }
}
