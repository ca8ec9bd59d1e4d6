#include "loader.h"

#include <dlfcn.h>

#include <mutex>

namespace kit {

DriverApi drv;
RuntimeApi rt;
CublasApi blas;
NvrtcApi nvrtc;

namespace {

struct Slot {
  bool tried = false;
  LibStatus status;
  void* handle = nullptr;
};

Slot slots[5];
std::mutex mutex;

Slot& slotOf(Lib lib) { return slots[static_cast<int>(lib)]; }

template <typename F>
void resolve(void* h, F& fn, const char* name, std::string& missing) {
  fn = reinterpret_cast<F>(dlsym(h, name));
  if (!fn) missing += (missing.empty() ? "" : ", ") + std::string(name);
}

std::string resolveTable(Lib lib, void* h) {
  std::string missing;
#define KIT_LOAD_DRV(fn) resolve(h, drv.fn, KIT_STR(fn), missing);
#define KIT_LOAD_RT(fn) resolve(h, rt.fn, KIT_STR(fn), missing);
#define KIT_LOAD_BLAS(fn) resolve(h, blas.fn, KIT_STR(fn), missing);
#define KIT_LOAD_NVRTC(fn) resolve(h, nvrtc.fn, KIT_STR(fn), missing);
  switch (lib) {
    case Lib::Driver: KIT_DRIVER_FUNCS(KIT_LOAD_DRV) break;
    case Lib::Runtime: KIT_RUNTIME_FUNCS(KIT_LOAD_RT) break;
    case Lib::Cublas:
      KIT_CUBLAS_FUNCS(KIT_LOAD_BLAS)
      resolve(h, blas.cublasGemmStridedBatchedEx, "cublasGemmStridedBatchedEx", missing);
      break;
    case Lib::Nvrtc: KIT_NVRTC_FUNCS(KIT_LOAD_NVRTC) break;
    case Lib::CublasLt: break;  // loaded only so cuBLAS finds it; no functions used directly
  }
  return missing;
}

}  // namespace

const LibStatus& loadLibrary(Lib lib, const std::vector<std::string>& candidates) {
  std::lock_guard<std::mutex> lock(mutex);
  Slot& s = slotOf(lib);
  if (s.status.ok) return s.status;
  s.tried = true;
  std::string errors;
  for (const std::string& path : candidates) {
    dlerror();
    // RTLD_GLOBAL for cuBLASLt so that cuBLAS, opened next, binds to this copy.
    void* h = dlopen(path.c_str(), RTLD_NOW | (lib == Lib::CublasLt ? RTLD_GLOBAL : RTLD_LOCAL));
    if (!h) {
      const char* e = dlerror();
      errors += (errors.empty() ? "" : "; ") + std::string(e ? e : path + ": dlopen failed");
      continue;
    }
    std::string missing = resolveTable(lib, h);
    if (!missing.empty()) {
      errors += (errors.empty() ? "" : "; ") + path + " lacks " + missing;
      dlclose(h);
      continue;
    }
    s.handle = h;
    s.status.ok = true;
    s.status.path = path;
    s.status.error.clear();
    return s.status;
  }
  s.status.ok = false;
  s.status.error = candidates.empty() ? "no candidate paths" : errors;
  return s.status;
}

const LibStatus& libraryStatus(Lib lib) { return slotOf(lib).status; }

std::string driverError(const char* what, CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (drv.cuGetErrorName) drv.cuGetErrorName(r, &name);
  if (drv.cuGetErrorString) drv.cuGetErrorString(r, &text);
  return std::string(what) + " failed: " + (name ? name : ("CUresult " + std::to_string(r))) + (text ? std::string(": ") + text : "");
}

std::string runtimeError(const char* what, cudaError_t e) {
  const char* name = rt.cudaGetErrorName ? rt.cudaGetErrorName(e) : nullptr;
  const char* text = rt.cudaGetErrorString ? rt.cudaGetErrorString(e) : nullptr;
  return std::string(what) + " failed: " + (name ? name : ("cudaError " + std::to_string(e))) + (text ? std::string(": ") + text : "");
}

std::string cublasError(const char* what, cublasStatus_t s) {
  const char* name = blas.cublasGetStatusName ? blas.cublasGetStatusName(s) : nullptr;
  const char* text = blas.cublasGetStatusString ? blas.cublasGetStatusString(s) : nullptr;
  return std::string(what) + " failed: " + (name ? name : ("cublasStatus " + std::to_string(s))) + (text ? std::string(": ") + text : "");
}

std::string nvrtcError(const char* what, nvrtcResult r) {
  const char* text = nvrtc.nvrtcGetErrorString ? nvrtc.nvrtcGetErrorString(r) : nullptr;
  return std::string(what) + " failed: " + (text ? text : ("nvrtcResult " + std::to_string(r)));
}

}  // namespace kit
