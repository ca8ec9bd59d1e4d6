// @adapterkit/backend-cuda native addon. Loading it does nothing but define
// functions: the CUDA libraries are opened only by loadLibraries(), so
// requiring the addon on a machine without a driver or GPU is always safe.
#include <napi.h>

#include "context.h"
#include "loader.h"

namespace kit {

Napi::Value NvrtcCompile(const Napi::CallbackInfo& info);
Napi::Value NvrtcCompileAsync(const Napi::CallbackInfo& info);
Napi::Value NvrtcInfo(const Napi::CallbackInfo& info);

namespace {

Napi::Object statusToJs(Napi::Env env, const LibStatus& s) {
  auto o = Napi::Object::New(env);
  o.Set("ok", s.ok);
  if (s.ok) o.Set("path", s.path);
  else o.Set("error", s.error);
  return o;
}

std::vector<std::string> stringList(Napi::Env env, const Napi::Object& spec, const char* key) {
  std::vector<std::string> out;
  Napi::Value v = spec.Get(key);
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string("cuda: loadLibraries: '") + key + "' must be an array of paths");
  auto arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(arr.Get(i).ToString().Utf8Value());
  return out;
}

/**
 * loadLibraries({ driver?, runtime?, cublasLt?, cublas?, nvrtc? }) → the same
 * keys with { ok, path } or { ok: false, error }. Each value lists candidate
 * paths (or bare sonames) tried in order; a library already loaded stays.
 */
Napi::Value LoadLibraries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "cuda: loadLibraries(spec: object)");
  auto spec = info[0].As<Napi::Object>();
  auto out = Napi::Object::New(env);
  const std::pair<const char*, Lib> order[] = {
      {"driver", Lib::Driver}, {"runtime", Lib::Runtime}, {"cublasLt", Lib::CublasLt}, {"cublas", Lib::Cublas}, {"nvrtc", Lib::Nvrtc},
  };
  for (const auto& [key, lib] : order) {
    if (!spec.Has(key)) continue;
    out.Set(key, statusToJs(env, loadLibrary(lib, stringList(env, spec, key))));
  }
  return out;
}

/**
 * driverInit() → { ok, error?, driverVersion, devices: [{ name, computeCapability, multiprocessors, totalMemory }] }.
 * cuInit fails without a GPU (CUDA_ERROR_NO_DEVICE) or with a broken driver; the error says which.
 */
Napi::Value DriverInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
  if (!libraryStatus(Lib::Driver).ok) {
    o.Set("ok", false);
    o.Set("error", "the driver library (libcuda.so.1) is not loaded");
    return o;
  }
  int version = 0;
  drv.cuDriverGetVersion(&version);
  o.Set("driverVersion", version);
  CUresult r = drv.cuInit(0);
  if (r != CUDA_SUCCESS) {
    o.Set("ok", false);
    o.Set("error", driverError("cuInit", r));
    return o;
  }
  int count = 0;
  r = drv.cuDeviceGetCount(&count);
  if (r != CUDA_SUCCESS) {
    o.Set("ok", false);
    o.Set("error", driverError("cuDeviceGetCount", r));
    return o;
  }
  auto devices = Napi::Array::New(env, count);
  for (int i = 0; i < count; i++) {
    CUdevice dev;
    auto d = Napi::Object::New(env);
    if (drv.cuDeviceGet(&dev, i) == CUDA_SUCCESS) {
      char name[256] = {0};
      int major = 0, minor = 0, sms = 0;
      size_t mem = 0;
      drv.cuDeviceGetName(name, sizeof(name) - 1, dev);
      drv.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
      drv.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
      drv.cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
      drv.cuDeviceTotalMem(&mem, dev);
      d.Set("name", name);
      d.Set("computeCapability", major * 10 + minor);
      d.Set("multiprocessors", sms);
      d.Set("totalMemory", static_cast<double>(mem));
    }
    devices.Set(static_cast<uint32_t>(i), d);
  }
  o.Set("ok", true);
  o.Set("devices", devices);
  return o;
}

/** runtimeVersion() → cudaRuntimeGetVersion (e.g. 12090), or null when the runtime is not loaded. */
Napi::Value RuntimeVersion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!libraryStatus(Lib::Runtime).ok) return env.Null();
  int v = 0;
  rt.cudaRuntimeGetVersion(&v);
  return Napi::Number::New(env, v);
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", "1");
  exports.Set("buildCudaVersion", Napi::Number::New(env, CUDA_VERSION));
  exports.Set("loadLibraries", Napi::Function::New(env, LoadLibraries));
  exports.Set("driverInit", Napi::Function::New(env, DriverInit));
  exports.Set("runtimeVersion", Napi::Function::New(env, RuntimeVersion));
  exports.Set("nvrtcCompile", Napi::Function::New(env, NvrtcCompile));
  exports.Set("nvrtcCompileAsync", Napi::Function::New(env, NvrtcCompileAsync));
  exports.Set("nvrtcInfo", Napi::Function::New(env, NvrtcInfo));
  exports.Set("CudaContext", CudaContext::Init(env));
  return exports;
}

}  // namespace kit

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return kit::Init(env, exports); }

NODE_API_MODULE(adapterkit_cuda, InitAddon)
