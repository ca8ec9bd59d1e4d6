// Kernels compiled for the 'scalar' level (flags: see CMakeLists.txt). Everything
// here is internal to this unit: no inline function or template instance built
// with this unit's instructions can be picked by the linker for another unit.
#include <math.h>
#include <stdint.h>
#include <string.h>


#include "common.h"

#define KIT_ISA_NAME "scalar"

namespace kit {
namespace {
#include "simd_scalar.h"
#include "util.inl"
#include "math.inl"
#include "elementwise.inl"
#include "rows.inl"
#include "gemm.inl"
#include "table.inl"
}  // namespace

const KernelTable* table_scalar() { return &kTable; }

}  // namespace kit
