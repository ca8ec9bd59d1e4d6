// Kernels compiled for the 'avx512' level (flags: see CMakeLists.txt). Everything
// here is internal to this unit: no inline function or template instance built
// with this unit's instructions can be picked by the linker for another unit.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <immintrin.h>

#include "common.h"

#define KIT_ISA_NAME "avx512"

namespace kit {
namespace {
#include "simd_avx512.h"
#include "util.inl"
#include "math.inl"
#include "elementwise.inl"
#include "rows.inl"
#include "gemm.inl"
#include "table.inl"
}  // namespace

const KernelTable* table_avx512() { return &kTable; }

}  // namespace kit
