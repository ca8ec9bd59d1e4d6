// Baseline-ISA data kernels (data.cpp).
#pragma once
#include <cstdint>

#include "common.h"

namespace kit {

/** y = x for views [y, x] of elements of elem_size bytes (1, 2, 4 or 8). */
void copy_kernel(const void* x, void* y, int elem_size, const Strided& s);
/** y = c ? a : b for views [y, c, a, b]; c is u8. */
void where_kernel(const uint8_t* c, const void* a, const void* b, void* y, int elem_size, const Strided& s);
/** y[i, :] = table[idx[i], :] for rows of d elements of elem_size bytes; indices already validated. */
void gather_kernel(const void* table, const int32_t* idx, void* y, int elem_size, i64 d, i64 n);
/** y = zeros(v, d); y[idx[i], :] += src[i, :] in index order (f32); indices already validated. */
void scatter_add_kernel(const float* src, const int32_t* idx, float* y, i64 v, i64 d, i64 n);
/**
 * Fills y[0..size) with the counter-based generator of core's random/hash.ts:
 * dist 0 uniform(low = p0, high = p1), 1 normal(mean = p0, std = p1), 2 bernoulli(p = p0).
 */
void random_kernel(float* y, i64 size, int dist, uint32_t seed, double counter, double p0, double p1);

}  // namespace kit
