// Data-movement and generator kernels that need no SIMD level of their own:
// strided copy and where (by element size, so every dtype's bits move
// unchanged) and the counter-based random generator (bit-identical to
// core's random/hash.ts). Compiled for the baseline ISA.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common.h"
#include "data.h"

namespace kit {
namespace {
#include "util.inl"

constexpr i64 kGrain = 1 << 16;

template <class E>
void copy_t(const E* x, E* y, const Strided& s) {
  par_walk(s, kGrain, [&](const i64* o, const i64* st, i64 n) {
    E* yp = y + o[0];
    const E* xp = x + o[1];
    if (st[0] == 1 && st[1] == 1) {
      memcpy(yp, xp, static_cast<size_t>(n) * sizeof(E));
    } else if (st[0] == 1 && st[1] == 0) {
      const E v = xp[0];
      for (i64 i = 0; i < n; i++) yp[i] = v;
    } else {
      for (i64 i = 0; i < n; i++) yp[i * st[0]] = xp[i * st[1]];
    }
  });
}

template <class E>
void where_t(const uint8_t* c, const E* a, const E* b, E* y, const Strided& s) {
  par_walk(s, kGrain, [&](const i64* o, const i64* st, i64 n) {
    E* yp = y + o[0];
    const uint8_t* cp = c + o[1];
    const E* ap = a + o[2];
    const E* bp = b + o[3];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1 && st[3] == 1) {
      for (i64 i = 0; i < n; i++) yp[i] = cp[i] ? ap[i] : bp[i];
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0 && st[3] == 1) {
      const E av = ap[0];
      for (i64 i = 0; i < n; i++) yp[i] = cp[i] ? av : bp[i];
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 1 && st[3] == 0) {
      const E bv = bp[0];
      for (i64 i = 0; i < n; i++) yp[i] = cp[i] ? ap[i] : bv;
    } else {
      for (i64 i = 0; i < n; i++) yp[i * st[0]] = cp[i * st[1]] ? ap[i * st[2]] : bp[i * st[3]];
    }
  });
}

// ---- the generator of random/hash.ts

inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}
inline uint32_t hash2(uint32_t seed, uint32_t index) { return mix32(mix32(seed) ^ index); }
inline double uniform_at(uint32_t seed, uint32_t index) { return static_cast<double>(hash2(seed, index) >> 8) / 16777216.0; }
constexpr uint32_t kNormalStream = 0x5bd1e995u;
constexpr double kTwoPi = 6.283185307179586;

}  // namespace

void copy_kernel(const void* x, void* y, int elem_size, const Strided& s) {
  switch (elem_size) {
    case 1: copy_t(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), s); break;
    case 2: copy_t(static_cast<const uint16_t*>(x), static_cast<uint16_t*>(y), s); break;
    case 4: copy_t(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y), s); break;
    case 8: copy_t(static_cast<const uint64_t*>(x), static_cast<uint64_t*>(y), s); break;
    default: break;
  }
}

void where_kernel(const uint8_t* c, const void* a, const void* b, void* y, int elem_size, const Strided& s) {
  switch (elem_size) {
    case 1: where_t(c, static_cast<const uint8_t*>(a), static_cast<const uint8_t*>(b), static_cast<uint8_t*>(y), s); break;
    case 2: where_t(c, static_cast<const uint16_t*>(a), static_cast<const uint16_t*>(b), static_cast<uint16_t*>(y), s); break;
    case 4: where_t(c, static_cast<const uint32_t*>(a), static_cast<const uint32_t*>(b), static_cast<uint32_t*>(y), s); break;
    case 8: where_t(c, static_cast<const uint64_t*>(a), static_cast<const uint64_t*>(b), static_cast<uint64_t*>(y), s); break;
    default: break;
  }
}

void gather_kernel(const void* table, const int32_t* idx, void* y, int elem_size, i64 d, i64 n) {
  const size_t row = static_cast<size_t>(d) * static_cast<size_t>(elem_size);
  const char* t = static_cast<const char*>(table);
  char* out = static_cast<char*>(y);
  const i64 tasks = imin(num_threads(), n * d / kGrain);
  auto task = [&](i64 q, int) {
    const i64 per = (n + tasks - 1) / tasks;
    const i64 i0 = q * per, i1 = imin(n, i0 + per);
    for (i64 i = i0; i < i1; i++) memcpy(out + static_cast<size_t>(i) * row, t + static_cast<size_t>(idx[i]) * row, row);
  };
  if (tasks > 1) run_parallel(tasks, task);
  else {
    for (i64 i = 0; i < n; i++) memcpy(out + static_cast<size_t>(i) * row, t + static_cast<size_t>(idx[i]) * row, row);
  }
}

void scatter_add_kernel(const float* src, const int32_t* idx, float* y, i64 v, i64 d, i64 n) {
  // Zeroing is one memory-bound pass (a second thread does not speed it up).
  // Then threads own column ranges, and each column adds its rows in index
  // order: the same order (and f32 rounding) as the reference's loop.
  memset(y, 0, static_cast<size_t>(v * d) * sizeof(float));
  const i64 tasks = imin(imin(num_threads(), d / 16), n * d / (kGrain * 4));
  auto cols = [&](i64 j0, i64 j1) {
    for (i64 i = 0; i < n; i++) {
      float* yr = y + static_cast<i64>(idx[i]) * d;
      const float* sr = src + i * d;
      for (i64 j = j0; j < j1; j++) yr[j] += sr[j];
    }
  };
  if (tasks <= 1) {
    cols(0, d);
    return;
  }
  const i64 per = round_up((d + tasks - 1) / tasks, 16);
  auto task = [&](i64 q, int) {
    const i64 j0 = imin(d, q * per), j1 = imin(d, j0 + per);
    if (j0 < j1) cols(j0, j1);
  };
  run_parallel(tasks, task);
}

void random_kernel(float* y, i64 size, int dist, uint32_t seed, double counter, double p0, double p1) {
  // (counter + i) mod 2^32, as the TS reference: counter is a JS number (integer, maybe past 2^32).
  const uint32_t base = static_cast<uint32_t>(static_cast<uint64_t>(fmod(counter, 4294967296.0) + 4294967296.0));
  const i64 tasks = imin(num_threads(), size / kGrain);
  const i64 per = tasks > 1 ? round_up((size + tasks - 1) / tasks, 64) : size;
  auto task = [&](i64 t, int) {
    const i64 b = t * per, e = imin(size, b + per);
    for (i64 i = b; i < e; i++) {
      const uint32_t idx = base + static_cast<uint32_t>(i);
      double v;
      if (dist == 0) {
        v = p0 + (p1 - p0) * uniform_at(seed, idx);
      } else if (dist == 1) {
        const uint32_t s = seed ^ kNormalStream;
        const double u1 = uniform_at(s, 2u * idx), u2 = uniform_at(s, 2u * idx + 1u);
        v = p0 + p1 * (sqrt(-2.0 * log(1.0 - u1)) * cos(kTwoPi * u2));
      } else {
        v = uniform_at(seed, idx) < p0 ? 1.0 : 0.0;
      }
      y[i] = static_cast<float>(v);
    }
  };
  if (tasks > 1) run_parallel(tasks, task);
  else task(0, 0);
}

}  // namespace kit
