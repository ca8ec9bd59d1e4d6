// Run-time choice of the kernel table: the best ISA level the CPU and OS
// support (__builtin_cpu_supports checks both), capped by ADAPTERKIT_CPU_ISA
// or setIsa() for testing the lower levels on a capable machine.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "dispatch.h"

namespace kit {
namespace {

bool cpu_has(const char* isa) {
#if defined(__x86_64__) || defined(__i386__)
#if defined(KIT_HAVE_AVX2)
  if (std::strcmp(isa, "avx2") == 0) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
#endif
#if defined(KIT_HAVE_AVX512)
  if (std::strcmp(isa, "avx512") == 0) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
#endif
#endif
  return std::strcmp(isa, "scalar") == 0;
}

const KernelTable* table_of(const std::string& isa) {
#if defined(KIT_HAVE_AVX512)
  if (isa == "avx512") return table_avx512();
#endif
#if defined(KIT_HAVE_AVX2)
  if (isa == "avx2") return table_avx2();
#endif
  if (isa == "scalar") return table_scalar();
  return nullptr;
}

const KernelTable* current = nullptr;

}  // namespace

std::vector<std::string> available_isas() {
  std::vector<std::string> out;
  for (const char* isa : {"avx512", "avx2", "scalar"}) {
    if (table_of(isa) && cpu_has(isa)) out.push_back(isa);
  }
  return out;
}

std::string set_isa(const std::string& isa) {
  const std::vector<std::string> ok = available_isas();
  for (const std::string& a : ok) {
    if (a == isa) {
      current = table_of(isa);
      return "";
    }
  }
  std::string list;
  for (const std::string& a : ok) list += (list.empty() ? "" : ", ") + a;
  return "ISA level '" + isa + "' is not available on this CPU/build; available: " + list;
}

const KernelTable& kernels() {
  if (!current) {
    const std::vector<std::string> ok = available_isas();
    current = table_of(ok.front());  // "scalar" is always there
    if (const char* env = std::getenv("ADAPTERKIT_CPU_ISA")) {
      // A cap: the best available level not above the one asked for.
      bool seen = false;
      for (const std::string& a : ok) {
        if (a == env) seen = true;
        if (seen) {
          current = table_of(a);
          break;
        }
      }
    }
  }
  return *current;
}

}  // namespace kit
